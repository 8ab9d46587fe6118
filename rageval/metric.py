"""The metric contract: map samples to sufficient statistics, reduce statistics to scores.

A metric is two pure steps, as in sacrebleu:

1. :meth:`Metric.score_batch` turns each sample into a fixed-length vector of sufficient
   statistics (or an :class:`Failed` outcome with the reason it cannot be scored).
2. :meth:`Metric.corpus_scores` turns the stacked statistics of any set of samples into
   scores. The per-sample score is the same computation on one row
   (:meth:`Metric.sample_scores`), unless a metric defines a sentence-level variant
   (sentence BLEU's effective order).

Because scores come from statistics alone, corpus scores are exact (never a mean of
sentence scores unless the metric is defined that way), shards merge, bootstrap resamples
rows without re-scoring, and a resumed run re-reads statistics from its rows.

A metric may report several scores (ROUGE-1, ROUGE-2, ...). Each is a :class:`ScoreSpec`;
the one with an empty key is reported under the metric's name (or its ``as`` alias), the
others as ``<name>.<key>``.
"""

from __future__ import annotations

import functools
import math
from abc import ABC
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from rageval.context import RunContext
from rageval.sample import InvalidSample, Sample


class NoParams(BaseModel):
    """Parameters of a metric that takes none."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricParams(BaseModel):
    """Base for a metric's parameter model: unknown keys are errors, instances are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class ScoreSpec:
    """One score a metric reports. ``key`` is empty for the score named after the metric."""

    key: str = ""
    higher_is_better: bool = True
    description: str = ""


@dataclass(frozen=True)
class MetricInfo:
    """Everything known about a metric before it runs, in one place."""

    name: str
    description: str
    fields: tuple[str, ...]
    higher_is_better: bool
    params: type[BaseModel] = NoParams
    scores: tuple[ScoreSpec, ...] = ()
    libraries: tuple[str, ...] = ()
    """Distributions whose versions change the numbers; they go into the signature."""
    citation: str = ""
    any_of: tuple[tuple[str, ...], ...] = ()
    """Groups of alternative fields: each group needs at least one of its fields mapped
    (a label metric takes ``prediction`` or derives it from ``prediction_scores``)."""
    examples: tuple[Mapping[str, Any], ...] = ()
    """Sample rows (canonical field -> value) the metric can score; ``rageval.testing`` and docs use them."""

    def score_specs(self) -> tuple[ScoreSpec, ...]:
        return self.scores or (ScoreSpec("", self.higher_is_better, self.description),)


@dataclass(frozen=True)
class Scored:
    """A sample the metric scored: its statistics, and optional detail kept in its row.

    Statistics are numbers for additive metrics. A non-additive metric may use other JSON
    scalars (a string label); its ``corpus_scores`` then receives an object array.
    """

    stats: tuple[float, ...]
    detail: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Failed:
    """A sample the metric could not score, with the reason."""

    reason: str


Outcome = Scored | Failed


@functools.cache
def distribution_version(name: str) -> str:
    """The installed version of a distribution, looked up once a process (each lookup parses its METADATA)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


def format_param(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "none"
    return str(value)


@dataclass
class Metric(ABC):
    """Base class of every metric, built-in or from a plugin.

    Subclasses set ``info`` and implement :meth:`sample_statistics` (or :meth:`score_batch`
    for batched model calls) and :meth:`scores_from_totals` (or :meth:`corpus_scores` when
    statistics do not merge by addition: set ``additive = False``).
    """

    info: ClassVar[MetricInfo]
    additive: ClassVar[bool] = True
    """Statistics merge by addition, so totals are enough for the corpus score."""

    params: BaseModel = field(default=None)  # type: ignore[assignment]
    context: RunContext = field(default_factory=RunContext, repr=False)

    def __post_init__(self) -> None:
        if self.params is None:
            self.params = self.info.params()
        elif not isinstance(self.params, self.info.params):
            self.params = self.info.params.model_validate(self.params)

    # Step 1: samples -> statistics.

    def score_batch(self, samples: Sequence[Sample]) -> list[Outcome]:
        """One outcome per sample, in order. Override to batch work across samples."""
        outcomes: list[Outcome] = []
        for sample in samples:
            try:
                outcomes.append(Scored(tuple(self.sample_statistics(sample))))
            except InvalidSample as reason:
                outcomes.append(Failed(str(reason)))
        return outcomes

    def sample_statistics(self, sample: Sample) -> Sequence[float]:
        """The statistics of one sample; raise :class:`InvalidSample` when it cannot be scored."""
        raise NotImplementedError(f"{type(self).__name__} implements neither sample_statistics nor score_batch")

    # Step 2: statistics -> scores.

    def corpus_scores(self, stats: np.ndarray) -> dict[str, float | None]:
        """Scores of the samples whose statistics are the rows of ``stats``, keyed by score key.

        ``None`` marks an undetermined score (no claims, no relevant documents): never NaN.
        """
        if not self.additive:
            raise NotImplementedError(f"{type(self).__name__} is not additive and must override corpus_scores")
        return self.scores_from_totals(stats.sum(axis=0))

    def scores_from_totals(self, totals: np.ndarray) -> dict[str, float | None]:
        raise NotImplementedError(f"{type(self).__name__} must implement scores_from_totals")

    def sample_scores(self, stats: np.ndarray) -> dict[str, float | None]:
        """The scores of one sample from its statistics row: the corpus path on one row."""
        return self.corpus_scores(stats.reshape(1, -1))

    def corpus_details(self, stats: np.ndarray) -> dict[str, Any]:
        """Extra JSON-serialisable facts for aggregate.json (curves, class prevalence, ...).

        A ``"warnings"`` key, a list of sentences, is shown in every report. Called once per
        run on all statistics (never during bootstrap).
        """
        return {}

    # Description.

    def signature(self) -> str:
        """Every setting that changes the numbers: ``name|param:value|...|lib:version``."""
        parts = [self.info.name]
        for key, value in self.params.model_dump().items():
            parts.append(f"{key}:{format_param(value)}")
        for library in self.info.libraries:
            parts.append(f"{library}:{distribution_version(library)}")
        parts.append(f"rageval:{distribution_version('rageval')}")
        return "|".join(parts)


def stack_statistics(rows: Sequence[Sequence[Any]]) -> np.ndarray:
    """Rows of statistics as one matrix: float64 when every value is a number, else an object array
    (labels and other values a metric keeps as they are), never coerced."""
    try:
        return np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        stacked = np.empty((len(rows), len(rows[0])), dtype=object)
        stacked[:] = rows
        return stacked


def finite_or_none(value: float | None) -> float | None:
    """``None`` for a missing or non-finite value, else the value as a float."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def score_name(alias: str, spec: ScoreSpec) -> str:
    """The name a score is reported under."""
    return f"{alias}.{spec.key}" if spec.key else alias
