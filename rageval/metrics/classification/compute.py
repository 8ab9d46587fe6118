"""Classification scores from statistics rows, in numpy.

Bootstrap calls these on every resample, so nothing here goes through scikit-learn; the
tests check every function against it. Labels are encoded per call (the class list of a
resample is the classes it holds, unless the config fixes them), by a dict factorisation
that costs about a millisecond per 10,000 rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from rageval.metrics.classification.inputs import Label, class_sort_key


def as_label(value: Any) -> Label:
    """A class read back from a statistics cell (floats there hold integer classes)."""
    if isinstance(value, str):
        return value
    return int(value)


def encode(columns: Sequence[np.ndarray], fixed: Sequence[Label] | None = None) -> tuple[list[Label], list[np.ndarray]]:
    """The class list and each column as indices into it.

    Classes are ``fixed`` when given (in that order), else the sorted union of the values.
    """
    sizes = [len(column) for column in columns]
    values = np.concatenate(columns) if len(columns) > 1 else np.asarray(columns[0])
    if values.dtype != object:
        uniques, codes = np.unique(values, return_inverse=True)
        found = [as_label(u) for u in uniques]
    else:
        lookup: dict[Any, int] = {}
        codes = np.fromiter((lookup.setdefault(v, len(lookup)) for v in values), dtype=np.int64, count=len(values))
        found = [as_label(u) for u in lookup]
    if fixed is not None:
        classes = list(fixed) + sorted((x for x in set(found) if x not in fixed), key=class_sort_key)
    else:
        classes = sorted(set(found), key=class_sort_key)
    position = {label: i for i, label in enumerate(classes)}
    remap = np.array([position[label] for label in found], dtype=np.int64)
    encoded = remap[codes.reshape(-1)] if len(found) else codes.reshape(-1).astype(np.int64)
    return classes, list(np.split(encoded, np.cumsum(sizes)[:-1]))


def confusion(true: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts with true classes as rows and predicted classes as columns."""
    flat = np.bincount(true * n_classes + pred, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes).astype(np.float64)


def _ratio(numerator: np.ndarray, denominator: np.ndarray, zero_division: float) -> np.ndarray:
    out = np.full(numerator.shape, float(zero_division))
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


@dataclass(frozen=True)
class PerClass:
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    predicted: np.ndarray
    tp: np.ndarray


def per_class(matrix: np.ndarray, zero_division: float) -> PerClass:
    tp = np.diag(matrix)
    predicted = matrix.sum(axis=0)
    support = matrix.sum(axis=1)
    return PerClass(
        precision=_ratio(tp, predicted, zero_division),
        recall=_ratio(tp, support, zero_division),
        f1=_ratio(2.0 * tp, predicted + support, zero_division),
        support=support,
        predicted=predicted,
        tp=tp,
    )


def averaged(kind: str, matrix: np.ndarray, average: str, positive: int | None, zero_division: float) -> float:
    """Precision, recall or F1 of ``matrix`` averaged as ``average`` (positive: index for binary)."""
    stats = per_class(matrix, zero_division)
    if average == "binary":
        if positive is None:
            tp = predicted = support = np.zeros(1)
        else:
            tp, predicted, support = (x[positive : positive + 1] for x in (stats.tp, stats.predicted, stats.support))
        return float(_by_kind(kind, tp, predicted, support, zero_division)[0])
    if average == "micro":
        tp, predicted, support = (np.array([x.sum()]) for x in (stats.tp, stats.predicted, stats.support))
        return float(_by_kind(kind, tp, predicted, support, zero_division)[0])
    values = getattr(stats, kind)
    if average == "macro":
        return float(values.mean()) if values.size else float(zero_division)
    total = stats.support.sum()
    return float((values * stats.support).sum() / total) if total else float(zero_division)


def _by_kind(kind: str, tp: np.ndarray, predicted: np.ndarray, support: np.ndarray, zero_division: float) -> np.ndarray:
    if kind == "precision":
        return _ratio(tp, predicted, zero_division)
    if kind == "recall":
        return _ratio(tp, support, zero_division)
    return _ratio(2.0 * tp, predicted + support, zero_division)


