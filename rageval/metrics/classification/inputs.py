"""Reading labels and prediction scores from samples, catching the classic encoding mistakes.

Everything here looks at one sample at a time, so every row is accounted for: a value that
cannot be read is an :class:`InvalidSample` whose message says what to change. What was
assumed while reading a row (a one-hot label decoded, a prediction derived from scores) is
kept as bits in a ``notes`` statistic, so the corpus can report it as a warning.

Labels are canonical: booleans, integral floats and strings holding an integer literal
become ints (CSV files hold only strings, so ``"1"`` and ``1`` are one class); any other
string is a class name.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from rageval.metric import MetricParams
from rageval.sample import InvalidSample, Sample

Label = int | str

LABEL_ONE_HOT = 1
PREDICTION_ONE_HOT = 2
PREDICTED_FROM_SCORES = 4
SCORES_LOOK_LIKE_PROBABILITIES = 8
"""from_logits is on but the raw scores were in [0, 1] (and summed to 1)."""
SCORES_ARE_HARD = 16
"""The scores were exactly 0 or 1 (or one-hot): predicted labels given as scores."""

_INTEGER_LITERAL = re.compile(r"[+-]?\d+")


def canonical_label(value: Any) -> Label:
    """The class a scalar value names; raises ValueError with the reason it names none."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        if math.isfinite(value) and float(value).is_integer():
            return int(value)
        raise ValueError(f"{value!r} is not a class")
    if isinstance(value, str):
        if not value:
            raise ValueError("is an empty string")
        return int(value) if _INTEGER_LITERAL.fullmatch(value) else value
    if value is None:
        raise ValueError("is null")
    raise ValueError(f"must be a class (an integer, a string or a one-hot vector), got {type(value).__name__}")


def class_sort_key(label: Label) -> tuple[int, Any]:
    """Numbers in numeric order, then names in text order."""
    return (1, label) if isinstance(label, str) else (0, label)


def show(labels: Sequence[Any], limit: int = 8) -> str:
    shown = ", ".join(repr(label) for label in list(labels)[:limit])
    return shown + (f", ... ({len(labels)} in all)" if len(labels) > limit else "")


class ClassParams(MetricParams):
    """The class list, when the config fixes it."""

    labels: list[int | str] | None = Field(
        None,
        description="the classes in order: the columns of score vectors; for binary tasks [negative, positive]",
    )
    n_classes: int | None = Field(None, ge=2, description="shorthand for labels: [0, 1, ..., n_classes - 1]")

    @field_validator("labels", mode="before")
    @classmethod
    def _no_yaml_booleans(cls, value: Any) -> Any:
        if isinstance(value, list) and any(isinstance(item, bool) for item in value):
            raise ValueError("contains true/false (YAML reads yes/no/on/off as booleans): quote class names")
        return value

    @field_validator("labels")
    @classmethod
    def _canonical_labels(cls, value: list[int | str] | None) -> list[int | str] | None:
        if value is None:
            return None
        labels = [canonical_label(item) for item in value]
        if len(labels) < 2:
            raise ValueError("needs at least two classes")
        repeated = sorted({repr(x) for x in labels if labels.count(x) > 1})
        if repeated:
            raise ValueError(f"lists {', '.join(repeated)} more than once")
        return labels

    @model_validator(mode="after")
    def _labels_or_n_classes(self) -> ClassParams:
        if self.labels is not None and self.n_classes is not None:
            raise ValueError("set labels or n_classes, not both")
        return self

    def classes(self) -> tuple[Label, ...] | None:
        if self.labels is not None:
            return tuple(self.labels)
        if self.n_classes is not None:
            return tuple(range(self.n_classes))
        return None


class ScoreParams(ClassParams):
    """How prediction_scores are read."""

    from_logits: bool = Field(False, description="scores are logits: apply a sigmoid (one score) or a softmax")
    sum_tolerance: float = Field(
        0.01, ge=0.0, le=0.5, description="how far from 1 a row of probabilities may sum (rounding)"
    )


@dataclass(frozen=True)
class ClassSpace:
    """The classes a row is read against: fixed by the config, or open (the data decides)."""

    fixed: tuple[Label, ...] | None
    source: str = "params.labels"

    @classmethod
    def of(cls, params: ClassParams) -> ClassSpace:
        return cls(params.classes(), "params.labels" if params.labels is not None else "params.n_classes")

    def check(self, label: Label, field: str) -> Label:
        if self.fixed is not None and label not in self.fixed:
            raise InvalidSample(f"{field} {label!r} is not one of the classes in {self.source} ({show(self.fixed)})")
        return label

    def binary(self) -> tuple[Label, Label] | None:
        """(negative, positive) for one score per row; None when the config fixes more classes."""
        if self.fixed is None:
            return (0, 1)
        return (self.fixed[0], self.fixed[1]) if len(self.fixed) == 2 else None


