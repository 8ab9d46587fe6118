"""The conformance kit: every registered metric passes it, and a metric that breaks a rule fails it."""

from __future__ import annotations

import random

import numpy as np
import pytest
from pydantic import ConfigDict

import rageval
from rageval.metric import Failed, Metric, MetricInfo, MetricParams, Scored
from rageval.registry import build_registry
from rageval.sample import InvalidSample
from rageval.testing import BAD_VALUES, check_metric, metrics_of, parametrize_metrics, samples_from_rows

REGISTRY = build_registry(entry_points=True)
FIRST_PARTY_PLUGINS = {
    "rageval-textstats": {"length_ratio", "lexical_diversity", "readability"},
    "rageval-checks": {"regex_match", "json_valid", "citation_presence"},
}
MODEL_LIBRARIES = {"torch", "transformers", "sentence-transformers"}
REQUIRED_PARAMS = {"regex_match": {"pattern": r"\d+"}}
"""Parameters for metrics that have required ones (the kit cannot guess a regular expression)."""

TEXT_ROWS = [
    {
        "prediction": "The train was twenty minutes late because of a signal fault.",
        "references": ["The train was delayed by twenty minutes due to a signal fault."],
        "source": "Der Zug hatte wegen eines Signalfehlers zwanzig Minuten Verspätung.",
        "question": "Why was the train late?",
        "contexts": ["A signal fault delayed the 8:15 train by twenty minutes.", "Trains leave every hour."],
        "text": "The train was twenty minutes late because of a signal fault.",
        "retrieved_ids": ["d1", "d2", "d3"],
        "relevant_ids": ["d1"],
    },
    {
        "prediction": "The library is closed on Monday.",
        "references": ["The city library will be closed on Monday.", "On Monday the library is closed."],
        "source": "Die Stadtbibliothek bleibt am Montag geschlossen.",
        "question": "When is the library closed?",
        "contexts": ["The city library closes on Mondays for cleaning."],
        "text": "The library is closed on Monday.",
        "retrieved_ids": ["d4", "d5"],
        "relevant_ids": ["d5", "d6"],
    },
    {
        "prediction": "Paris",
        "references": ["Paris"],
        "source": "Paris ist die Hauptstadt.",
        "question": "What is the capital of France?",
        "contexts": ["Paris is the capital and largest city of France."],
        "text": "Paris is the capital of France.",
        "retrieved_ids": ["d7"],
        "relevant_ids": ["d9"],
    },
    {
        "prediction": "we reviewed the offer and decline it",
        "references": ["We have carefully reviewed the offer and are declining it."],
        "source": "Wir haben das Angebot geprüft und lehnen es ab.",
        "question": "What happened to the offer?",
        "contexts": ["The board reviewed the offer on Tuesday.", "It declined the offer."],
        "text": "We reviewed the offer and declined it.",
        "retrieved_ids": ["d2", "d8", "d1", "d3"],
        "relevant_ids": ["d1", "d3"],
    },
]
PROFILES = {
    "text": TEXT_ROWS,
    "numbers": [
        {"prediction": p, "label": y} for p, y in [(3.5, 3.0), (10.0, 12.5), (-1.0, -0.5), (7.25, 7.25), (0.5, 2.0)]
    ],
    "binary classes": [
        {"prediction": p, "label": y, "prediction_scores": s}
        for p, y, s in [(1, 1, 0.9), (0, 1, 0.4), (0, 0, 0.2), (1, 0, 0.7), (1, 1, 0.6), (0, 0, 0.1)]
    ],
    "three classes": [
        {"prediction": p, "label": y, "prediction_scores": s}
        for p, y, s in [
            (0, 0, [0.7, 0.2, 0.1]),
            (1, 2, [0.2, 0.5, 0.3]),
            (2, 2, [0.1, 0.1, 0.8]),
            (1, 1, [0.3, 0.6, 0.1]),
            (0, 1, [0.5, 0.4, 0.1]),
            (2, 0, [0.3, 0.3, 0.4]),
        ]
    ],
}
"""Generic rows for metrics without MetricInfo.examples: each metric gets the profile it scores most rows of."""


