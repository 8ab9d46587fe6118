"""Ranking metrics over ``retrieved_ids`` (a ranked list) and ``relevant_ids`` (the judgements).

``relevant_ids`` is a list of ids, each of gain 1, or a mapping id -> gain (graded relevance,
a number >= 0; an id of gain 0 is judged not relevant). Binary metrics count ids of positive
gain; nDCG uses the gains. An id is a string or an integer, and an integer equals its decimal
string, because the keys of a JSON mapping are always strings.

A sample without relevant ids has no defined score: it is counted as undetermined and left
out of the mean, never scored 0. A repeated id in ``retrieved_ids`` is an error unless
``dedupe`` keeps only its first occurrence; a repeated id in a ``relevant_ids`` list is
always an error. The corpus value is the mean over determined samples, as trec_eval reports.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from pydantic import Field

from rageval.hookspecs import hookimpl
from rageval.metric import Metric, MetricInfo, MetricParams
from rageval.sample import InvalidSample, Sample

FIELDS = ("retrieved_ids", "relevant_ids")


def _describe(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _doc_id(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise InvalidSample(f"{where} must be a string or an integer id, got {_describe(value)}")


def ranked_ids(sample: Sample, dedupe: bool) -> list[str]:
    """``retrieved_ids`` as a list of string ids in rank order."""
    values = sample.retrieved_ids
    if not isinstance(values, (list, tuple)):
        raise InvalidSample(f"retrieved_ids must be a list of ids, got {_describe(values)}")
    ranked: list[str] = []
    seen: set[str] = set()
    for position, value in enumerate(values):
        doc = _doc_id(value, f"retrieved_ids[{position}]")
        if doc in seen:
            if dedupe:
                continue
            raise InvalidSample(
                f"retrieved_ids repeats id {doc!r} (at position {position}); remove repeats or set dedupe: true"
            )
        seen.add(doc)
        ranked.append(doc)
    return ranked


def relevance_gains(sample: Sample) -> dict[str, float]:
    """``relevant_ids`` as id -> gain, keeping only ids of positive gain."""
    values = sample.relevant_ids
    gains: dict[str, float] = {}
    if isinstance(values, Mapping):
        for key, gain in values.items():
            doc = _doc_id(key, "a key of relevant_ids")
            if isinstance(gain, bool) or not isinstance(gain, (int, float)):
                raise InvalidSample(f"relevant_ids[{doc!r}] must be a number (the gain), got {_describe(gain)}")
            if not math.isfinite(gain) or gain < 0:
                raise InvalidSample(f"relevant_ids[{doc!r}] must be a finite gain >= 0, got {gain!r}")
            if doc in gains:
                raise InvalidSample(f"relevant_ids has id {doc!r} twice")
            gains[doc] = float(gain)
    elif isinstance(values, (list, tuple)):
        for position, value in enumerate(values):
            doc = _doc_id(value, f"relevant_ids[{position}]")
            if doc in gains:
                raise InvalidSample(f"relevant_ids has id {doc!r} twice")
            gains[doc] = 1.0
    else:
        raise InvalidSample(f"relevant_ids must be a list of ids or a mapping id -> gain, got {_describe(values)}")
    return {doc: gain for doc, gain in gains.items() if gain > 0}


class CutoffParams(MetricParams):
    k: int = Field(10, ge=1, description="rank cutoff: only the first k retrieved ids count")
    dedupe: bool = Field(False, description="drop repeated retrieved ids after their first occurrence (else an error)")


class RetrievalMetric(Metric):
    """Shared path: parse and check ids, score one ranking, mean over determined samples.

    Statistics are ``(score, 1)`` for a scored sample and ``(0, 0)`` for an undetermined one.
    """

    def cutoff(self) -> int | None:
        return self.params.k

    def sample_statistics(self, sample: Sample) -> tuple[float, float]:
        ranked = ranked_ids(sample, self.params.dedupe)
        gains = relevance_gains(sample)
        if not gains:
            return 0.0, 0.0
        k = self.cutoff()
        return self.ranking_score(ranked if k is None else ranked[:k], gains), 1.0

    def ranking_score(self, top: list[str], gains: dict[str, float]) -> float:
        """The score of the ranking ``top`` (already cut at k), given a non-empty ``gains``."""
        raise NotImplementedError

    def scores_from_totals(self, totals: np.ndarray) -> dict[str, float | None]:
        total, determined = (float(x) for x in totals)
        return {"": total / determined if determined else None}


def _retrieval_info(name: str, description: str, params: type[MetricParams] = CutoffParams) -> MetricInfo:
    return MetricInfo(name=name, description=description, fields=FIELDS, higher_is_better=True, params=params)


class PrecisionAtK(RetrievalMetric):
    """Relevant ids among the first k over k; a ranking shorter than k still divides by k (trec_eval's P@k)."""

    info = _retrieval_info("precision_at_k", "Share of the first k retrieved ids that are relevant, mean over queries.")

    def ranking_score(self, top: list[str], gains: dict[str, float]) -> float:
        return sum(doc in gains for doc in top) / self.params.k


class RecallAtK(RetrievalMetric):
    info = _retrieval_info(
        "recall_at_k", "Share of the relevant ids found in the first k retrieved, mean over queries."
    )

    def ranking_score(self, top: list[str], gains: dict[str, float]) -> float:
        return sum(doc in gains for doc in top) / len(gains)


class HitRateAtK(RetrievalMetric):
    info = _retrieval_info("hit_rate_at_k", "Share of queries with a relevant id among the first k retrieved.")

    def ranking_score(self, top: list[str], gains: dict[str, float]) -> float:
        return float(any(doc in gains for doc in top))


class MrrParams(CutoffParams):
    k: int | None = Field(None, ge=1, description="rank cutoff (none: the whole ranking)")  # type: ignore[assignment]


class Mrr(RetrievalMetric):
    info = _retrieval_info(
        "mrr", "Mean reciprocal rank of the first relevant retrieved id (0 when none is retrieved).", MrrParams
    )

    def ranking_score(self, top: list[str], gains: dict[str, float]) -> float:
        return next((1.0 / rank for rank, doc in enumerate(top, start=1) if doc in gains), 0.0)


class NdcgParams(CutoffParams):
    gain: Literal["linear", "exponential"] = Field(
        "linear", description="linear uses the gain as given (as sklearn's ndcg_score); exponential uses 2^gain - 1"
    )


def discounted_gain(gains: list[float]) -> float:
    return sum(gain / math.log2(rank + 1) for rank, gain in enumerate(gains, start=1))


class NdcgAtK(RetrievalMetric):
    """DCG of the first k retrieved over the DCG of the ideal ordering of all judged ids, cut at k."""

    info = _retrieval_info(
        "ndcg_at_k",
        "Normalised discounted cumulative gain at k, graded or binary relevance, mean over queries.",
        NdcgParams,
    )

    def ranking_score(self, top: list[str], gains: dict[str, float]) -> float:
        if self.params.gain == "exponential":
            try:
                gains = {doc: 2.0**gain - 1.0 for doc, gain in gains.items()}
            except OverflowError:
                raise InvalidSample("relevant_ids has a gain too large for exponential gain; rescale it") from None
        ideal = discounted_gain(sorted(gains.values(), reverse=True)[: self.params.k])
        if not (math.isfinite(ideal) and ideal > 0):
            raise InvalidSample(f"relevant_ids has gains whose ideal DCG is {ideal!r}; rescale them")
        return discounted_gain([gains.get(doc, 0.0) for doc in top]) / ideal


@hookimpl
def rageval_metrics() -> list[type[Metric]]:
    return [PrecisionAtK, RecallAtK, HitRateAtK, Mrr, NdcgAtK]