def _one_hot_position(vector: Sequence[Any], field: str) -> int:
    if not vector:
        raise InvalidSample(f"{field} is an empty list")
    if not all(isinstance(x, (int, float, np.integer, np.floating)) for x in vector):
        raise InvalidSample(f"{field} is a list that is not a one-hot vector: give one class per row")
    if any(x not in (0, 1) for x in vector):
        if field == "prediction":
            raise InvalidSample("prediction is a vector of scores, not a class: map that column to prediction_scores")
        raise InvalidSample(f"{field} is a vector with values other than 0 and 1: give a class or a one-hot vector")
    ones = [i for i, x in enumerate(vector) if x == 1]
    if not ones:
        raise InvalidSample(f"{field} is an all-zero vector: a one-hot vector needs one 1")
    if len(ones) > 1:
        raise InvalidSample(f"{field} has {len(ones)} ones: multi-label targets are not supported (one class per row)")
    return ones[0]


def read_class(value: Any, field: str, space: ClassSpace) -> tuple[Label, bool]:
    """The class in ``value`` and whether it was a one-hot vector."""
    if isinstance(value, (list, tuple, np.ndarray)):
        vector = list(value)
        position = _one_hot_position(vector, field)
        if space.fixed is None:
            return position, True
        if len(vector) != len(space.fixed):
            raise InvalidSample(
                f"{field} is a one-hot vector of {len(vector)} but the config names {len(space.fixed)} classes"
            )
        return space.fixed[position], True
    if isinstance(value, (float, np.floating)) and field == "prediction" and 0.0 < value < 1.0:
        raise InvalidSample(f"prediction {value!r} is a probability, not a class: map that column to prediction_scores")
    try:
        label = canonical_label(value)
    except ValueError as reason:
        raise InvalidSample(f"{field} {reason}") from None
    return space.check(label, field), False


def same_kind(label: Label, predicted: Label) -> None:
    """A name compared with a number is an encoding mismatch, never a wrong prediction."""
    if isinstance(label, str) != isinstance(predicted, str):
        raise InvalidSample(
            f"label {label!r} and prediction {predicted!r} use different encodings (a name and a number): "
            "give both as names or both as indices, or set params.labels to the names in index order"
        )


def _number(value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, str, np.integer, np.floating)):
        raise InvalidSample(f"prediction_scores must be a number or a list of numbers, got {type(value).__name__}")
    try:
        number = float(value)
    except ValueError:
        raise InvalidSample(f"prediction_scores {value!r} is not a number") from None
    if not math.isfinite(number):
        raise InvalidSample(f"prediction_scores must be finite, got {value!r}")
    return number


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _softmax(x: np.ndarray) -> np.ndarray:
    shifted = np.exp(x - x.max())
    return shifted / shifted.sum()


@dataclass(frozen=True)
class Scores:
    """Probabilities read from one row: one number (the positive class) or one per class."""

    probabilities: np.ndarray
    notes: int

    @property
    def is_scalar(self) -> bool:
        return self.probabilities.ndim == 0


def read_scores(value: Any, params: ScoreParams) -> Scores:
    """Probabilities from a number or a vector; logits mistaken for probabilities are errors."""
    if value is None:
        raise InvalidSample("prediction_scores is null")
    if isinstance(value, (list, tuple, np.ndarray)):
        if len(value) == 0:
            raise InvalidSample("prediction_scores is an empty list")
        if any(isinstance(x, (list, tuple, dict)) for x in value):
            raise InvalidSample("prediction_scores must be a number or a flat list of numbers, got a nested list")
        raw = np.array([_number(x) for x in value], dtype=np.float64)
        if raw.size == 1:
            raw = raw.reshape(())
    else:
        raw = np.array(_number(value), dtype=np.float64)
    if raw.ndim == 0:
        return _read_one_score(float(raw), params)
    in_range = bool(raw.min() >= 0.0 and raw.max() <= 1.0)
    total = float(raw.sum())
    sums_to_one = abs(total - 1.0) <= params.sum_tolerance + 1e-9
    if params.from_logits:
        notes = SCORES_LOOK_LIKE_PROBABILITIES if in_range and sums_to_one else 0
        return Scores(_softmax(raw), notes)
    if not in_range:
        raise InvalidSample(
            f"prediction_scores has values outside [0, 1] ({raw.min():.4g} to {raw.max():.4g}): "
            "they look like logits; set from_logits: true"
        )
    if not sums_to_one:
        raise InvalidSample(
            f"prediction_scores sum to {total:.4g}, not 1: set from_logits: true if they are logits, "
            "or raise params.sum_tolerance if they are rounded probabilities"
        )
    hard = bool(np.all((raw == 0.0) | (raw == 1.0)))
    return Scores(raw, SCORES_ARE_HARD if hard else 0)