def rows_for(cls: type[Metric], params: dict) -> tuple[str, list[dict]]:
    if cls.info.examples:
        return "examples", list(cls.info.examples)
    metric = cls(params=cls.info.params.model_validate(params))

    def scored(profile: str) -> int:
        try:
            outcomes = metric.score_batch(samples_from_rows(PROFILES[profile]))
        except Exception:
            return 0
        return sum(isinstance(outcome, Scored) for outcome in outcomes)

    best = max(PROFILES, key=scored)
    return best, PROFILES[best]


def uses_a_model(name: str) -> bool:
    return bool(MODEL_LIBRARIES & set(REGISTRY.get(name).info.libraries))


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=[pytest.mark.models] if uses_a_model(name) else []) for name in REGISTRY.names()]
)
def test_every_registered_metric_conforms(name, request):
    cls = REGISTRY.get(name)
    params = dict(REQUIRED_PARAMS.get(name, {}))
    tolerance = {}
    if uses_a_model(name):
        pytest.importorskip("torch", reason=f"{name} scores with a model: needs the [models] extra")
        # float32 model outputs move in the 7th digit with the other texts padded into a batch
        tolerance = {"rel_tol": 1e-5, "abs_tol": 1e-6}
    if name == "perplexity":
        params.update(model=str(request.getfixturevalue("tiny_gpt2")), device="cpu")
    _, rows = rows_for(cls, params)
    result = check_metric(cls, rows, params, **tolerance)
    assert any(isinstance(outcome, Scored) for outcome in result.outcomes)


def test_both_first_party_plugins_are_installed_and_checked():
    for plugin, names in FIRST_PARTY_PLUGINS.items():
        assert {REGISTRY.entry(name).plugin for name in names} == {plugin}
        assert names <= set(REGISTRY.names())


def test_first_party_metrics_carry_examples_the_kit_uses():
    for names in FIRST_PARTY_PLUGINS.values():
        for name in names:
            assert len(REGISTRY.get(name).info.examples) >= 3, name


import rageval_textstats  # noqa: E402


@parametrize_metrics(rageval_textstats)
def test_parametrize_metrics_over_a_plugin_module(metric_cls):
    assert metric_cls in metrics_of(rageval_textstats)
    check_metric(metric_cls)


def test_parametrize_metrics_ids_and_sources():
    mark = parametrize_metrics(rageval_textstats)
    assert mark.args[0] == "metric_cls"
    assert mark.kwargs["ids"] == ["length_ratio", "lexical_diversity", "readability"]
    assert set(metrics_of(build_registry(entry_points=False))) >= {REGISTRY.get("bleu")}
    with pytest.raises(TypeError, match="neither a registry nor a plugin"):
        metrics_of(object())


def test_check_metric_returns_outcomes_and_corpus_scores():
    rows = [{"prediction": "a b", "references": ["a b"]}, {"prediction": "a", "references": ["a b c d"]}]
    result = check_metric(REGISTRY.get("length_ratio"), rows)
    assert [o.stats for o in result.outcomes] == [(2.0, 2.0), (1.0, 4.0)]
    assert result.corpus_scores == {"": 0.5, "deviation": 0.5}


def test_samples_from_rows_keeps_ids_and_metadata():
    samples = samples_from_rows([{"id": "x", "prediction": "p", "domain": "news"}, {"prediction": "q"}])
    assert [s.id for s in samples] == ["x", 1]
    assert samples[0].metadata == {"domain": "news"} and samples[0].prediction == "p"


# Metrics that break one rule each: the kit must name the broken rule.


class Good(Metric):
    """Share of predictions that are non-empty strings: follows every rule; the broken ones below change one thing."""

    info = MetricInfo(
        name="good",
        description="share of non-empty predictions",
        fields=("prediction",),
        higher_is_better=True,
        examples=({"prediction": "a", "question": "why?"}, {"prediction": ""}, {"prediction": "b c"}),
    )

    def sample_statistics(self, sample):
        if not isinstance(sample.prediction, str):
            raise InvalidSample("prediction must be a string")
        return float(bool(sample.prediction)), 1.0

    def scores_from_totals(self, totals):
        return {"": float(totals[0] / totals[1]) if totals[1] else None}


def test_the_reference_metric_passes():
    check_metric(Good)


class CrashesOnBadInput(Good):
    def sample_statistics(self, sample):
        return float(len(sample.prediction) > 0), 1.0


class NaNScore(Good):
    def scores_from_totals(self, totals):
        return {"": float("nan")}


class ReadsUndeclaredField(Good):
    def sample_statistics(self, sample):
        return float(bool(sample.prediction)) + (1.0 if sample.question else 0.0), 1.0


