"""ROUGE equals rouge-score; exact match and token F1 equal the SQuAD v1.1 evaluation formulas."""

from __future__ import annotations

import re
import string
from collections import Counter

import numpy as np
import pytest
from helpers import read_jsonl, score, write_jsonl
from rouge_score.rouge_scorer import RougeScorer

from rageval.config import parse_config
from rageval.metrics.overlap import ROUGE_TYPES, ExactMatch, Rouge, TokenF1
from rageval.runner import run_task
from rageval.sample import Sample
from rageval.task import build_task

PREDICTIONS = [
    "The cat sat on the mat.",
    "police killed the gunman",
    "",
    "a quick brown fox\njumps over the lazy dog",
    "Résumé des négociations à Genève",
    "running runners ran quickly",
    "the the the",
    "42",
]
REFERENCES = [
    ["A cat was sitting on the mat.", "The cat is on the mat"],
    ["the gunman was shot dead by police", "police kill the gunman"],
    ["an empty answer"],
    ["The quick brown fox jumped\nover the lazy dogs."],
    ["Résumé des négociations de Genève", "summary of the Geneva talks"],
    ["the runner runs quick"],
    ["the cat"],
    [""],
]


def overlap_samples(predictions=PREDICTIONS, references=REFERENCES):
    return [Sample(id=i, prediction=p, references=r) for i, (p, r) in enumerate(zip(predictions, references))]


# --- ROUGE -----------------------------------------------------------------------------------


@pytest.mark.parametrize("use_stemmer", [False, True])
def test_rouge_per_sample_and_corpus_equal_rouge_score(use_stemmer):
    reference = RougeScorer(list(ROUGE_TYPES), use_stemmer=use_stemmer)
    expected = [reference.score_multi(refs, pred) for pred, refs in zip(PREDICTIONS, REFERENCES)]
    corpus, per_sample = score(Rouge(params={"use_stemmer": use_stemmer}), overlap_samples())
    for got, want in zip(per_sample, expected):
        for key in ROUGE_TYPES:
            assert got[key] == pytest.approx(want[key].fmeasure, abs=1e-9)
    for key in ROUGE_TYPES:
        mean = sum(want[key].fmeasure for want in expected) / len(expected)
        assert corpus[key] == pytest.approx(mean, abs=1e-9)


def test_rouge_stemming_changes_the_score():
    sample = [Sample(id=0, prediction="running runners", references=["the runner runs"])]
    plain, _ = score(Rouge(), sample)
    stemmed, _ = score(Rouge(params={"use_stemmer": True}), sample)
    assert plain["rouge1"] == 0.0
    assert stemmed["rouge1"] > 0.0


def test_rouge_takes_the_best_reference_per_type():
    refs = ["police kill the gunman", "the gunman was shot dead by police"]
    _, per_sample = score(Rouge(), [Sample(id=0, prediction="police killed the gunman", references=refs)])
    each = [RougeScorer(list(ROUGE_TYPES)).score(ref, "police killed the gunman") for ref in refs]
    for key in ROUGE_TYPES:
        assert per_sample[0][key] == pytest.approx(max(s[key].fmeasure for s in each), abs=1e-12)


def test_rouge_lsum_splits_sentences_at_newlines():
    prediction, reference = "the dog barked\nthe cat sat", "the cat sat\nthe dog barked"
    _, per_sample = score(Rouge(), overlap_samples([prediction], [[reference]]))
    assert per_sample[0]["rougeLsum"] == 1.0
    assert per_sample[0]["rougeL"] == pytest.approx(0.5, abs=1e-12)


def test_rouge_empty_texts_score_zero_as_rouge_score_does():
    _, per_sample = score(Rouge(), overlap_samples(["", "words", ""], [["words"], [""], [""]]))
    assert all(s[key] == 0.0 for s in per_sample for key in ROUGE_TYPES)


def test_rouge_warns_about_non_ascii_letters():
    metric = Rouge()
    outcomes = metric.score_batch(overlap_samples())
    stats = np.vstack([o.stats for o in outcomes])
    details = metric.corpus_details(stats)
    assert details["samples_with_non_ascii_letters"] == 1
    assert "1 of 8 samples" in details["warnings"][0]
    assert metric.corpus_details(stats[:4]) == {}


def test_rouge_scores_are_reported_per_type_and_bad_samples_get_error_rows(registry, tmp_path):
    rows = [
        {"id": "ok", "pred": "the cat sat", "refs": ["the cat sat down"]},
        {"id": "null", "pred": None, "refs": ["x"]},
        {"id": "no-refs", "pred": "x", "refs": []},
        {"id": "bad-ref", "pred": "x", "refs": ["fine", 3]},
        {"id": "also-ok", "pred": "a dog", "refs": "a dog barked"},
    ]
    write_jsonl(tmp_path / "data.jsonl", rows)
    raw = {
        "name": "rouge",
        "dataset": {"path": "data.jsonl", "id_column": "id", "columns": {"prediction": "pred", "references": "refs"}},
        "metrics": ["rouge"],
        "bootstrap": {"resamples": 0},
    }
    task = build_task(parse_config(raw), registry, tmp_path)
    result = run_task(task, tmp_path / "out")
    metrics = result.aggregate["metrics"]
    assert sorted(metrics) == sorted(f"rouge.{key}" for key in ROUGE_TYPES)
    scorer = RougeScorer(list(ROUGE_TYPES))
    expected = [scorer.score("the cat sat down", "the cat sat"), scorer.score("a dog barked", "a dog")]
    for key in ROUGE_TYPES:
        entry = metrics[f"rouge.{key}"]
        assert entry["n"] == 2 and entry["n_errors"] == 3
        assert entry["value"] == pytest.approx(sum(e[key].fmeasure for e in expected) / 2, abs=1e-9)
    errors = {row["id"]: row["errors"].get("rouge") for row in read_jsonl(tmp_path / "out" / "samples.jsonl")}
    assert errors == {
        "ok": None,
        "null": "prediction must be a string, got null",
        "no-refs": "references is an empty list",
        "bad-ref": "references[1] must be a string, got int",
        "also-ok": None,
    }