def _read_one_score(raw: float, params: ScoreParams) -> Scores:
    in_range = 0.0 <= raw <= 1.0
    if params.from_logits:
        return Scores(np.array(_sigmoid(raw)), SCORES_LOOK_LIKE_PROBABILITIES if in_range else 0)
    if not in_range:
        if raw.is_integer() and raw >= 2:
            raise InvalidSample(
                f"prediction_scores {raw:g} looks like a class, not a score: map that column to prediction"
            )
        raise InvalidSample(
            f"prediction_scores {raw:.4g} is outside [0, 1]: it looks like a logit; set from_logits: true"
        )
    return Scores(np.array(raw), SCORES_ARE_HARD if raw in (0.0, 1.0) else 0)


def binary_index(label: Label, space: ClassSpace) -> int:
    """0 (negative) or 1 (positive) for a row scored with one probability."""
    pair = space.binary()
    if pair is None:
        raise InvalidSample(
            f"prediction_scores is one number but the config names {len(space.fixed or ())} classes: "
            "give one score per class"
        )
    if label not in pair:
        raise InvalidSample(
            f"label {label!r} is not a class of a one-number score (0 or 1): "
            "set params.labels to the two classes, negative first"
        )
    return pair.index(label)


def column_index(label: Label, scores: Scores, space: ClassSpace) -> int:
    """The column of ``label`` in a vector of per-class scores."""
    width = scores.probabilities.size
    if space.fixed is not None:
        if width != len(space.fixed):
            raise InvalidSample(f"prediction_scores has {width} values but the config names {len(space.fixed)} classes")
        return space.fixed.index(label)
    if not isinstance(label, int) or not 0 <= label < width:
        raise InvalidSample(
            f"label {label!r} is not a class of the {width} prediction_scores columns (0 to {width - 1}): "
            "set params.labels to the class names in column order"
        )
    return label


def read_true(sample: Sample, space: ClassSpace) -> tuple[Label, int]:
    """The true class and its notes."""
    label, one_hot = read_class(sample.label, "label", space)
    return label, LABEL_ONE_HOT if one_hot else 0


class LabelInputParams(ScoreParams):
    """Where label metrics take the predicted class from."""

    predict_from: Literal["auto", "prediction", "prediction_scores"] = Field(
        "auto",
        description="auto: the prediction field when a row has one, else derived from prediction_scores",
    )
    threshold: float = Field(
        0.5, ge=0.0, le=1.0, description="binary scores: positive when P(positive) >= threshold (after any sigmoid)"
    )


def read_predicted(sample: Sample, label: Label, params: LabelInputParams, space: ClassSpace) -> tuple[Label, int]:
    """The predicted class and its notes, from the prediction field or derived from scores."""
    use_prediction = params.predict_from == "prediction" or (
        params.predict_from == "auto" and sample.prediction is not None
    )
    if use_prediction:
        predicted, one_hot = read_class(sample.prediction, "prediction", space)
        same_kind(label, predicted)
        return predicted, PREDICTION_ONE_HOT if one_hot else 0
    if sample.prediction_scores is None:
        missing = (
            "prediction_scores is null"
            if params.predict_from == "prediction_scores"
            else "prediction and prediction_scores are null"
        )
        raise InvalidSample(missing)
    scores = read_scores(sample.prediction_scores, params)
    notes = scores.notes | PREDICTED_FROM_SCORES
    p = scores.probabilities
    pair = space.binary()
    if scores.is_scalar or (p.size == 2 and pair is not None):
        binary_index(label, space)
        negative, positive = pair or (0, 1)
        positive_p = float(p) if scores.is_scalar else float(p[1])
        return (positive if positive_p >= params.threshold else negative), notes
    column_index(label, scores, space)
    position = int(np.argmax(p))
    return (space.fixed[position] if space.fixed is not None else position), notes


def note_warnings(notes: np.ndarray, scored: np.ndarray, *, from_logits: bool, hard_scores_matter: bool) -> list[str]:
    """Sentences for what was assumed or suspected while reading rows.

    ``scored`` marks the rows whose prediction_scores were read; the suspicions about scores
    hold only when every such row shares them, since one row proves little.
    """
    n = notes.size
    warnings = []
    for bit, field in ((LABEL_ONE_HOT, "label"), (PREDICTION_ONE_HOT, "prediction")):
        count = int(np.count_nonzero(notes & bit))
        if count:
            warnings.append(
                f"{field} was a one-hot vector in {count} of {n} rows: read as the class at the position of its 1"
            )
    read = notes[scored]
    if not read.size:
        return warnings
    if from_logits and np.all(read & SCORES_LOOK_LIKE_PROBABILITIES):
        warnings.append(
            "from_logits is true but every row's prediction_scores look like probabilities (in [0, 1], summing to 1): "
            "if they are, set from_logits: false"
        )
    if hard_scores_matter and not from_logits and np.all(read & SCORES_ARE_HARD):
        warnings.append(
            "every prediction_scores value is exactly 0 or 1 (or one-hot): these look like predicted classes, "
            "not probabilities; map them to prediction and give probabilities as prediction_scores"
        )
    return warnings
