"""Metrics of predicted probabilities: ROC AUC (with threshold analysis and curves) and log loss.

Rows keep the true class as an index into the scores' classes (``params.labels``, else
0..K-1, else 0 and 1 for one probability per row), so statistics are numbers and bootstrap
stays fast. Scores are probabilities after any sigmoid or softmax (``from_logits``).
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from rageval.metric import Metric, MetricInfo
from rageval.metrics.classification import compute
from rageval.metrics.classification.inputs import (
    ClassSpace,
    Label,
    ScoreParams,
    binary_index,
    column_index,
    note_warnings,
    read_scores,
    read_true,
    show,
)
from rageval.sample import InvalidSample, Sample

SCORE_FIELDS = ("label", "prediction_scores")
EXAMPLES = (
    {"label": 1, "prediction_scores": 0.9},
    {"label": 0, "prediction_scores": 0.4},
    {"label": 1, "prediction_scores": 0.35},
    {"label": 0, "prediction_scores": [0.8, 0.2]},
)
EPSILON = float(np.finfo(np.float64).eps)


class ScoreMetric(Metric):
    """Shared path: the scores' classes and what the rows' notes warn about."""

    additive: ClassVar[bool] = False

    @cached_property
    def space(self) -> ClassSpace:
        return ClassSpace.of(self.params)

    def class_names(self, true: np.ndarray) -> list[Label]:
        if self.space.fixed is not None:
            return list(self.space.fixed)
        return list(range(max(2, int(true.max()) + 1))) if true.size else [0, 1]

    def warnings(self, notes: np.ndarray) -> list[str]:
        notes = notes.astype(np.int64)
        scored = np.ones(notes.size, dtype=bool)
        return note_warnings(notes, scored, from_logits=self.params.from_logits, hard_scores_matter=True)

    def prevalence_details(self, true: np.ndarray) -> dict[str, Any]:
        classes = self.class_names(true)
        support = np.bincount(true, minlength=len(classes))
        return {
            "classes": classes,
            "support": support.tolist(),
            "prevalence": (support / true.size).tolist(),
        }


class AucParams(ScoreParams):
    multi_class: Literal["ovr", "ovo"] = Field("ovr", description="more than two classes: one-vs-rest or one-vs-one")
    average: Literal["macro", "weighted", "micro"] = Field(
        "macro", description="how per-class (ovr) or per-pair (ovo) AUCs combine; micro is for ovr only"
    )
    max_curve_points: int = Field(200, ge=10, le=100_000, description="most points per curve in the details")

    @model_validator(mode="after")
    def _micro_is_ovr(self) -> AucParams:
        if self.average == "micro" and self.multi_class == "ovo":
            raise ValueError("average 'micro' is defined for multi_class 'ovr' only")
        return self


class AucRoc(ScoreMetric):
    info = MetricInfo(
        name="auc_roc",
        description="Area under the ROC curve: binary, or one-vs-rest / one-vs-one for more classes. Details hold "
        "the ROC and precision-recall curves and the thresholds that maximise F1 and Youden's J. Per-sample: the "
        "probability given to the true class.",
        fields=SCORE_FIELDS,
        examples=EXAMPLES,
        higher_is_better=True,
        params=AucParams,
        citation="Hanley & McNeil 1982; Hand & Till 2001 (one-vs-one)",
    )

    @property
    def binary(self) -> bool:
        return self.space.fixed is None or len(self.space.fixed) == 2

    def sample_statistics(self, sample: Sample) -> tuple[float, ...]:
        label, notes = read_true(sample, self.space)
        scores = read_scores(sample.prediction_scores, self.params)
        notes |= scores.notes
        p = scores.probabilities
        if self.binary:
            if p.size > 2:
                raise InvalidSample(
                    f"prediction_scores has {p.size} values: set params.labels (or n_classes) so every row is "
                    "read against the same classes"
                )
            return (float(binary_index(label, self.space)), float(notes), float(p if scores.is_scalar else p[1]))
        if scores.is_scalar:
            binary_index(label, self.space)
        return (float(column_index(label, scores, self.space)), float(notes), *(float(x) for x in p))

    def sample_scores(self, stats: np.ndarray) -> dict[str, float | None]:
        row = stats.reshape(-1).astype(np.float64)
        true = int(row[0])
        if self.binary:
            return {"": row[2] if true == 1 else 1.0 - row[2]}
        return {"": row[2 + true]}

    def corpus_scores(self, stats: np.ndarray) -> dict[str, float | None]:
        true = stats[:, 0].astype(np.int64)
        scores = stats[:, 2:].astype(np.float64)
        if self.binary:
            return {"": compute.binary_auc(true == 1, scores[:, 0])}
        if self.params.multi_class == "ovo":
            return {"": compute.ovo_auc(true, scores, self.params.average)[0]}
        return {"": compute.ovr_auc(true, scores, self.params.average)[0]}

    def corpus_details(self, stats: np.ndarray) -> dict[str, Any]:
        true = stats[:, 0].astype(np.int64)
        scores = stats[:, 2:].astype(np.float64)
        details = self.prevalence_details(true)
        warnings = self.warnings(stats[:, 1])
        limit = self.params.max_curve_points
        classes = details["classes"]
        if self.binary:
            details["positive_class"] = classes[1]
            curve = compute.binary_curve(true == 1, scores[:, 0])
            if curve.positives == 0 or curve.negatives == 0:
                only = classes[1] if curve.negatives == 0 else classes[0]
                warnings.append(f"AUC is undefined: every row's label is {only!r}")
            else:
                details["roc"] = compute.roc_curve_points(curve, limit)
                details["precision_recall"] = compute.pr_curve_points(curve, limit)
                details["average_precision"] = compute.average_precision(curve)
                details["thresholds"] = compute.best_thresholds(curve)
        else:
            absent = [c for c, s in zip(classes, details["support"]) if s == 0]
            if absent:
                warnings.append(
                    f"AUC is undefined: classes {show(absent)} have no rows with that label; score them on data "
                    "that has every class"
                )
            if self.params.multi_class == "ovr":
                _, per = compute.ovr_auc(true, scores, self.params.average)
                details["per_class"] = []
                for k, value in enumerate(per):
                    entry: dict[str, Any] = {"class": classes[k], "auc": value}
                    if value is not None:
                        entry["roc"] = compute.roc_curve_points(compute.binary_curve(true == k, scores[:, k]), limit)
                    details["per_class"].append(entry)
            else:
                _, pairs = compute.ovo_auc(true, scores, self.params.average)
                details["pairs"] = [{"classes": [classes[a], classes[b]], "auc": value} for a, b, value in pairs]
        details["warnings"] = warnings
        return details


class LogLoss(ScoreMetric):
    info = MetricInfo(
        name="log_loss",
        description="Cross-entropy of the true class under the predicted probabilities (natural log; probabilities "
        "clipped to [eps, 1-eps]); per-sample: that row's loss. Details hold the loss of always predicting the "
        "class frequencies.",
        fields=SCORE_FIELDS,
        examples=EXAMPLES,
        higher_is_better=False,
        params=ScoreParams,
    )

    def sample_statistics(self, sample: Sample) -> tuple[float, ...]:
        label, notes = read_true(sample, self.space)
        scores = read_scores(sample.prediction_scores, self.params)
        p = scores.probabilities
        if scores.is_scalar:
            index = binary_index(label, self.space)
            p_true = float(p) if index == 1 else 1.0 - float(p)
        else:
            index = column_index(label, scores, self.space)
            p_true = float(p[index])
        loss = -math.log(min(max(p_true, EPSILON), 1.0 - EPSILON))
        return (loss, float(index), float(notes | scores.notes))

    def corpus_scores(self, stats: np.ndarray) -> dict[str, float | None]:
        return {"": float(stats[:, 0].astype(np.float64).mean())}

    def corpus_details(self, stats: np.ndarray) -> dict[str, Any]:
        true = stats[:, 1].astype(np.int64)
        details = self.prevalence_details(true)
        prevalence = np.array(details["prevalence"])
        seen = prevalence[prevalence > 0]
        baseline = float(-(seen * np.log(seen)).sum())
        details["baseline_log_loss"] = baseline
        warnings = self.warnings(stats[:, 2])
        loss = self.corpus_scores(stats)[""]
        if loss is not None and len(seen) > 1 and loss >= baseline:
            warnings.append(
                f"log loss {loss:.4f} is no better than {baseline:.4f}, the loss of always predicting the class "
                "frequencies"
            )
        details["warnings"] = warnings
        return details
