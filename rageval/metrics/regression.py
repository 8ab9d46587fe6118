"""Regression errors of ``prediction`` against ``label``, from additive sums.

MSE, RMSE, MAE and MAPE are means of per-sample errors, so each sample's statistics are its
error and a count of one. R² needs the spread of the labels, which sums give as well:
with n samples, labels y and residuals e, SS_tot = Σy² - (Σy)²/n and R² = 1 - Σe²/SS_tot.
Each score equals the scikit-learn function of the same name over the scored samples.

Labels and predictions are numbers; a string holding a finite number is read as one,
because CSV columns arrive as text.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rageval.hookspecs import hookimpl
from rageval.metric import Metric, MetricInfo
from rageval.sample import InvalidSample, Sample, number_field

MAPE_EPSILON = float(np.finfo(np.float64).eps)
"""Smallest label magnitude MAPE divides by, as scikit-learn's mean_absolute_percentage_error."""


def real_field(sample: Sample, name: str) -> float:
    """A finite number in field ``name``; a string is parsed, anything else is :func:`number_field`'s."""
    value = getattr(sample, name)
    if not isinstance(value, str):
        return number_field(sample, name)
    try:
        number = float(value.strip())
    except ValueError:
        raise InvalidSample(f"{name} must be a number, got the string {value!r}") from None
    if not math.isfinite(number):
        raise InvalidSample(f"{name} must be finite, got {value!r}")
    return number


def _info(name: str, description: str) -> MetricInfo:
    return MetricInfo(
        name=name,
        description=description,
        fields=("label", "prediction"),
        higher_is_better=name == "r2",
        libraries=(),
    )


class MeanErrorMetric(Metric):
    """Shared path: one per-sample error and a count; the corpus value is their mean."""

    def error(self, label: float, prediction: float) -> float:
        raise NotImplementedError

    def sample_statistics(self, sample: Sample) -> tuple[float, float]:
        label, prediction = real_field(sample, "label"), real_field(sample, "prediction")
        error = self.error(label, prediction)
        if not math.isfinite(error):
            raise InvalidSample(f"the error of prediction {prediction!r} against label {label!r} overflows")
        return error, 1.0

    def mean(self, totals: np.ndarray) -> float | None:
        total, count = (float(x) for x in totals)
        return total / count if count else None

    def scores_from_totals(self, totals: np.ndarray) -> dict[str, float | None]:
        return {"": self.mean(totals)}


class Mse(MeanErrorMetric):
    info = _info("mse", "Mean squared error (sklearn mean_squared_error).")

    def error(self, label: float, prediction: float) -> float:
        return (label - prediction) * (label - prediction)


class Rmse(Mse):
    info = _info("rmse", "Root mean squared error (sklearn root_mean_squared_error), in the labels' unit.")

    def scores_from_totals(self, totals: np.ndarray) -> dict[str, float | None]:
        mse = self.mean(totals)
        return {"": None if mse is None else math.sqrt(mse)}


class Mae(MeanErrorMetric):
    info = _info("mae", "Mean absolute error (sklearn mean_absolute_error).")

    def error(self, label: float, prediction: float) -> float:
        return abs(label - prediction)


class Mape(MeanErrorMetric):
    """|label - prediction| / max(|label|, eps), averaged: a fraction, not a percentage.

    A zero label divides by machine epsilon, as in scikit-learn, which makes such a sample's
    error huge; the count of zero labels is reported with a warning.
    """

    info = _info("mape", "Mean absolute percentage error as a fraction (sklearn mean_absolute_percentage_error).")

    def sample_statistics(self, sample: Sample) -> tuple[float, float, float]:
        error, count = super().sample_statistics(sample)
        return error, count, float(real_field(sample, "label") == 0)

    def error(self, label: float, prediction: float) -> float:
        return abs(label - prediction) / max(abs(label), MAPE_EPSILON)

    def scores_from_totals(self, totals: np.ndarray) -> dict[str, float | None]:
        return {"": self.mean(totals[:2])}

    def corpus_details(self, stats: np.ndarray) -> dict[str, Any]:
        zeros = int(stats[:, 2].sum())
        if not zeros:
            return {}
        return {
            "zero_labels": zeros,
            "warnings": [f"{zeros} samples have label 0, whose percentage error divides by machine epsilon"],
        }


class R2(Metric):
    """Coefficient of determination from the additive statistics (n, Σy, Σy², Σe²).

    The corpus value combines the rows as Chan et al.'s parallel variance does, so labels with
    a large mean and a small spread lose no precision; bootstrap resamples use the plain sums.
    Undetermined (None) when the labels do not vary, where scikit-learn's default
    ``force_finite`` substitutes 1.0 or 0.0; a single sample is therefore always undetermined.
    """

    info = _info("r2", "Coefficient of determination R² (sklearn r2_score); higher is better, at most 1.")

    def sample_statistics(self, sample: Sample) -> tuple[float, float, float, float]:
        label, prediction = real_field(sample, "label"), real_field(sample, "prediction")
        stats = (1.0, label, label * label, (label - prediction) * (label - prediction))
        if not all(math.isfinite(x) for x in stats):
            raise InvalidSample(f"label {label!r} or prediction {prediction!r} is too large to square")
        return stats

    @staticmethod
    def r2(n: float, mean: float, total: float, sse: float) -> float | None:
        # Constant labels leave only rounding noise in SS_tot.
        if n < 2 or total <= n * (8 * MAPE_EPSILON * mean) ** 2:
            return None
        return 1.0 - sse / total

    def scores_from_totals(self, totals: np.ndarray) -> dict[str, float | None]:
        n, sum_y, sum_y2, sse = (float(x) for x in totals)
        if n == 0:
            return {"": None}
        return {"": self.r2(n, sum_y / n, max(sum_y2 - sum_y * sum_y / n, 0.0), sse)}

    def corpus_scores(self, stats: np.ndarray) -> dict[str, float | None]:
        stats = stats.astype(np.float64)
        counts, sums, squares, errors = stats.T
        n = float(counts.sum())
        if n == 0:
            return {"": None}
        mean = float(sums.sum()) / n
        row_means = sums / counts
        total = float(np.sum(squares - sums * row_means) + np.sum(counts * (row_means - mean) ** 2))
        return {"": self.r2(n, mean, max(total, 0.0), float(errors.sum()))}


@hookimpl
def rageval_metrics() -> list[type[Metric]]:
    return [Mse, Rmse, Mae, Mape, R2]
