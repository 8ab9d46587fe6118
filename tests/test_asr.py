"""WER, CER, MER and WIL equal jiwer over all pairs (corpus) and per pair (per sample)."""

from __future__ import annotations

import jiwer
import pytest
from helpers import score

from rageval.metrics.asr import Cer, Mer, Wer, Wil
from rageval.sample import Sample

REFS = [
    "the quick brown fox jumps over the lazy dog",
    "hello world",
    "",
    "one two three four",
    "ça va très bien merci",
    "  spaces   everywhere  ",
]
HYPS = [
    "the quick brown fox jumped over a lazy dog",
    "hello there world",
    "uh",
    "",
    "ça va bien merci beaucoup",
    "spaces everywhere",
]

JIWER = {Wer: jiwer.wer, Cer: jiwer.cer, Mer: jiwer.mer, Wil: jiwer.wil}


def samples(refs=REFS, hyps=HYPS):
    return [Sample(id=i, prediction=h, references=[r]) for i, (r, h) in enumerate(zip(refs, hyps))]


@pytest.mark.parametrize("cls", list(JIWER))
def test_corpus_equals_jiwer_over_all_pairs(cls):
    corpus, _ = score(cls(), samples())
    assert corpus[""] == pytest.approx(JIWER[cls](REFS, HYPS), abs=1e-9)


@pytest.mark.parametrize("cls", list(JIWER))
def test_per_sample_equals_jiwer_on_each_pair(cls):
    _, per_sample = score(cls(), samples())
    for ref, hyp, got in zip(REFS, HYPS, per_sample):
        assert got[""] == pytest.approx(JIWER[cls](ref, hyp), abs=1e-9)


def test_corpus_wer_is_total_edits_over_total_reference_words_not_a_mean():
    corpus, per_sample = score(Wer(), samples(REFS[:2], HYPS[:2]))
    assert corpus[""] == pytest.approx(3 / 11)
    assert corpus[""] != pytest.approx(sum(s[""] for s in per_sample) / 2)


def test_normalisation_params_match_jiwer_transforms():
    refs = ["Hello, World! It's fine.", "Don't STOP <unk> now"]
    hyps = ["hello world it is fine", "do not stop now"]
    params = {
        "lowercase": True,
        "remove_punctuation": True,
        "expand_contractions": True,
        "remove_kaldi_non_words": True,
    }
    transform = jiwer.Compose(
        [
            jiwer.ToLowerCase(),
            jiwer.ExpandCommonEnglishContractions(),
            jiwer.RemoveKaldiNonWords(),
            jiwer.RemovePunctuation(),
            jiwer.RemoveMultipleSpaces(),
            jiwer.Strip(),
            jiwer.ReduceToListOfListOfWords(),
        ]
    )
    corpus, _ = score(Wer(params=params), samples(refs, hyps))
    assert corpus[""] == pytest.approx(jiwer.wer(refs, hyps, transform, transform), abs=1e-9)
    plain, _ = score(Wer(), samples(refs, hyps))
    assert plain[""] > corpus[""]


def test_several_references_are_an_error_for_that_sample():
    batch = [Sample(id=0, prediction="a", references=["a", "b"]), Sample(id=1, prediction="a", references=["a"])]
    first, second = Wer().score_batch(batch)
    assert first.reason == "this metric takes one reference per sample, got 2"
    assert second.stats == (0.0, 0.0, 0.0, 1.0)


def test_statistics_do_not_depend_on_batch_composition():
    metric = Wer()
    together = [o.stats for o in metric.score_batch(samples())]
    alone = [metric.score_batch([s])[0].stats for s in samples()]
    assert together == alone