def matthews(matrix: np.ndarray) -> float:
    """Matthews correlation (Gorodkin's K-class form); 0 when either side has one class."""
    n = matrix.sum()
    correct = np.trace(matrix)
    true_counts = matrix.sum(axis=1)
    pred_counts = matrix.sum(axis=0)
    covariance = correct * n - true_counts @ pred_counts
    spread_true = n * n - true_counts @ true_counts
    spread_pred = n * n - pred_counts @ pred_counts
    denominator = spread_true * spread_pred
    return float(covariance / np.sqrt(denominator)) if denominator > 0 else 0.0


def balanced_accuracy(matrix: np.ndarray, adjusted: bool) -> float | None:
    """Mean recall over the classes that occur as true labels; chance-corrected when adjusted."""
    support = matrix.sum(axis=1)
    present = support > 0
    if not present.any():
        return None
    score = float((np.diag(matrix)[present] / support[present]).mean())
    if not adjusted:
        return score
    chance = 1.0 / int(present.sum())
    return (score - chance) / (1.0 - chance) if chance < 1.0 else None


@dataclass(frozen=True)
class Curve:
    """Cumulative counts at each distinct score, highest first: predict positive when score >= threshold."""

    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    positives: int
    negatives: int


def descending(scores: np.ndarray) -> np.ndarray:
    """Row order by score, highest first (the order within ties does not matter)."""
    return np.argsort(scores)[::-1]


def binary_curve(positive: np.ndarray, scores: np.ndarray, order: np.ndarray | None = None) -> Curve:
    """The curve of ``scores`` against ``positive``; ``order`` may give :func:`descending` of the scores."""
    if order is None:
        order = descending(scores)
    ranked = scores[order]
    hits = positive[order].astype(np.int64)
    last_of_each = np.flatnonzero(np.diff(ranked)) if ranked.size > 1 else np.zeros(0, dtype=np.int64)
    ends = np.append(last_of_each, ranked.size - 1)
    tp = np.cumsum(hits)[ends]
    fp = ends + 1 - tp
    positives = int(hits.sum())
    return Curve(ranked[ends], tp, fp, positives, int(ranked.size) - positives)


def _area(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1])) / 2.0)


def roc_points(curve: Curve) -> tuple[np.ndarray, np.ndarray]:
    """False and true positive rates, starting at (0, 0) for a threshold above every score."""
    fpr = np.concatenate(([0.0], curve.fp / curve.negatives))
    tpr = np.concatenate(([0.0], curve.tp / curve.positives))
    return fpr, tpr


def binary_auc(positive: np.ndarray, scores: np.ndarray, order: np.ndarray | None = None) -> float | None:
    """Area under the ROC curve (ties count half); None unless both classes occur."""
    curve = binary_curve(positive, scores, order)
    if curve.positives == 0 or curve.negatives == 0:
        return None
    return _area(*roc_points(curve))


def ovr_auc(true: np.ndarray, scores: np.ndarray, average: str) -> tuple[float | None, list[float | None]]:
    """One-vs-rest AUC over the columns of ``scores`` and each column's own AUC."""
    n_classes = scores.shape[1]
    indicator = true[:, None] == np.arange(n_classes)[None, :]
    per = [binary_auc(indicator[:, k], scores[:, k]) for k in range(n_classes)]
    if average == "micro":
        return binary_auc(indicator.ravel(), scores.ravel()), per
    if any(value is None for value in per):
        return None, per
    values = np.array(per, dtype=np.float64)
    if average == "macro":
        return float(values.mean()), per
    support = indicator.sum(axis=0)
    return float((values * support).sum() / support.sum()), per


