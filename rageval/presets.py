"""Task presets: the default metrics of a kind of task, for configs that set ``task:`` and no ``metrics``.

A preset is data: metric names (with an ``as`` name and parameters where one metric appears
twice), the canonical fields those metrics read, and a sentence on why they suit the task.
Names are looked up in the registry only when a task is built, so a preset may name a metric
that a plugin or a later module provides; until it is registered, using the preset is an error
that names it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rageval.errors import ConfigError


@dataclass(frozen=True)
class PresetMetric:
    """One metrics entry of a preset, as a config would write it."""

    name: str
    alias: str | None = None
    params: tuple[tuple[str, Any], ...] = ()

    def entry(self) -> dict[str, Any]:
        """The entry as raw config data."""
        item: dict[str, Any] = {"name": self.name}
        if self.alias:
            item["as"] = self.alias
        if self.params:
            item["params"] = dict(self.params)
        return item

    @property
    def label(self) -> str:
        return self.alias or self.name


@dataclass(frozen=True)
class Preset:
    name: str
    metrics: tuple[PresetMetric, ...]
    fields: tuple[str, ...]
    why: str
    optional_fields: tuple[str, ...] = field(default=())

    def entries(self) -> list[dict[str, Any]]:
        return [metric.entry() for metric in self.metrics]

    def missing_metrics(self, registered: Iterable[str]) -> list[str]:
        """Names of this preset's metrics that are not in ``registered``, in preset order."""
        known = set(registered)
        return list(dict.fromkeys(m.name for m in self.metrics if m.name not in known))


def _at_k(name: str, short: str, k: int) -> PresetMetric:
    return PresetMetric(name, f"{short}@{k}", (("k", k),))


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            "translation",
            (
                PresetMetric("bleu"),
                PresetMetric("chrf"),
                PresetMetric("chrf", "chrf++", (("word_order", 2),)),
                PresetMetric("ter"),
            ),
            ("prediction", "references"),
            "BLEU and chrF are the corpus scores WMT results are reported in, chrF++ adds word bigrams and agrees "
            "better with human judgement, and TER counts the edits a post-editor would make.",
            ("source",),
        ),
        Preset(
            "asr",
            (PresetMetric("wer"), PresetMetric("cer")),
            ("prediction", "references"),
            "WER is the standard error rate of speech recognition; CER also credits near-miss words and suits "
            "languages written without spaces.",
        ),
        Preset(
            "rag",
            (PresetMetric("faithfulness"), PresetMetric("answer_relevance"), PresetMetric("context_relevance")),
            ("question", "prediction", "contexts"),
            "A RAG answer fails in three separate ways: claims the retrieved contexts do not support, an answer "
            "beside the question, and contexts that do not bear on the question; each metric isolates one.",
        ),
        Preset(
            "qa",
            (PresetMetric("exact_match"), PresetMetric("token_f1")),
            ("prediction", "references"),
            "The SQuAD pair for short answers: exact match after normalisation is strict, token F1 gives partial "
            "credit for overlapping words, both against the best of several references.",
            ("question",),
        ),
        Preset(
            "retrieval",
            (
                _at_k("ndcg_at_k", "ndcg", 10),
                _at_k("recall_at_k", "recall", 10),
                _at_k("hit_rate_at_k", "hit_rate", 10),
                PresetMetric("mrr"),
            ),
            ("retrieved_ids", "relevant_ids"),
            "nDCG@10 rewards relevant documents near the top (and uses graded relevance), recall@10 and hit rate@10 "
            "say whether a generator sees the evidence at all, and MRR how far down the first relevant one sits.",
        ),
        Preset(
            "classification",
            (PresetMetric("accuracy"), PresetMetric("f1", params=(("average", "macro"),))),
            ("prediction", "label"),
            "Accuracy is the share of correct labels; macro F1 balances precision and recall over every class, "
            "which accuracy hides when classes are imbalanced.",
        ),
        Preset(
            "regression",
            (PresetMetric("rmse"), PresetMetric("mae"), PresetMetric("r2")),
            ("label", "prediction"),
            "RMSE and MAE give the typical error in the labels' unit (RMSE weighs large misses more), and R² "
            "compares the errors with always predicting the mean.",
        ),
        Preset(
            "language-modeling",
            (PresetMetric("perplexity"),),
            ("text",),
            "Perplexity, the exponential of the mean token negative log-likelihood, is the standard intrinsic "
            "measure of how well a language model predicts held-out text.",
        ),
    )
}

PRESET_NAMES: tuple[str, ...] = tuple(PRESETS)


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        from rageval.registry import suggest

        raise ConfigError(
            f"task: unknown preset {name!r}{suggest(name, PRESETS)} Presets: {', '.join(PRESETS)}"
        ) from None


def check_preset_metrics(task: str | None, metric_names: Sequence[str], registered: Iterable[str]) -> None:
    """Raise :class:`ConfigError` naming the metrics of preset ``task`` that are not registered.

    Only when ``metric_names`` (the config's metrics) are the preset's: a config that lists its
    own metrics gets the usual unknown-metric error for them.
    """
    if task is None:
        return
    preset = get_preset(task)
    if list(metric_names) != [metric.name for metric in preset.metrics]:
        return
    missing = preset.missing_metrics(registered)
    if missing:
        names = ", ".join(repr(name) for name in missing)
        it = "them" if len(missing) > 1 else "it"
        raise ConfigError(
            f"task: preset {task!r} needs metric{'s' if len(missing) > 1 else ''} {names}, which no loaded plugin "
            f"registers: install a plugin that provides {it}, or list metrics: yourself"
        )
