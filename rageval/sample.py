"""One dataset row in canonical fields, and checked access to those fields for metrics."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CANONICAL_FIELDS: tuple[str, ...] = (
    "prediction",
    "references",
    "source",
    "question",
    "contexts",
    "text",
    "label",
    "prediction_scores",
    "retrieved_ids",
    "relevant_ids",
)
"""Fields a metric can ask for; a config maps each to one of the dataset's columns."""


class InvalidSample(ValueError):
    """A metric cannot score this sample; the message is the reason kept in its row."""


@dataclass(slots=True)
class Sample:
    """A dataset row in canonical fields; any other column is kept in ``metadata``.

    A field the dataset does not provide is ``None``, which metrics treat like a null value.
    """

    id: Any
    prediction: Any = None
    references: Any = None
    source: Any = None
    question: Any = None
    contexts: Any = None
    text: Any = None
    label: Any = None
    prediction_scores: Any = None
    retrieved_ids: Any = None
    relevant_ids: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, sample_id: Any, row: Mapping[str, Any], columns: Mapping[str, str]) -> Sample:
        """Build a sample from a raw row, ``columns`` mapping canonical field -> column name."""
        values = {name: row.get(column) for name, column in columns.items()}
        refs = values.get("references")
        if isinstance(refs, str):
            values["references"] = [refs]
        used = set(columns.values())
        metadata = {key: value for key, value in row.items() if key not in used}
        return cls(id=sample_id, metadata=metadata, **values)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    return type(value).__name__


def text_field(sample: Sample, name: str) -> str:
    """The string in field ``name``; an empty string is valid, anything else not a string is not."""
    value = getattr(sample, name)
    if not isinstance(value, str):
        raise InvalidSample(f"{name} must be a string, got {_describe(value)}")
    return value


def references_field(sample: Sample) -> list[str]:
    """The sample's references as a non-empty list of strings."""
    refs = sample.references
    if isinstance(refs, str):
        return [refs]
    if not isinstance(refs, (list, tuple)):
        raise InvalidSample(f"references must be a string or a list of strings, got {_describe(refs)}")
    if not refs:
        raise InvalidSample("references is an empty list")
    for position, ref in enumerate(refs):
        if not isinstance(ref, str):
            raise InvalidSample(f"references[{position}] must be a string, got {_describe(ref)}")
    return list(refs)


def single_reference(sample: Sample) -> str:
    """The sample's only reference; metrics defined on one reference reject several."""
    refs = references_field(sample)
    if len(refs) != 1:
        raise InvalidSample(f"this metric takes one reference per sample, got {len(refs)}")
    return refs[0]


def number_field(sample: Sample, name: str) -> float:
    """A finite real number in field ``name`` (booleans count as 0 and 1)."""
    value = getattr(sample, name)
    if isinstance(value, bool):
        return float(value)
    if not isinstance(value, (int, float)):
        raise InvalidSample(f"{name} must be a number, got {_describe(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise InvalidSample(f"{name} must be finite, got {value!r}")
    return number