class OrderDependentCorpus(Good):
    """Takes the corpus score from the first row: it depends on how samples were split and joined."""

    additive = False

    def corpus_scores(self, stats):
        return {"": float(stats[0][0])}


class DependsOnBatch(Good):
    def score_batch(self, samples):
        return [Scored((float(len(samples)), 1.0)) for _ in samples]


class NotDeterministic(Good):
    def sample_statistics(self, sample):
        return random.random(), 1.0


class UndeclaredScore(Good):
    def scores_from_totals(self, totals):
        return {"": 1.0, "extra": 2.0}


class LaxParams(MetricParams):
    model_config = ConfigDict(extra="allow", frozen=True)


class AcceptsUnknownParameters(Good):
    info = MetricInfo(
        name="lax",
        description="x",
        fields=("prediction",),
        higher_is_better=True,
        params=LaxParams,
        examples=Good.info.examples,
    )


class WrongOutcomeCount(Good):
    def score_batch(self, samples):
        return [Scored((1.0, 1.0))]


class FailsWithoutReason(Good):
    def score_batch(self, samples):
        return [Failed("") if not isinstance(s.prediction, str) else Scored((1.0, 1.0)) for s in samples]


class ScoresEmptySample(Good):
    def sample_statistics(self, sample):
        return 1.0, 1.0


class NonJsonStatistics(Good):
    def sample_statistics(self, sample):
        if not isinstance(sample.prediction, str):
            raise InvalidSample("prediction must be a string")
        return float("inf"), 1.0


class NoDescription(Good):
    info = MetricInfo(name="nodesc", description=" ", fields=("prediction",), higher_is_better=True)


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (CrashesOnBadInput, r"fails 'bad input: prediction=None'.*score_batch raised TypeError"),
        (NaNScore, r"never NaN"),
        (ReadsUndeclaredField, r"fails 'declared fields"),
        (OrderDependentCorpus, r"fails 'merge: corpus score of the parts"),
        (DependsOnBatch, r"fails 'batch size"),
        (NotDeterministic, r"fails 'determinism'"),
        (UndeclaredScore, r"returned scores \['extra'\] that info.scores does not declare"),
        (AcceptsUnknownParameters, r"an unknown parameter is accepted"),
        (WrongOutcomeCount, r"returned 1 outcomes for 3 samples"),
        (FailsWithoutReason, r"failed without a reason"),
        (ScoresEmptySample, r"every declared field None was scored"),
        (NonJsonStatistics, r"finite JSON values"),
        (NoDescription, r"info.description is empty"),
    ],
)
def test_a_metric_that_breaks_a_rule_fails_the_kit(cls, message):
    with pytest.raises(AssertionError, match=message):
        check_metric(cls)


def test_kit_rejects_a_class_that_breaks_the_registry_contract():
    class Unnamed(Good):
        info = MetricInfo(name="bad name!", description="x", fields=("prediction",), higher_is_better=True)

    with pytest.raises(AssertionError, match="fails 'contract'.*must be letters"):
        check_metric(Unnamed)


def test_kit_needs_samples_it_can_score():
    class NoExamples(Good):
        info = MetricInfo(name="noex", description="x", fields=("prediction",), higher_is_better=True)

    with pytest.raises(AssertionError, match="no samples to check with"):
        check_metric(NoExamples)
    with pytest.raises(AssertionError, match="needs at least two samples it can score, scored 0"):
        check_metric(Good, [{"prediction": 1}, {"prediction": None}])


def test_kit_reports_rejected_parameters():
    with pytest.raises(AssertionError, match="fails 'parameters'"):
        check_metric(REGISTRY.get("bleu"), TEXT_ROWS, {"tokenize": "klingon"})


def test_bad_values_cover_types_metrics_misread():
    kinds = {type(value) for value in BAD_VALUES}
    assert {type(None), int, float, bool, dict, list} <= kinds
    assert any(isinstance(v, float) and np.isnan(v) for v in BAD_VALUES)


def test_public_entry_points_of_the_kit():
    import rageval.testing as kit

    assert set(kit.__all__) == {
        "BAD_VALUES",
        "ConformanceResult",
        "check_metric",
        "metrics_of",
        "parametrize_metrics",
        "samples_from_rows",
    }
    assert rageval.Metric is Metric
