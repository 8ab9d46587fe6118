"""BLEU, chrF and TER equal sacrebleu's corpus and sentence scores on the same inputs."""

from __future__ import annotations

import pytest
import sacrebleu
from helpers import score

from rageval.metrics.translation import Bleu, Chrf, Ter
from rageval.sample import Sample

HYPS = [
    "The cat sat on the mat.",
    "",
    "Größe und Gewicht der Übersetzung stimmen überein.",
    "a b c d e f g",
    "東京は日本の首都です。",
    "It is raining cats and dogs today in London",
]
REFS = [
    ["The cat is on the mat.", "A cat sat on the mat."],
    ["Nothing was translated."],
    ["Größe und Gewicht stimmen überein.", "Die Größe und das Gewicht passen.", "Größe, Gewicht: gleich."],
    ["a b c d e f"],
    ["日本の首都は東京です。"],
    ["It rains heavily in London today.", "Today it is pouring in London."],
]


def streams(refs: list[list[str]]) -> list[list[str | None]]:
    width = max(len(r) for r in refs)
    return [[r[k] if k < len(r) else None for r in refs] for k in range(width)]


def samples() -> list[Sample]:
    return [Sample(id=i, prediction=h, references=r) for i, (h, r) in enumerate(zip(HYPS, REFS))]


BLEU_CASES = [
    {},
    {"tokenize": "intl"},
    {"tokenize": "char", "lowercase": True},
    {"smooth_method": "floor", "smooth_value": 0.1},
    {"smooth_method": "add-k", "smooth_value": 1},
    {"smooth_method": "none"},
    {"max_ngram_order": 2},
    {"tokenize": "none", "effective_order": True},
]


@pytest.mark.parametrize("params", BLEU_CASES, ids=str)
def test_bleu_equals_sacrebleu_corpus_and_sentence(params):
    corpus, per_sample = score(Bleu(params=params), samples())
    expected = sacrebleu.BLEU(**params).corpus_score(HYPS, streams(REFS)).score
    assert corpus[""] == pytest.approx(expected, abs=1e-9)
    sentence = sacrebleu.BLEU(**{**params, "effective_order": True})
    for hyp, refs, got in zip(HYPS, REFS, per_sample):
        assert got[""] == pytest.approx(sentence.sentence_score(hyp, refs).score, abs=1e-9)


def test_sentence_bleu_matches_sacrebleu_sentence_bleu_function():
    _, per_sample = score(Bleu(), samples())
    for hyp, refs, got in zip(HYPS, REFS, per_sample):
        assert got[""] == pytest.approx(sacrebleu.sentence_bleu(hyp, refs).score, abs=1e-9)


def test_corpus_bleu_is_not_mean_of_sentence_bleu():
    corpus, per_sample = score(Bleu(), samples())
    mean = sum(s[""] for s in per_sample) / len(per_sample)
    assert abs(corpus[""] - mean) > 1.0


CHRF_CASES = [
    {},
    {"word_order": 2},
    {"word_order": 2, "eps_smoothing": True},
    {"char_order": 4, "beta": 1, "lowercase": True},
    {"whitespace": True},
]


@pytest.mark.parametrize("params", CHRF_CASES, ids=str)
def test_chrf_equals_sacrebleu(params):
    corpus, per_sample = score(Chrf(params=params), samples())
    scorer = sacrebleu.CHRF(**params)
    assert corpus[""] == pytest.approx(scorer.corpus_score(HYPS, streams(REFS)).score, abs=1e-9)
    for hyp, refs, got in zip(HYPS, REFS, per_sample):
        assert got[""] == pytest.approx(sacrebleu.CHRF(**params).sentence_score(hyp, refs).score, abs=1e-9)


TER_CASES = [{}, {"normalized": True}, {"no_punct": True, "case_sensitive": True}, {"asian_support": True}]


@pytest.mark.parametrize("params", TER_CASES, ids=str)
def test_ter_equals_sacrebleu(params):
    corpus, per_sample = score(Ter(params=params), samples())
    assert corpus[""] == pytest.approx(sacrebleu.TER(**params).corpus_score(HYPS, streams(REFS)).score, abs=1e-9)
    for hyp, refs, got in zip(HYPS, REFS, per_sample):
        assert got[""] == pytest.approx(sacrebleu.TER(**params).sentence_score(hyp, refs).score, abs=1e-9)


@pytest.mark.parametrize("cls", [Bleu, Chrf, Ter])
def test_batches_of_any_size_give_the_same_statistics(cls):
    metric = cls()
    whole = [o.stats for o in metric.score_batch(samples())]
    one_by_one = [metric.score_batch([s])[0].stats for s in samples()]
    assert whole == one_by_one


@pytest.mark.parametrize("cls", [Bleu, Chrf, Ter])
@pytest.mark.parametrize(
    ("prediction", "references", "reason"),
    [
        (None, ["x"], "prediction must be a string, got null"),
        (3, ["x"], "prediction must be a string, got int"),
        ("x", [], "references is an empty list"),
        ("x", None, "references must be a string or a list of strings, got null"),
        ("x", ["a", None], "references[1] must be a string, got null"),
        ("x", [["nested"]], "references[0] must be a string, got list"),
    ],
)
def test_unscorable_values_fail_that_sample_only(cls, prediction, references, reason):
    batch = [
        Sample(id=0, prediction="ok", references=["ok"]),
        Sample(id=1, prediction=prediction, references=references),
    ]
    first, second = cls().score_batch(batch)
    assert first.stats
    assert second.reason == reason


def test_empty_and_whitespace_predictions_are_valid_and_score_zero():
    batch = [Sample(id=0, prediction="", references=["a b"]), Sample(id=1, prediction="   ", references=["a b"])]
    corpus, per_sample = score(Bleu(), batch)
    assert corpus[""] == 0.0
    assert [s[""] for s in per_sample] == [0.0, 0.0]


def test_signature_names_every_setting_and_version():
    signature = Bleu(params={"tokenize": "intl", "lowercase": True}).signature()
    assert signature.startswith("bleu|case:lc|eff:no|tok:intl|smooth:exp|")
    assert f"sacrebleu:{sacrebleu.__version__}" in signature
    chrf = Chrf(params={"word_order": 2}).signature()
    assert "nw:2" in chrf and "nc:6" in chrf