def ovo_auc(
    true: np.ndarray, scores: np.ndarray, average: str
) -> tuple[float | None, list[tuple[int, int, float | None]]]:
    """Hand & Till's one-vs-one AUC: each pair of classes scored both ways on its own rows."""
    n_classes = scores.shape[1]
    present = set(np.unique(true).tolist())
    orders = [descending(scores[:, k]) for k in range(n_classes)]
    pairs: list[tuple[int, int, float | None]] = []
    weights = []
    for a, b in combinations(range(n_classes), 2):
        if a not in present or b not in present:
            pairs.append((a, b, None))
            continue
        rows = (true == a) | (true == b)
        sides = []
        for k in (a, b):
            order = orders[k][rows[orders[k]]]
            sides.append(binary_auc(true == k, scores[:, k], order))
        pairs.append((a, b, (sides[0] + sides[1]) / 2.0))  # type: ignore[operator]
        weights.append(rows.mean())
    if not pairs or any(value is None for _, _, value in pairs):
        return None, pairs
    values = np.array([value for _, _, value in pairs], dtype=np.float64)
    if average == "macro":
        return float(values.mean()), pairs
    w = np.array(weights)
    return float((values * w).sum() / w.sum()), pairs


def precision_recall(curve: Curve) -> tuple[np.ndarray, np.ndarray]:
    precision = curve.tp / (curve.tp + curve.fp)
    recall = curve.tp / curve.positives if curve.positives else np.ones_like(precision)
    return precision, recall


def average_precision(curve: Curve) -> float | None:
    """Precision at each threshold weighted by the recall it adds (no interpolation)."""
    if curve.positives == 0:
        return None
    precision, recall = precision_recall(curve)
    return float(np.sum(np.diff(np.concatenate(([0.0], recall))) * precision))


def best_thresholds(curve: Curve) -> dict[str, dict[str, float]]:
    """The thresholds that maximise F1 and Youden's J (the highest such threshold on ties)."""
    precision, recall = precision_recall(curve)
    fn = curve.positives - curve.tp
    f1 = 2.0 * curve.tp / (2.0 * curve.tp + curve.fp + fn)
    best_f1 = int(np.argmax(f1))
    tpr = curve.tp / curve.positives
    fpr = curve.fp / curve.negatives
    youden = tpr - fpr
    best_j = int(np.argmax(youden))
    return {
        "max_f1": {
            "threshold": float(curve.thresholds[best_f1]),
            "f1": float(f1[best_f1]),
            "precision": float(precision[best_f1]),
            "recall": float(recall[best_f1]),
        },
        "max_youden_j": {
            "threshold": float(curve.thresholds[best_j]),
            "youden_j": float(youden[best_j]),
            "tpr": float(tpr[best_j]),
            "fpr": float(fpr[best_j]),
        },
    }


def _keep_corners(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of points that are not in the middle of a straight segment."""
    if x.size <= 2:
        return np.arange(x.size)
    dx1, dy1 = np.diff(x)[:-1], np.diff(y)[:-1]
    dx2, dy2 = np.diff(x)[1:], np.diff(y)[1:]
    bends = dx1 * dy2 - dy1 * dx2 != 0
    return np.flatnonzero(np.concatenate(([True], bends, [True])))


def _thin(indices: np.ndarray, limit: int) -> np.ndarray:
    if indices.size <= limit:
        return indices
    picks = np.unique(np.round(np.linspace(0, indices.size - 1, limit)).astype(np.int64))
    return indices[picks]


def roc_curve_points(curve: Curve, limit: int) -> dict[str, list[float | None]]:
    """ROC points for plotting: exact corners, at most ``limit`` of them (evenly thinned)."""
    fpr, tpr = roc_points(curve)
    thresholds = [None, *curve.thresholds.tolist()]
    fp = np.concatenate(([0.0], curve.fp))
    tp = np.concatenate(([0.0], curve.tp))
    keep = _thin(_keep_corners(fp, tp), limit)
    return {
        "fpr": fpr[keep].tolist(),
        "tpr": tpr[keep].tolist(),
        "threshold": [thresholds[i] for i in keep],
    }


def pr_curve_points(curve: Curve, limit: int) -> dict[str, list[float]]:
    """Precision and recall at each threshold (highest first), at most ``limit`` points."""
    precision, recall = precision_recall(curve)
    keep = _thin(np.arange(precision.size), limit)
    return {
        "precision": precision[keep].tolist(),
        "recall": recall[keep].tolist(),
        "threshold": curve.thresholds[keep].tolist(),
    }
