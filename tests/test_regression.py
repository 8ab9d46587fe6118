"""MSE, RMSE, MAE, MAPE and R² equal scikit-learn, corpus and per sample, from additive statistics."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
import sklearn.metrics as skm
from helpers import REPO, score

from rageval.metrics.regression import R2, Mae, Mape, Mse, Rmse
from rageval.registry import build_registry
from rageval.runner import run_task
from rageval.sample import Sample
from rageval.task import load_task

SKLEARN = {
    Mse: skm.mean_squared_error,
    Rmse: skm.root_mean_squared_error,
    Mae: skm.mean_absolute_error,
    Mape: skm.mean_absolute_percentage_error,
    R2: skm.r2_score,
}

rng = np.random.default_rng(42)
LABELS = np.concatenate([rng.normal(3.0, 2.0, 60), [0.0, -4.5, 12.0, 1e-3]])
PREDICTIONS = LABELS + rng.normal(0.0, 0.8, LABELS.size)


def samples(labels=LABELS, predictions=PREDICTIONS):
    return [Sample(id=i, label=float(y), prediction=float(p)) for i, (y, p) in enumerate(zip(labels, predictions))]


@pytest.mark.parametrize("cls", list(SKLEARN))
def test_corpus_equals_sklearn(cls):
    corpus, _ = score(cls(), samples())
    assert corpus[""] == pytest.approx(SKLEARN[cls](LABELS, PREDICTIONS), abs=1e-9, rel=1e-12)


@pytest.mark.parametrize("cls", [Mse, Rmse, Mae, Mape])
def test_per_sample_equals_sklearn_on_one_pair(cls):
    _, per_sample = score(cls(), samples())
    expected = [SKLEARN[cls]([y], [p]) for y, p in zip(LABELS, PREDICTIONS)]
    assert [s[""] for s in per_sample] == pytest.approx(expected, abs=1e-9, rel=1e-12)


def test_r2_of_one_sample_is_undetermined_as_sklearn_cannot_define_it():
    _, per_sample = score(R2(), samples())
    assert all(s[""] is None for s in per_sample)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert math.isnan(skm.r2_score([1.0], [2.0]))


def test_r2_keeps_precision_for_labels_with_a_large_mean():
    labels = rng.normal(1e6, 1.0, 200)
    predictions = labels + rng.normal(0.0, 0.5, 200)
    corpus, _ = score(R2(), samples(labels, predictions))
    assert corpus[""] == pytest.approx(skm.r2_score(labels, predictions), abs=1e-9)


def test_r2_from_summed_statistics_equals_sklearn_for_bootstrap():
    metric = R2()
    stats = np.array([metric.sample_statistics(s) for s in samples()])
    counts = np.random.default_rng(0).integers(0, 3, len(stats))
    resampled_labels, resampled_predictions = np.repeat(LABELS, counts), np.repeat(PREDICTIONS, counts)
    got = metric.scores_from_totals(counts.astype(float) @ stats)[""]
    assert got == pytest.approx(skm.r2_score(resampled_labels, resampled_predictions), abs=1e-9)


@pytest.mark.parametrize("labels", [[2.5, 2.5, 2.5], [0.1, 0.1, 0.1], [0.0, 0.0]])
def test_r2_of_constant_labels_is_undetermined(labels):
    predictions = [x + 1.0 for x in labels]
    corpus, _ = score(R2(), samples(labels, predictions))
    assert corpus[""] is None
    totals = np.array([R2().sample_statistics(s) for s in samples(labels, predictions)]).sum(axis=0)
    assert R2().scores_from_totals(totals)[""] is None
    # sklearn without force_finite: 0/0 or x/0, or for 0.1 a mean off by one ulp and R² near -5e33.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        unforced = skm.r2_score(labels, predictions, force_finite=False)
    assert not np.isfinite(unforced) or unforced < -1e20


def test_mape_divides_zero_labels_by_epsilon_and_warns():
    labels, predictions = [0.0, 2.0, -4.0], [0.5, 1.0, -5.0]
    metric = Mape()
    corpus, per_sample = score(metric, samples(labels, predictions))
    assert corpus[""] == pytest.approx(skm.mean_absolute_percentage_error(labels, predictions), rel=1e-12)
    assert per_sample[0][""] == pytest.approx(0.5 / np.finfo(np.float64).eps)
    stats = np.array([o.stats for o in metric.score_batch(samples(labels, predictions))])
    assert metric.corpus_details(stats) == {
        "zero_labels": 1,
        "warnings": ["1 samples have label 0, whose percentage error divides by machine epsilon"],
    }
    assert metric.corpus_details(stats[1:]) == {}


def test_numeric_strings_are_read_as_numbers():
    cases = [Sample(id=0, label=" 3.5", prediction="3"), Sample(id=1, label=True, prediction=0)]
    corpus, _ = score(Mae(), cases)
    assert corpus[""] == pytest.approx((0.5 + 1.0) / 2)


BAD = [
    ((None, 1.0), "label must be a number, got null"),
    ((1.0, None), "prediction must be a number, got null"),
    (("abc", 1.0), "label must be a number, got the string 'abc'"),
    (("", 1.0), "label must be a number, got the string ''"),
    ((1.0, "nan"), "prediction must be finite, got 'nan'"),
    ((float("inf"), 1.0), "label must be finite, got inf"),
    (([1.0], 1.0), "label must be a number, got list"),
]


@pytest.mark.parametrize("cls", list(SKLEARN))
def test_bad_samples_fail_with_their_reason_and_others_are_scored(cls):
    cases = [Sample(id=i, label=y, prediction=p) for i, ((y, p), _) in enumerate(BAD)]
    cases += samples()
    outcomes = cls().score_batch(cases)
    assert [getattr(o, "reason", None) for o in outcomes[: len(BAD)]] == [reason for _, reason in BAD]
    good = np.array([o.stats for o in outcomes[len(BAD) :]])
    assert cls().corpus_scores(good)[""] == pytest.approx(SKLEARN[cls](LABELS, PREDICTIONS), abs=1e-9, rel=1e-12)


@pytest.mark.parametrize(
    ("cls", "label", "reason"),
    [
        (Mse, 1e200, "the error of prediction -1e+200 against label 1e+200 overflows"),
        (Rmse, 1e200, "the error of prediction -1e+200 against label 1e+200 overflows"),
        (Mae, 1.7e308, "the error of prediction -1.7e+308 against label 1.7e+308 overflows"),
        (Mape, 1.7e308, "the error of prediction -1.7e+308 against label 1.7e+308 overflows"),
        (R2, 1e200, "label 1e+200 or prediction -1e+200 is too large to square"),
    ],
)
def test_errors_that_overflow_are_sample_errors(cls, label, reason):
    outcomes = cls().score_batch([Sample(id=0, label=label, prediction=-label), *samples()[:3]])
    assert outcomes[0].reason == reason
    assert all(len(o.stats) >= 2 for o in outcomes[1:])


def test_example_config_runs_the_preset_and_matches_sklearn(tmp_path):
    task = load_task(REPO / "configs" / "regression.yaml", build_registry(entry_points=False))
    assert [m.alias for m in task.metrics] == ["rmse", "mae", "r2"]
    result = run_task(task, tmp_path / "out")
    rows = [json.loads(line) for line in (REPO / "examples" / "regression" / "delivery-eta.jsonl").open()]
    labels = [row["actual_minutes"] for row in rows]
    predictions = [row["predicted_minutes"] for row in rows]
    metrics = result.aggregate["metrics"]
    assert metrics["rmse"]["value"] == pytest.approx(skm.root_mean_squared_error(labels, predictions), abs=1e-9)
    assert metrics["mae"]["value"] == pytest.approx(skm.mean_absolute_error(labels, predictions), abs=1e-9)
    assert metrics["r2"]["value"] == pytest.approx(skm.r2_score(labels, predictions), abs=1e-9)
    assert metrics["r2"]["higher_is_better"] and not metrics["rmse"]["higher_is_better"]
