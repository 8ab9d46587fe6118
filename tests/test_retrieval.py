"""Ranking metrics: values by the textbook formulas and sklearn's ndcg_score; undetermined and bad samples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import read_jsonl, score, write_jsonl
from sklearn.metrics import ndcg_score

from rageval.config import parse_config
from rageval.errors import ConfigError
from rageval.metrics.retrieval import HitRateAtK, Mrr, NdcgAtK, PrecisionAtK, RecallAtK
from rageval.runner import run_task
from rageval.sample import Sample
from rageval.task import build_task

RANKINGS = [
    (["d1", "d2", "d3", "d4", "d5"], ["d2", "d5", "d9"]),
    (["d7", "d8"], ["d7"]),
    (["a", "b", "c", "d", "e", "f"], ["z"]),
    ([], ["d1"]),
    (["x3", "x1", "x2"], ["x1", "x2", "x3"]),
    ([4, 8, 15, 16], ["16", 23]),
]


def samples(rankings=RANKINGS):
    return [Sample(id=i, retrieved_ids=r, relevant_ids=rel) for i, (r, rel) in enumerate(rankings)]


def as_str(ids):
    return [str(x) for x in ids]


def precision_formula(ranked, relevant, k):
    return sum(doc in relevant for doc in ranked[:k]) / k


def recall_formula(ranked, relevant, k):
    return sum(doc in relevant for doc in ranked[:k]) / len(relevant)


def hit_formula(ranked, relevant, k):
    return float(bool(set(ranked[:k]) & set(relevant)))


def mrr_formula(ranked, relevant, k=None):
    for rank, doc in enumerate(ranked[:k] if k else ranked, start=1):
        if doc in relevant:
            return 1.0 / rank
    return 0.0


FORMULAS = [(PrecisionAtK, precision_formula), (RecallAtK, recall_formula), (HitRateAtK, hit_formula)]


@pytest.mark.parametrize(("cls", "formula"), FORMULAS)
@pytest.mark.parametrize("k", [1, 3, 5, 10])
def test_cutoff_metrics_equal_their_formulas(cls, formula, k):
    corpus, per_sample = score(cls(params={"k": k}), samples())
    expected = [formula(as_str(r), set(as_str(rel)), k) for r, rel in RANKINGS]
    assert [s[""] for s in per_sample] == pytest.approx(expected, abs=1e-12)
    assert corpus[""] == pytest.approx(np.mean(expected), abs=1e-12)


@pytest.mark.parametrize("k", [None, 1, 2, 4])
def test_mrr_equals_its_formula(k):
    corpus, per_sample = score(Mrr(params={"k": k}), samples())
    expected = [mrr_formula(as_str(r), set(as_str(rel)), k) for r, rel in RANKINGS]
    assert [s[""] for s in per_sample] == pytest.approx(expected, abs=1e-12)
    assert corpus[""] == pytest.approx(np.mean(expected), abs=1e-12)


def test_values_by_hand():
    ranked, relevant = ["d1", "d2", "d3", "d4", "d5"], ["d2", "d5", "d9"]
    case = samples([(ranked, relevant)])
    assert score(PrecisionAtK(params={"k": 10}), case)[0][""] == 0.2  # two hits over k, not over 5 retrieved
    assert score(RecallAtK(params={"k": 2}), case)[0][""] == pytest.approx(1 / 3)
    assert score(Mrr(), case)[0][""] == 0.5
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert score(NdcgAtK(params={"k": 5}), case)[0][""] == pytest.approx((1 / math.log2(3) + 1 / math.log2(6)) / ideal)


def sklearn_ndcg(ranked, gains, k, exponential=False):
    """sklearn's ndcg_score on one query: retrieved ids scored by rank, then unretrieved judged ids.

    The ranking is padded with unjudged ids to at least k so no ties reach the cutoff.
    """
    ranked = list(ranked) + [f"pad{i}" for i in range(max(0, k - len(ranked)))]
    docs = ranked + [doc for doc in gains if doc not in ranked]
    true = np.array([[gains.get(doc, 0.0) for doc in docs]], dtype=float)
    if exponential:
        true = 2.0**true - 1.0
    predicted = np.array([[len(docs) - i if i < len(ranked) else -1.0 for i in range(len(docs))]], dtype=float)
    return float(ndcg_score(true, predicted, k=k))


GRADED = [
    (["d1", "d2", "d3", "d4", "d5", "d6"], {"d3": 3, "d1": 1, "d9": 2, "d5": 0}),
    (["a", "b", "c"], {"c": 2.5, "b": 0.5}),
    (["p", "q", "r", "s"], ["s", "p"]),
    (["u1", "u2"], {"u3": 1, "u4": 2, "u1": 1}),
    ([3, 1, 2], {"1": 2, "2": 1}),
]


@pytest.mark.parametrize("k", [1, 2, 3, 5, 10])
@pytest.mark.parametrize("gain", ["linear", "exponential"])
def test_ndcg_equals_sklearn(k, gain):
    corpus, per_sample = score(NdcgAtK(params={"k": k, "gain": gain}), samples(GRADED))
    expected = []
    for ranked, relevant in GRADED:
        gains = relevant if isinstance(relevant, dict) else dict.fromkeys(relevant, 1)
        expected.append(
            sklearn_ndcg(as_str(ranked), {str(d): float(g) for d, g in gains.items()}, k, gain == "exponential")
        )
    assert [s[""] for s in per_sample] == pytest.approx(expected, abs=1e-9)
    assert corpus[""] == pytest.approx(np.mean(expected), abs=1e-9)


def test_graded_relevance_counts_ids_of_positive_gain_for_binary_metrics():
    case = samples([(["d5", "d1", "d3"], {"d5": 0, "d1": 2, "d3": 1})])
    assert score(Mrr(), case)[0][""] == 0.5
    assert score(RecallAtK(params={"k": 2}), case)[0][""] == 0.5
    assert score(PrecisionAtK(params={"k": 3}), case)[0][""] == pytest.approx(2 / 3)


ALL = [PrecisionAtK, RecallAtK, HitRateAtK, Mrr, NdcgAtK]


@pytest.mark.parametrize("cls", ALL)
def test_no_relevant_ids_is_undetermined_not_zero(cls):
    cases = samples([(["d1", "d2"], ["d2"]), (["d1"], []), (["d1", "d2"], {"d1": 0}), (["d3"], {})])
    corpus, per_sample = score(cls(), cases)
    assert [s[""] is None for s in per_sample] == [False, True, True, True]
    alone, _ = score(cls(), cases[:1])
    assert corpus[""] == alone[""]
    all_undetermined, _ = score(cls(), cases[1:])
    assert all_undetermined[""] is None


def test_undetermined_samples_are_counted_in_the_aggregate(registry, tmp_path):
    rows = [
        {"q": "q1", "ret": ["a", "b"], "rel": ["b"]},
        {"q": "q2", "ret": ["a", "b"], "rel": []},
        {"q": "q3", "ret": ["a", "a"], "rel": ["a"]},
        {"q": "q4", "ret": ["c", "a"], "rel": {"a": 2, "c": 1}},
    ]
    write_jsonl(tmp_path / "runs.jsonl", rows)
    raw = {
        "name": "ir",
        "dataset": {
            "path": "runs.jsonl",
            "id_column": "q",
            "columns": {"retrieved_ids": "ret", "relevant_ids": "rel"},
        },
        "metrics": [
            {"name": "ndcg_at_k", "as": "ndcg@1", "params": {"k": 1}},
            {"name": "ndcg_at_k", "as": "ndcg@5", "params": {"k": 5}},
            "mrr",
        ],
        "bootstrap": {"resamples": 50},
    }
    result = run_task(build_task(parse_config(raw), registry, tmp_path), tmp_path / "out")
    metrics = result.aggregate["metrics"]
    assert list(metrics) == ["ndcg@1", "ndcg@5", "mrr"]
    for entry in metrics.values():
        assert (entry["n"], entry["n_errors"], entry["n_undetermined"]) == (3, 1, 1)
    assert metrics["mrr"]["value"] == pytest.approx((0.5 + 1.0) / 2)
    assert metrics["ndcg@1"]["value"] == pytest.approx((0.0 + 0.5) / 2)
    assert metrics["ndcg@5"]["value"] != metrics["ndcg@1"]["value"]
    rows_out = {row["id"]: row for row in read_jsonl(tmp_path / "out" / "samples.jsonl")}
    assert rows_out["q2"]["scores"]["mrr"] is None and rows_out["q2"]["errors"] == {}
    assert rows_out["q3"]["errors"]["mrr"].startswith("retrieved_ids repeats id 'a' (at position 1)")


def test_the_same_metric_twice_needs_as(registry, tmp_path):
    raw = {
        "name": "ir",
        "dataset": {"path": "x.jsonl"},
        "metrics": [{"name": "recall_at_k", "params": {"k": 5}}, "recall_at_k"],
    }
    with pytest.raises(ConfigError, match=r"metrics\[1\]: score 'recall_at_k' is already reported .* with 'as:'"):
        build_task(parse_config(raw), registry, tmp_path)


def test_bad_k_is_a_config_error(registry, tmp_path):
    raw = {"name": "ir", "dataset": {"path": "x.jsonl"}, "metrics": [{"name": "ndcg_at_k", "params": {"k": 0}}]}
    with pytest.raises(ConfigError, match=r"^metrics\[0\]\.params\.k: "):
        build_task(parse_config(raw), registry, tmp_path)


def test_dedupe_keeps_the_first_occurrence():
    case = samples([(["a", "b", "a", "c"], ["c"])])
    assert score(Mrr(params={"dedupe": True}), case)[0][""] == pytest.approx(1 / 3)
    assert score(PrecisionAtK(params={"k": 3, "dedupe": True}), case)[0][""] == pytest.approx(1 / 3)


def test_integer_ids_equal_their_decimal_strings():
    case = samples([([10, 20, 30], {"30": 1}), (["10", "20"], [20])])
    assert [s[""] for s in score(Mrr(), case)[1]] == [pytest.approx(1 / 3), 0.5]


BAD = [
    ((None, ["a"]), "retrieved_ids must be a list of ids, got null"),
    (("a b c", ["a"]), "retrieved_ids must be a list of ids, got str"),
    ((["a", None], ["a"]), "retrieved_ids[1] must be a string or an integer id, got null"),
    ((["a", 1.5], ["a"]), "retrieved_ids[1] must be a string or an integer id, got float"),
    (([True], ["a"]), "retrieved_ids[0] must be a string or an integer id, got bool"),
    ((["a", ["b"]], ["a"]), "retrieved_ids[1] must be a string or an integer id, got list"),
    ((["a", "b", "a"], ["a"]), "retrieved_ids repeats id 'a' (at position 2); remove repeats or set dedupe: true"),
    (([1, "1"], ["a"]), "retrieved_ids repeats id '1' (at position 1); remove repeats or set dedupe: true"),
    ((["a"], None), "relevant_ids must be a list of ids or a mapping id -> gain, got null"),
    ((["a"], "a"), "relevant_ids must be a list of ids or a mapping id -> gain, got str"),
    ((["a"], ["a", None]), "relevant_ids[1] must be a string or an integer id, got null"),
    ((["a"], ["a", "a"]), "relevant_ids has id 'a' twice"),
    ((["a"], {"a": None}), "relevant_ids['a'] must be a number (the gain), got null"),
    ((["a"], {"a": "high"}), "relevant_ids['a'] must be a number (the gain), got str"),
    ((["a"], {"a": True}), "relevant_ids['a'] must be a number (the gain), got bool"),
    ((["a"], {"a": -1}), "relevant_ids['a'] must be a finite gain >= 0, got -1"),
    ((["a"], {"a": float("nan")}), "relevant_ids['a'] must be a finite gain >= 0, got nan"),
    ((["a"], {1: 1, "1": 2}), "relevant_ids has id '1' twice"),
    ((["a"], {None: 1}), "a key of relevant_ids must be a string or an integer id, got null"),
]


@pytest.mark.parametrize("cls", ALL)
def test_bad_samples_fail_with_their_reason_and_others_are_scored(cls):
    cases = [Sample(id=i, retrieved_ids=r, relevant_ids=rel) for i, ((r, rel), _) in enumerate(BAD)]
    cases.append(Sample(id="good", retrieved_ids=["x", "a"], relevant_ids=["a"]))
    outcomes = cls().score_batch(cases)
    assert [getattr(o, "reason", None) for o in outcomes[:-1]] == [reason for _, reason in BAD]
    assert outcomes[-1].stats[1] == 1.0


def test_exponential_gain_that_overflows_is_a_sample_error():
    outcomes = NdcgAtK(params={"gain": "exponential"}).score_batch(samples([(["a"], {"a": 5000})]))
    assert outcomes[0].reason == "relevant_ids has a gain too large for exponential gain; rescale it"
