"""Metrics of predicted classes: accuracy, balanced accuracy, precision, recall, F1, MCC, confusion matrix.

Each sample's statistics are ``(true class, predicted class, notes)`` with the classes
themselves (names or integers), so rows are self-contained and a resumed run re-reads them.
The corpus score is computed from the confusion matrix of the rows over the class list
(``params.labels`` when set, else the sorted union of true and predicted classes), exactly as
scikit-learn computes it from the same labels. Per-sample scores are correctness (1 or 0):
precision or MCC of one row means nothing, and correctness is what a reader of one row wants.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from rageval.metric import Metric, MetricInfo
from rageval.metrics.classification import compute
from rageval.metrics.classification.inputs import (
    PREDICTED_FROM_SCORES,
    ClassSpace,
    Label,
    LabelInputParams,
    note_warnings,
    read_predicted,
    read_true,
    show,
)
from rageval.sample import Sample

LABEL_FIELDS = ("label",)
PREDICTION_FIELDS = (("prediction", "prediction_scores"),)
EXAMPLES = (
    {"label": 1, "prediction": 1},
    {"label": 0, "prediction": 0},
    {"label": 1, "prediction": 0},
    {"label": 0, "prediction_scores": 0.2},
    {"label": 1, "prediction_scores": [0.3, 0.7]},
)


class LabelMetric(Metric):
    """Shared path: read (true, predicted) per sample, score the confusion matrix of any rows."""

    additive: ClassVar[bool] = False

    @cached_property
    def space(self) -> ClassSpace:
        return ClassSpace.of(self.params)

    def sample_statistics(self, sample: Sample) -> tuple[Any, ...]:
        label, notes = read_true(sample, self.space)
        predicted, predicted_notes = read_predicted(sample, label, self.params, self.space)
        return (label, predicted, notes | predicted_notes)

    def sample_scores(self, stats: np.ndarray) -> dict[str, float | None]:
        row = stats.reshape(-1)
        return {"": 1.0 if compute.as_label(row[0]) == compute.as_label(row[1]) else 0.0}

    def matrix(self, stats: np.ndarray) -> tuple[list[Label], np.ndarray]:
        classes, (true, pred) = compute.encode([stats[:, 0], stats[:, 1]], self.space.fixed)
        return classes, compute.confusion(true, pred, len(classes))

    def corpus_scores(self, stats: np.ndarray) -> dict[str, float | None]:
        classes, matrix = self.matrix(stats)
        return {"": self.score(matrix, classes)}

    def score(self, matrix: np.ndarray, classes: list[Label]) -> float | None:
        raise NotImplementedError

    def corpus_details(self, stats: np.ndarray) -> dict[str, Any]:
        classes, matrix = self.matrix(stats)
        support = matrix.sum(axis=1)
        predicted = matrix.sum(axis=0)
        n = float(matrix.sum())
        majority = int(np.argmax(support))
        notes = stats[:, 2].astype(np.int64)
        derived_rows = notes & PREDICTED_FROM_SCORES != 0
        derived = int(derived_rows.sum())
        details: dict[str, Any] = {
            "classes": classes,
            "support": support.astype(int).tolist(),
            "prevalence": (support / n).tolist(),
            "predicted": predicted.astype(int).tolist(),
            "majority_class": classes[majority],
            "majority_baseline": float(support[majority] / n),
            "predicted_from": "prediction" if not derived else "prediction_scores" if derived == n else "both",
        }
        warnings = note_warnings(notes, derived_rows, from_logits=self.params.from_logits, hard_scores_matter=False)
        if 0 < derived < n:
            warnings.append(
                f"{derived} of {int(n)} rows had no prediction: their class was derived from prediction_scores"
            )
        if self.space.fixed is None:
            stray = [c for c, s, p in zip(classes, support, predicted) if s == 0 and p > 0]
            if stray:
                rows = int(sum(p for s, p in zip(support, predicted) if s == 0))
                warnings.append(
                    f"predicted classes that no row has as its label: {show(stray)} ({rows} rows); "
                    "if that is unexpected, check their spelling and encoding"
                )
            kinds = {isinstance(c, str) for c in classes}
            if len(kinds) > 1:
                warnings.append(
                    f"classes mix numbers and names ({show(classes)}): check that every row uses one encoding"
                )
        self.add_details(details, warnings, matrix, classes)
        details["warnings"] = warnings
        return details

    def add_details(
        self, details: dict[str, Any], warnings: list[str], matrix: np.ndarray, classes: list[Label]
    ) -> None:
        """Metric-specific facts and warnings."""


def accuracy_of(matrix: np.ndarray) -> float:
    return float(np.trace(matrix) / matrix.sum())


class AccuracyParams(LabelInputParams):
    baseline_margin: float = Field(
        0.05, ge=0.0, le=1.0, description="warn when accuracy is less than this above the majority-class baseline"
    )


class Accuracy(LabelMetric):
    info = MetricInfo(
        name="accuracy",
        description="Fraction of rows whose predicted class is the true class; per-sample: 1 if correct, else 0. "
        "Class prevalence and the majority-class baseline are in the details.",
        fields=LABEL_FIELDS,
        any_of=PREDICTION_FIELDS,
        examples=EXAMPLES,
        higher_is_better=True,
        params=AccuracyParams,
    )

    def score(self, matrix: np.ndarray, classes: list[Label]) -> float | None:
        return accuracy_of(matrix)

    def add_details(
        self, details: dict[str, Any], warnings: list[str], matrix: np.ndarray, classes: list[Label]
    ) -> None:
        accuracy = accuracy_of(matrix)
        baseline = details["majority_baseline"]
        details["accuracy_minus_baseline"] = accuracy - baseline
        if accuracy - baseline < self.params.baseline_margin:
            relation = "below" if accuracy < baseline else f"within {self.params.baseline_margin * 100:g} points of"
            warnings.append(
                f"accuracy {accuracy:.4f} is {relation} the majority-class baseline {baseline:.4f} "
                f"(always predicting {details['majority_class']!r}): the classifier may have learned little beyond "
                "the class frequencies; see balanced_accuracy or macro f1"
            )


class BalancedAccuracyParams(LabelInputParams):
    adjusted: bool = Field(False, description="rescale so chance scores 0 and perfect scores 1")


class BalancedAccuracy(LabelMetric):
    info = MetricInfo(
        name="balanced_accuracy",
        description="Mean recall over the classes that occur as labels (robust to imbalance); "
        "per-sample: 1 if correct, else 0.",
        fields=LABEL_FIELDS,
        any_of=PREDICTION_FIELDS,
        examples=EXAMPLES,
        higher_is_better=True,
        params=BalancedAccuracyParams,
    )

    def score(self, matrix: np.ndarray, classes: list[Label]) -> float | None:
        return compute.balanced_accuracy(matrix, self.params.adjusted)

    def add_details(
        self, details: dict[str, Any], warnings: list[str], matrix: np.ndarray, classes: list[Label]
    ) -> None:
        stats = compute.per_class(matrix, 0.0)
        details["per_class"] = [
            {"class": c, "recall": float(r) if s else None, "support": int(s)}
            for c, r, s in zip(classes, stats.recall, stats.support)
        ]


class AveragedParams(LabelInputParams):
    average: Literal["binary", "micro", "macro", "weighted"] = Field(
        "binary", description="binary: the positive class only (the second of params.labels, else 1)"
    )
    zero_division: Literal[0, 1] = Field(0, description="value of a ratio whose denominator is 0")

    @model_validator(mode="after")
    def _binary_needs_two_classes(self) -> AveragedParams:
        classes = self.classes()
        if self.average == "binary" and classes is not None and len(classes) != 2:
            raise ValueError(
                f"average 'binary' needs two classes but {len(classes)} are configured: "
                "set average to macro, micro or weighted"
            )
        return self


def binary_positive(classes: list[Label], fixed: tuple[Label, ...] | None) -> tuple[int | None, str | None]:
    """The index of the positive class (None when the data lacks it: every count is 0), or why there is none."""
    if fixed is not None:
        return 1, None
    if len(classes) > 2:
        return None, (
            f"average 'binary' needs two classes, the data has {len(classes)} ({show(classes)}): "
            "set params.average to macro, micro or weighted"
        )
    if any(isinstance(c, str) for c in classes):
        return None, (
            f"average 'binary' cannot tell which of {show(classes)} is positive: "
            "set params.labels to [negative, positive]"
        )
    if 1 in classes:
        return classes.index(1), None
    if len(classes) == 2:
        return None, (
            f"average 'binary' takes 1 as the positive class, which is not among {show(classes)}: "
            "set params.labels to [negative, positive]"
        )
    return None, None


class AveragedMetric(LabelMetric):
    kind: ClassVar[str]

    def score(self, matrix: np.ndarray, classes: list[Label]) -> float | None:
        positive = None
        if self.params.average == "binary":
            positive, problem = binary_positive(classes, self.space.fixed)
            if problem:
                return None
        return compute.averaged(self.kind, matrix, self.params.average, positive, float(self.params.zero_division))

    def add_details(
        self, details: dict[str, Any], warnings: list[str], matrix: np.ndarray, classes: list[Label]
    ) -> None:
        stats = compute.per_class(matrix, float(self.params.zero_division))
        details["per_class"] = [
            {"class": c, "precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for c, p, r, f, s in zip(classes, stats.precision, stats.recall, stats.f1, stats.support)
        ]
        average = self.params.average
        involved = np.ones(len(classes), dtype=bool)
        if average == "binary":
            positive, problem = binary_positive(classes, self.space.fixed)
            if problem:
                warnings.append(problem)
                return
            involved[:] = False
            details["positive_class"] = 1 if positive is None else classes[positive]
            if positive is not None:
                involved[positive] = True
        elif average == "micro":
            return
        elif average == "weighted":
            involved = stats.support > 0
        undefined = {
            "precision": stats.predicted == 0,
            "recall": stats.support == 0,
            "f1": stats.predicted + stats.support == 0,
        }[self.kind] & involved
        if undefined.any():
            why = {
                "precision": "never predicted",
                "recall": "absent from the labels",
                "f1": "neither true nor predicted",
            }
            missing = [c for c, u in zip(classes, undefined) if u]
            warnings.append(
                f"{self.kind} is undefined for classes {why[self.kind]}: {show(missing)}; "
                f"counted as {self.params.zero_division} (params.zero_division)"
            )


def _averaged_info(name: str, what: str) -> MetricInfo:
    return MetricInfo(
        name=name,
        description=f"{what} of the predicted classes, averaged as params.average says (binary by default); "
        "per-sample: 1 if correct, else 0.",
        fields=LABEL_FIELDS,
        any_of=PREDICTION_FIELDS,
        examples=EXAMPLES,
        higher_is_better=True,
        params=AveragedParams,
    )


class Precision(AveragedMetric):
    kind = "precision"
    info = _averaged_info("precision", "Precision (correct among predicted)")


class Recall(AveragedMetric):
    kind = "recall"
    info = _averaged_info("recall", "Recall (found among true)")


class F1(AveragedMetric):
    kind = "f1"
    info = _averaged_info("f1", "F1 (harmonic mean of precision and recall)")


class Mcc(LabelMetric):
    info = MetricInfo(
        name="mcc",
        description="Matthews correlation coefficient, -1 to 1 (multi-class by Gorodkin's formula; 0 when "
        "either side holds one class); per-sample: 1 if correct, else 0.",
        fields=LABEL_FIELDS,
        any_of=PREDICTION_FIELDS,
        examples=EXAMPLES,
        higher_is_better=True,
        params=LabelInputParams,
        citation="Matthews 1975; Gorodkin 2004",
    )

    def score(self, matrix: np.ndarray, classes: list[Label]) -> float | None:
        return compute.matthews(matrix)


class ConfusionParams(LabelInputParams):
    normalize: Literal["none", "rows", "columns", "all"] = Field(
        "none",
        description="also give the matrix divided by its row sums (per true class), column sums (per predicted "
        "class) or total",
    )


class ConfusionMatrix(LabelMetric):
    info = MetricInfo(
        name="confusion_matrix",
        description="The confusion matrix (rows: true class, columns: predicted, in details.classes order) is in "
        "aggregate.json details; its score is the fraction on the diagonal (accuracy). Per-sample: 1 if correct.",
        fields=LABEL_FIELDS,
        any_of=PREDICTION_FIELDS,
        examples=EXAMPLES,
        higher_is_better=True,
        params=ConfusionParams,
    )

    def score(self, matrix: np.ndarray, classes: list[Label]) -> float | None:
        return accuracy_of(matrix)

    def add_details(
        self, details: dict[str, Any], warnings: list[str], matrix: np.ndarray, classes: list[Label]
    ) -> None:
        details["matrix"] = matrix.astype(int).tolist()
        mode = self.params.normalize
        if mode != "none":
            axis = {"rows": 1, "columns": 0, "all": None}[mode]
            totals = matrix.sum(axis=axis, keepdims=axis is not None)
            normalized = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals != 0)
            details["normalized"] = normalized.tolist()