# --- SQuAD v1.1 reference formulas, written from the official script's definitions ----------


def squad_normalize(text):
    lowered = text.lower()
    no_punct = "".join(ch for ch in lowered if ch not in set(string.punctuation))
    no_articles = re.sub(r"\b(a|an|the)\b", " ", no_punct)
    return " ".join(no_articles.split())


def squad_exact_match(prediction, truth):
    return squad_normalize(prediction) == squad_normalize(truth)


def squad_f1(prediction, truth):
    pred_tokens = squad_normalize(prediction).split()
    truth_tokens = squad_normalize(truth).split()
    common = Counter(pred_tokens) & Counter(truth_tokens)
    same = sum(common.values())
    if same == 0:
        return 0
    precision = same / len(pred_tokens)
    recall = same / len(truth_tokens)
    return 2 * precision * recall / (precision + recall)


def squad_best(fn, prediction, truths):
    return max(fn(prediction, truth) for truth in truths)


QA_PREDICTIONS = [
    "The Eiffel Tower",
    "eiffel tower!",
    "in 1889, in Paris",
    "Denver Broncos",
    "",
    "",
    "  Saint-Saëns  ",
    "an apple a day",
    "São Paulo «city»",
    "the the",
    "Carolina Panthers won",
]
QA_REFERENCES = [
    ["Eiffel Tower"],
    ["the Eiffel Tower", "Tour Eiffel"],
    ["1889", "Paris in 1889"],
    ["Denver Broncos", "The Broncos"],
    ["something"],
    [""],
    ["saint saëns", "Camille Saint-Saëns"],
    ["apple day"],
    ["são paulo city"],
    ["a"],
    ["Panthers", "the Carolina Panthers"],
]


@pytest.mark.parametrize(("cls", "reference"), [(ExactMatch, squad_exact_match), (TokenF1, squad_f1)])
def test_squad_metrics_equal_the_v1_1_formulas(cls, reference):
    corpus, per_sample = score(cls(), overlap_samples(QA_PREDICTIONS, QA_REFERENCES))
    expected = [float(squad_best(reference, p, refs)) for p, refs in zip(QA_PREDICTIONS, QA_REFERENCES)]
    assert [s[""] for s in per_sample] == pytest.approx(expected, abs=1e-9)
    assert corpus[""] == pytest.approx(sum(expected) / len(expected), abs=1e-9)


def test_squad_edge_cases_by_value():
    em, f1 = ExactMatch(), TokenF1()
    cases = overlap_samples(["", "The Broncos.", "São Paulo «city»"], [[""], ["broncos", "x"], ["são paulo city"]])
    _, em_scores = score(em, cases)
    _, f1_scores = score(f1, cases)
    # Empty against empty: equal strings, but no shared token (v1.1, unlike v2.0, scores F1 0).
    assert (em_scores[0][""], f1_scores[0][""]) == (1.0, 0.0)
    assert (em_scores[1][""], f1_scores[1][""]) == (1.0, 1.0)
    # Only ASCII punctuation is removed: the guillemets stay.
    assert em_scores[2][""] == 0.0
    assert f1_scores[2][""] == pytest.approx(2 * (2 / 3) * (2 / 3) / (4 / 3))


def test_without_normalisation_text_is_compared_as_written():
    cases = overlap_samples(["The Eiffel Tower", "Eiffel Tower"], [["Eiffel Tower"], ["Eiffel Tower"]])
    _, em = score(ExactMatch(params={"normalize": False}), cases)
    _, f1 = score(TokenF1(params={"normalize": False}), cases)
    assert [s[""] for s in em] == [0.0, 1.0]
    assert f1[0][""] == pytest.approx(2 * (2 / 3) * 1 / (2 / 3 + 1))


@pytest.mark.parametrize("cls", [ExactMatch, TokenF1])
def test_squad_metrics_fail_bad_samples_and_score_the_rest(cls):
    cases = [
        Sample(id=0, prediction=None, references=["x"]),
        Sample(id=1, prediction="x", references=None),
        Sample(id=2, prediction=3, references=["3"]),
        Sample(id=3, prediction="x", references=[]),
        Sample(id=4, prediction="x", references=["x", None]),
        Sample(id=5, prediction="Paris", references="paris"),
    ]
    outcomes = cls().score_batch(cases)
    reasons = [getattr(o, "reason", None) for o in outcomes]
    assert reasons == [
        "prediction must be a string, got null",
        "references must be a string or a list of strings, got null",
        "prediction must be a string, got int",
        "references is an empty list",
        "references[1] must be a string, got null",
        None,
    ]
    assert outcomes[5].stats == (1.0, 1.0)


def test_corpus_is_the_mean_of_sample_scores_and_order_free():
    samples = overlap_samples(QA_PREDICTIONS, QA_REFERENCES)
    forward, per_sample = score(TokenF1(), samples)
    backward, _ = score(TokenF1(), samples[::-1])
    assert forward[""] == pytest.approx(backward[""], abs=1e-12)
    assert forward[""] == pytest.approx(np.mean([s[""] for s in per_sample]), abs=1e-12)
