"""Perplexity: strided windows, token-weighted corpus score, equality with a direct transformers computation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rageval.context import RunContext
from rageval.errors import ConfigError
from rageval.metric import Failed, Scored
from rageval.models.causal_lm import sliding_windows
from rageval.sample import Sample

TEXTS = [
    "the cat sat on the mat",
    "a dog ran in the park with a red ball and the cat sat on the mat and looked at the door",
    "paris is the capital of france and has many museums the tower was built in eighteen eighty nine "
    "water boils at one hundred degrees at sea level she reads a book every night before she sleeps",
    "water",
]


@pytest.mark.parametrize("n", [0, 1, 2, 5, 16, 17, 40, 101])
@pytest.mark.parametrize(("max_length", "stride"), [(16, 8), (16, 15), (16, 1), (4, 3), (2, 1)])
def test_sliding_windows_score_every_token_once(n, max_length, stride):
    scored = []
    for begin, end, first in sliding_windows(list(range(n)), max_length, stride):
        assert end - begin <= max_length
        assert first >= 1
        scored += list(range(begin + first, end))
    assert scored == list(range(1, n))


@pytest.mark.parametrize(("max_length", "stride"), [(1, 1), (16, 16), (16, 0), (16, 20)])
def test_sliding_windows_reject_settings_that_skip_tokens(max_length, stride):
    with pytest.raises(ValueError):
        sliding_windows([1, 2, 3], max_length, stride)


def _metric(model_dir, **params):
    from rageval.metrics.perplexity import Perplexity

    return Perplexity(params={"model": str(model_dir), "device": "cpu", **params}, context=RunContext())


def _direct_nll(model_dir, text: str, max_length: int, stride: int, add_bos: bool) -> tuple[float, int]:
    """The transformers documentation's loop: labels masked to -100 before each window's new tokens."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    ids = tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids
    if add_bos:
        ids = torch.cat([torch.tensor([[tokenizer.bos_token_id]]), ids], dim=1)
    total, count, previous_end = 0.0, 0, 0
    for begin in range(0, ids.size(1), stride):
        end = min(begin + max_length, ids.size(1))
        window = ids[:, begin:end]
        labels = window.clone()
        labels[:, : -(end - previous_end)] = -100
        valid = int((labels[:, 1:] != -100).sum())
        if not valid:
            break
        with torch.inference_mode():
            loss = model(window, labels=labels).loss
        total += float(loss) * valid
        count += valid
        previous_end = end
        if end == ids.size(1):
            break
    return total, count


def _stats(metric, texts, batch_size=None):
    samples = [Sample(id=i, text=t) for i, t in enumerate(texts)]
    outcomes = metric.score_batch(samples)
    assert all(isinstance(o, Scored) for o in outcomes)
    return np.array([o.stats for o in outcomes])


@pytest.mark.parametrize(("max_length", "stride", "add_bos"), [(16, 8, True), (16, 4, False), (8, 7, True)])
def test_equals_direct_transformers_computation(tiny_gpt2, max_length, stride, add_bos):
    metric = _metric(tiny_gpt2, max_length=max_length, stride=stride, add_bos=add_bos)
    stats = _stats(metric, TEXTS)
    for text, (nll, n_tokens, n_bytes) in zip(TEXTS, stats):
        expected_nll, expected_tokens = _direct_nll(tiny_gpt2, text, max_length, stride, add_bos)
        assert n_tokens == expected_tokens
        assert nll == pytest.approx(expected_nll, rel=1e-5)
        assert n_bytes == len(text.encode("utf-8"))
        score = metric.sample_scores(np.array([nll, n_tokens, n_bytes]))[""]
        if expected_tokens:
            assert score == pytest.approx(math.exp(expected_nll / expected_tokens), rel=1e-5)
        else:
            assert score is None


def test_batched_scoring_equals_one_at_a_time(tiny_gpt2):
    batched = _stats(_metric(tiny_gpt2, batch_size=16), TEXTS)
    for position, text in enumerate(TEXTS):
        alone = _stats(_metric(tiny_gpt2, batch_size=1), [text])[0]
        assert alone[1] == batched[position][1]
        assert math.exp(alone[0] / alone[1]) == pytest.approx(
            math.exp(batched[position][0] / batched[position][1]), abs=1e-5
        )


def test_corpus_perplexity_is_token_weighted(tiny_gpt2):
    metric = _metric(tiny_gpt2)
    stats = _stats(metric, TEXTS)
    corpus = metric.corpus_scores(stats)
    assert corpus[""] == pytest.approx(math.exp(stats[:, 0].sum() / stats[:, 1].sum()))
    assert corpus["bits_per_byte"] == pytest.approx(stats[:, 0].sum() / (math.log(2) * stats[:, 2].sum()))
    per_sample_mean = np.mean([math.exp(n / t) for n, t, _ in stats])
    assert corpus[""] != pytest.approx(per_sample_mean)


def test_first_token_is_scored_only_with_bos(tiny_gpt2):
    with_bos = _stats(_metric(tiny_gpt2, add_bos=True), ["the cat sat"])[0]
    without = _stats(_metric(tiny_gpt2, add_bos=False), ["the cat sat"])[0]
    assert (with_bos[1], without[1]) == (3, 2)


def test_empty_text_is_undetermined_and_a_non_string_fails(tiny_gpt2):
    metric = _metric(tiny_gpt2)
    outcomes = metric.score_batch([Sample(id=0, text=""), Sample(id=1, text=None)])
    assert isinstance(outcomes[0], Scored)
    assert metric.sample_scores(np.array(outcomes[0].stats)) == {"": None, "bits_per_byte": None}
    assert isinstance(outcomes[1], Failed) and "text must be a string" in outcomes[1].reason


def test_repeated_texts_are_scored_once(tiny_gpt2):
    metric = _metric(tiny_gpt2)
    _stats(metric, [TEXTS[0], TEXTS[1], TEXTS[0]])
    _stats(metric, [TEXTS[1]])
    assert metric.context.counters[f"{tiny_gpt2.name}.scored_texts"] == 2


def test_signature_names_model_weights_and_window(tiny_gpt2):
    signature = _metric(tiny_gpt2, stride=4).signature()
    assert signature.startswith(f"perplexity|model:{tiny_gpt2}|sha256:")
    assert "|max_length:16|stride:4|add_bos:yes|" in signature


def test_settings_errors_are_one_line(tiny_gpt2):
    from rageval.metrics.perplexity import Perplexity

    with pytest.raises(ConfigError, match=r"set params\.model"):
        Perplexity(context=RunContext()).signature()
    with pytest.raises(ConfigError, match="more than model"):
        _metric(tiny_gpt2, max_length=64).score_batch([Sample(id=0, text="the cat")])
    with pytest.raises(ValueError, match="stride"):
        _metric(tiny_gpt2, max_length=8, stride=8)


def test_offline_hub_id_fails_before_scoring(monkeypatch):
    from rageval.metrics.perplexity import Perplexity

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    metric = Perplexity(params={"model": "openai-community/gpt2"}, context=RunContext())
    with pytest.raises(ConfigError, match=r"'openai-community/gpt2' is a Hugging Face hub id and this run is offline"):
        metric.signature()
