"""A conformance kit for metric authors: run the contract's checks on a metric from your own pytest.

::

    import rageval_myplugin
    from rageval.testing import check_metric, parametrize_metrics

    @parametrize_metrics(rageval_myplugin)
    def test_conformance(metric_cls):
        check_metric(metric_cls)  # samples from MetricInfo.examples, or pass samples=[...]

:func:`check_metric` raises :class:`AssertionError` naming the metric, the check and what
went wrong. It checks that

- the class passes the registry's contract check, and its parameter model is strict (unknown
  keys are errors) and frozen;
- scoring is deterministic, and independent of batch size and order;
- the metric reads only the fields it declares;
- scores are declared, and ``None`` or finite (undetermined is ``None``, never NaN);
- statistics merge: the corpus score of the samples scored in parts, by separate instances,
  with the parts' statistics joined in another order, equals the corpus score of the whole
  (for additive metrics, summing totals in any grouping gives the same scores);
- bad input (a wrong type, ``None``, NaN, an empty list in a declared field) fails that
  sample with a reason instead of raising, and leaves the other samples of the batch as they
  were; a sample with none of its fields set is failed.

Scoring that needs a model is as slow here as anywhere: give such metrics few samples, and a
tolerance (``rel_tol=1e-5``), since float32 outputs move in the 7th digit with what else is
padded into a batch.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError

from rageval.context import RunContext
from rageval.errors import PluginError
from rageval.metric import Failed, Metric, Outcome, Scored, stack_statistics
from rageval.sample import CANONICAL_FIELDS, Sample

__all__ = ["BAD_VALUES", "ConformanceResult", "check_metric", "metrics_of", "parametrize_metrics", "samples_from_rows"]

BAD_VALUES: tuple[Any, ...] = (None, 12345, 2.5, float("nan"), True, {"nested": [1]}, [], [None], [[1, 2]], object())
"""Values put in each declared field to check that bad input fails one sample, not the batch."""

_UNKNOWN_PARAMETER = "_rageval_conformance_unknown_parameter"


@dataclass(frozen=True)
class ConformanceResult:
    """What :func:`check_metric` scored: outcomes per sample and the corpus scores of all of them."""

    outcomes: list[Outcome]
    corpus_scores: dict[str, float | None]


def samples_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[Sample]:
    """Samples from rows of canonical fields; other keys become metadata, ``id`` defaults to the position."""
    samples = []
    for position, row in enumerate(rows):
        fields = {key: value for key, value in row.items() if key in CANONICAL_FIELDS}
        metadata = {key: value for key, value in row.items() if key not in CANONICAL_FIELDS and key != "id"}
        samples.append(Sample(id=row.get("id", position), metadata=metadata, **fields))
    return samples


def metrics_of(source: Any) -> list[type[Metric]]:
    """The metric classes of a plugin module (its ``rageval_metrics`` hook) or of a :class:`Registry`."""
    if hasattr(source, "names") and hasattr(source, "get"):
        return [source.get(name) for name in source.names()]
    hook = getattr(source, "rageval_metrics", None)
    if hook is None:
        raise TypeError(f"{source!r} is neither a registry nor a plugin with a rageval_metrics hook")
    return list(hook())


def parametrize_metrics(source: Any = None, argname: str = "metric_cls") -> Any:
    """``pytest.mark.parametrize`` over the metrics of a plugin module or registry (default: all installed)."""
    import pytest

    if source is None:
        from rageval.registry import build_registry

        source = build_registry()
    classes = metrics_of(source)
    return pytest.mark.parametrize(argname, classes, ids=[cls.info.name for cls in classes])


class _Checker:
    def __init__(self, metric_cls: type[Metric], params: BaseModel, rel_tol: float, abs_tol: float):
        self.cls = metric_cls
        self.info = metric_cls.info
        self.params = params
        self.rel_tol = rel_tol
        self.abs_tol = abs_tol
        self.declared = {spec.key for spec in self.info.score_specs()}
        self.context = RunContext()
        """Shared by every instance, as in a run: a model loads once."""
        self.reference: Metric | None = None
        """The instance that turns statistics into scores in every check."""

    def fail(self, check: str, detail: str) -> AssertionError:
        return AssertionError(f"metric {self.info.name!r} fails '{check}': {detail}")

    def build(self) -> Metric:
        return self.cls(params=self.params, context=self.context)

    def score(self, metric: Metric, samples: Sequence[Sample], check: str) -> list[Outcome]:
        try:
            outcomes = metric.score_batch(list(samples))
        except Exception as exc:
            raise self.fail(
                check,
                f"score_batch raised {type(exc).__name__}: {exc}; a sample it cannot score must get "
                "Failed(reason) (raise rageval.InvalidSample in sample_statistics)",
            ) from exc
        if not isinstance(outcomes, list) or len(outcomes) != len(samples):
            size = len(outcomes) if isinstance(outcomes, list) else type(outcomes).__name__
            raise self.fail(check, f"score_batch returned {size} outcomes for {len(samples)} samples; one per sample")
        for sample, outcome in zip(samples, outcomes):
            self.check_outcome(sample, outcome, check)
        return outcomes

    def check_outcome(self, sample: Sample, outcome: Outcome, check: str) -> None:
        if isinstance(outcome, Failed):
            if not (isinstance(outcome.reason, str) and outcome.reason.strip()):
                raise self.fail(check, f"sample {sample.id!r} failed without a reason")
            return
        if not isinstance(outcome, Scored):
            raise self.fail(check, f"sample {sample.id!r} got {outcome!r}, not Scored or Failed")
        from rageval.reports.files import to_json

        try:
            to_json(list(outcome.stats))
            to_json(outcome.detail)
        except (TypeError, ValueError) as exc:
            raise self.fail(
                check, f"sample {sample.id!r}: statistics and detail must be finite JSON values ({exc})"
            ) from None
        if self.cls.additive and not all(isinstance(x, (int, float)) for x in outcome.stats):
            raise self.fail(check, f"sample {sample.id!r}: an additive metric's statistics must be numbers")
        row = self.stack([outcome])[0]
        self.check_scores("sample_scores", row, f"{check} (sample {sample.id!r})")

    def check_scores(self, method: str, stats: np.ndarray, check: str) -> dict[str, float | None]:
        try:
            scores = getattr(self.reference, method)(stats)
        except Exception as exc:
            raise self.fail(check, f"{method} raised {type(exc).__name__}: {exc}") from exc
        if not isinstance(scores, dict):
            raise self.fail(check, f"{method} returned {type(scores).__name__}, not a dict")
        undeclared = sorted(set(scores) - self.declared)
        if undeclared:
            raise self.fail(check, f"{method} returned scores {undeclared} that info.scores does not declare")
        for key, value in scores.items():
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
                raise self.fail(check, f"score {key!r} is {value!r}; a score is a number or None")
            if not math.isfinite(float(value)):
                raise self.fail(check, f"score {key!r} is {value!r}; an undetermined score is None, never NaN or inf")
        return scores

    @staticmethod
    def stack(outcomes: Iterable[Outcome]) -> np.ndarray:
        return stack_statistics([outcome.stats for outcome in outcomes if isinstance(outcome, Scored)])

    def close(self, a: Any, b: Any) -> bool:
        if a is None or b is None or isinstance(a, str) or isinstance(b, str):
            return a == b
        return math.isclose(float(a), float(b), rel_tol=self.rel_tol, abs_tol=self.abs_tol)

    def same_outcome(self, a: Outcome, b: Outcome) -> bool:
        if isinstance(a, Failed) or isinstance(b, Failed):
            return isinstance(a, Failed) and isinstance(b, Failed)
        return len(a.stats) == len(b.stats) and all(self.close(x, y) for x, y in zip(a.stats, b.stats))

    def expect_same_outcomes(
        self, check: str, samples: Sequence[Sample], got: Sequence[Outcome], want: Sequence[Outcome]
    ) -> None:
        for sample, a, b in zip(samples, got, want):
            if not self.same_outcome(a, b):
                raise self.fail(check, f"sample {sample.id!r} got {a!r}, expected {b!r}")

    def expect_same_scores(self, check: str, got: Mapping[str, Any], want: Mapping[str, Any]) -> None:
        for key in sorted(set(got) | set(want)):
            if not self.close(got.get(key), want.get(key)):
                raise self.fail(
                    check, f"score {key or self.info.name!r} is {got.get(key)!r}, expected {want.get(key)!r}"
                )


def _validated_params(
    checker_name: str, metric_cls: type[Metric], params: Mapping[str, Any] | BaseModel | None
) -> BaseModel:
    model = metric_cls.info.params
    values = params.model_dump() if isinstance(params, BaseModel) else dict(params or {})
    try:
        validated = model.model_validate(values)
    except ValidationError as exc:
        raise AssertionError(f"metric {checker_name!r} fails 'parameters': {values} are rejected: {exc}") from None
    try:
        model.model_validate({**values, _UNKNOWN_PARAMETER: 1})
    except ValidationError:
        pass
    else:
        raise AssertionError(
            f"metric {checker_name!r} fails 'parameters': an unknown parameter is accepted; subclass rageval.MetricParams"
        )
    if not model.model_config.get("frozen"):
        raise AssertionError(
            f"metric {checker_name!r} fails 'parameters': the parameter model is not frozen; subclass rageval.MetricParams"
        )
    return validated


def check_metric(
    metric_cls: type[Metric],
    samples: Sequence[Sample | Mapping[str, Any]] | None = None,
    params: Mapping[str, Any] | BaseModel | None = None,
    *,
    rel_tol: float = 1e-9,
    abs_tol: float = 1e-9,
    seed: int = 0,
) -> ConformanceResult:
    """Run every conformance check on ``metric_cls``; raise :class:`AssertionError` at the first failure.

    ``samples`` are :class:`Sample` objects or rows of canonical fields (default: the metric's
    ``MetricInfo.examples``); at least two must be ones the metric can score. ``params`` are
    the parameters to check with (default: the metric's defaults).
    """
    from rageval.registry import check_metric_class

    name = getattr(getattr(metric_cls, "info", None), "name", getattr(metric_cls, "__name__", repr(metric_cls)))
    try:
        check_metric_class(metric_cls, "(checked class)")
    except PluginError as exc:
        raise AssertionError(f"metric {name!r} fails 'contract': {exc}") from None
    info = metric_cls.info
    if not info.description.strip():
        raise AssertionError(f"metric {name!r} fails 'contract': info.description is empty")
    rows = list(info.examples if samples is None else samples)
    samples = [
        row if isinstance(row, Sample) else samples_from_rows([{"id": i, **row}])[0] for i, row in enumerate(rows)
    ]
    if not samples:
        raise AssertionError(f"metric {name!r}: no samples to check with; pass samples= or set MetricInfo.examples")

    checker = _Checker(metric_cls, _validated_params(name, metric_cls, params), rel_tol, abs_tol)
    try:
        metric = checker.build()
        other = checker.build()
    except Exception as exc:
        raise checker.fail("build", f"{type(exc).__name__}: {exc}") from exc
    checker.reference = metric

    for instance in (metric, other):
        try:
            signature = instance.signature()
        except Exception as exc:
            raise checker.fail("signature", f"signature() raised {type(exc).__name__}: {exc}") from exc
        if not (isinstance(signature, str) and signature.startswith(info.name)):
            raise checker.fail("signature", f"{signature!r} must be a string that starts with the metric's name")
    if metric.signature() != other.signature():
        raise checker.fail("signature", "two instances with the same parameters have different signatures")

    outcomes = checker.score(metric, samples, "scoring")
    scored = [i for i, outcome in enumerate(outcomes) if isinstance(outcome, Scored)]
    if len(scored) < 2:
        reasons = sorted({o.reason for o in outcomes if isinstance(o, Failed)})
        raise checker.fail(
            "scoring", f"needs at least two samples it can score, scored {len(scored)}; reasons: {reasons}"
        )
    widths = {len(outcomes[i].stats) for i in scored}
    if len(widths) != 1:
        raise checker.fail("scoring", f"statistics rows have different lengths {sorted(widths)}; they must stack")
    whole = checker.check_scores("corpus_scores", checker.stack(outcomes), "corpus scores")

    checker.expect_same_outcomes("determinism", samples, checker.score(other, samples, "determinism"), outcomes)
    one_by_one = [checker.score(checker.build(), [sample], "batch size")[0] for sample in samples]
    checker.expect_same_outcomes("batch size: one sample per batch", samples, one_by_one, outcomes)
    backwards = checker.score(checker.build(), samples[::-1], "batch order")[::-1]
    checker.expect_same_outcomes("batch order: reversed batch", samples, backwards, outcomes)

    used = {*info.fields, *(f for group in getattr(info, "any_of", ()) for f in group)}
    blanked = [replace(s, metadata={}, **{f: None for f in CANONICAL_FIELDS if f not in used}) for s in samples]
    checker.expect_same_outcomes(
        "declared fields: undeclared fields set to None",
        samples,
        checker.score(checker.build(), blanked, "fields"),
        outcomes,
    )

    _check_merge(checker, samples, outcomes, whole, seed)
    _check_bad_input(checker, samples, outcomes, used)
    return ConformanceResult(outcomes, whole)


def _check_merge(
    checker: _Checker, samples: list[Sample], outcomes: list[Outcome], whole: Mapping[str, Any], seed: int
) -> None:
    cls = checker.cls
    half = len(samples) // 2
    splits = {"halves": [samples[:half], samples[half:]], "one per part": [[s] for s in samples]}
    rng = random.Random(seed)
    for label, parts in splits.items():
        part_outcomes = [checker.score(checker.build(), part, f"merge ({label})") for part in parts if part]
        merged = [o for part in reversed(part_outcomes) for o in part]
        shuffled = rng.sample(merged, len(merged))
        for order, rows in (("parts reversed", merged), ("rows shuffled", shuffled)):
            got = checker.check_scores("corpus_scores", checker.stack(rows), f"merge ({label}, {order})")
            checker.expect_same_scores(f"merge: corpus score of the parts ({label}, {order})", got, whole)
        if cls.additive:
            totals = [checker.stack(part).sum(axis=0) for part in part_outcomes if checker.stack(part).size]
            summed = sum(reversed(totals), np.zeros_like(totals[0]))
            got = checker.check_scores("scores_from_totals", summed, f"merge of totals ({label})")
            checker.expect_same_scores(f"merge: scores_from_totals of summed part totals ({label})", got, whole)


def _check_bad_input(checker: _Checker, samples: list[Sample], outcomes: list[Outcome], used: set[str]) -> None:
    good = [samples[i] for i, outcome in enumerate(outcomes) if isinstance(outcome, Scored)][:2]
    expected = [outcomes[samples.index(sample)] for sample in good]
    for fld in sorted(used):
        for value in BAD_VALUES:
            bad = replace(good[0], id="bad-input", **{fld: value})
            check = f"bad input: {fld}={value!r}"
            got = checker.score(checker.build(), [good[0], bad, good[1]], check)
            checker.expect_same_outcomes(
                f"{check} changed the other samples of its batch", good, [got[0], got[2]], expected
            )
    empty = replace(good[0], id="no-fields", **{fld: None for fld in used})
    got = checker.score(checker.build(), [empty], "bad input: every declared field None")
    if not isinstance(got[0], Failed):
        raise checker.fail("bad input", f"a sample with every declared field None was scored {got[0]!r}; fail it")
