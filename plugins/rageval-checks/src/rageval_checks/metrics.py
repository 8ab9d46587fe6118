"""Rule-based checks of system outputs: a regular expression, JSON against a schema, citations of retrieved ids.

Each check passes or fails per sample; the statistics are counts, so the corpus score is the
share of samples (or of citations) that pass, exactly, and shards merge by addition.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from functools import cached_property
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator

from rageval import Failed, InvalidSample, Metric, MetricInfo, MetricParams, Sample, Scored, ScoreSpec
from rageval.metric import Outcome, distribution_version


def _text(sample: Sample, name: str) -> str:
    value = getattr(sample, name)
    if not isinstance(value, str):
        raise InvalidSample(f"{name} must be a string, got {'null' if value is None else type(value).__name__}")
    return value


def _share(passed: float, total: float) -> float | None:
    return passed / total if total else None


class RegexParams(MetricParams):
    pattern: str = Field(description="a Python regular expression")
    mode: Literal["search", "fullmatch"] = Field(
        "search", description="search: anywhere in the prediction; fullmatch: the whole prediction"
    )
    expect: Literal["match", "no_match"] = Field(
        "match", description="no_match passes predictions the pattern does not match (banned phrases)"
    )
    ignore_case: bool = Field(False, description="match case-insensitively")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class RegexMatch(Metric):
    """Share of predictions a regular expression matches (or, with ``expect: no_match``, does not)."""

    info = MetricInfo(
        name="regex_match",
        description="Share of predictions that match a regular expression (or avoid it, with expect: no_match).",
        fields=("prediction",),
        higher_is_better=True,
        params=RegexParams,
        libraries=("rageval-checks",),
        examples=(
            {"prediction": "Order 1234 ships on Monday."},
            {"prediction": "I cannot find the order."},
            {"prediction": "Orders 77 and 78 shipped."},
        ),
    )

    @cached_property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.params.pattern, re.IGNORECASE if self.params.ignore_case else 0)

    def sample_statistics(self, sample: Sample) -> Sequence[float]:
        text = _text(sample, "prediction")
        found = (self.regex.search if self.params.mode == "search" else self.regex.fullmatch)(text) is not None
        passed = found if self.params.expect == "match" else not found
        return float(passed), 1.0

    def scores_from_totals(self, totals: np.ndarray) -> dict[str, float | None]:
        return {"": _share(float(totals[0]), float(totals[1]))}


FENCE = re.compile(r"^\s*```[A-Za-z0-9_-]*[ \t]*\n(.*?)\n?```\s*$", re.DOTALL)


class JsonParams(MetricParams):
    json_schema: dict[str, Any] | None = Field(
        None, alias="schema", description="a JSON Schema the parsed prediction must satisfy (none: any JSON)"
    )
    strip_code_fence: bool = Field(True, description="read the JSON inside a ```json ... ``` fence, as LLMs write it")

    @field_validator("json_schema")
    @classmethod
    def _valid_schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            import jsonschema

            try:
                jsonschema.validators.validator_for(value).check_schema(value)
            except jsonschema.SchemaError as exc:
                raise ValueError(f"not a valid JSON Schema: {exc.message}") from None
        return value


class JsonValid(Metric):
    """Share of predictions that parse as JSON and, when a schema is given, satisfy it.

    A failing prediction keeps the reason (the parse error or the first schema violation) in
    its row's detail.
    """

    info = MetricInfo(
        name="json_valid",
        description="Share of predictions that are valid JSON and satisfy the given JSON Schema.",
        fields=("prediction",),
        higher_is_better=True,
        params=JsonParams,
        scores=(
            ScoreSpec("", True, "share of predictions that parse and satisfy the schema"),
            ScoreSpec("parsed", True, "share of predictions that parse as JSON"),
        ),
        libraries=("rageval-checks", "jsonschema"),
        examples=(
            {"prediction": '{"answer": "Paris", "sources": [1]}'},
            {"prediction": '```json\n{"answer": "Berlin"}\n```'},
            {"prediction": "The answer is Paris."},
        ),
    )

    @cached_property
    def validator(self) -> Any:
        if self.params.json_schema is None:
            return None
        import jsonschema

        return jsonschema.validators.validator_for(self.params.json_schema)(self.params.json_schema)

    def score_batch(self, samples: Sequence[Sample]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for sample in samples:
            try:
                text = _text(sample, "prediction")
            except InvalidSample as reason:
                outcomes.append(Failed(str(reason)))
                continue
            outcomes.append(self.check(text))
        return outcomes

    def check(self, text: str) -> Scored:
        if self.params.strip_code_fence:
            fenced = FENCE.match(text)
            text = fenced.group(1) if fenced else text
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            return Scored((0.0, 0.0, 1.0), {"error": f"invalid JSON: {exc.msg} (line {exc.lineno} column {exc.colno})"})
        if self.validator is not None:
            error = next(iter(sorted(self.validator.iter_errors(value), key=lambda e: list(e.path))), None)
            if error is not None:
                where = "/".join(str(part) for part in error.path) or "(top level)"
                return Scored((1.0, 0.0, 1.0), {"error": f"schema: {where}: {error.message}"})
        return Scored((1.0, 1.0, 1.0))

    def scores_from_totals(self, totals: np.ndarray) -> dict[str, float | None]:
        parsed, valid, count = (float(x) for x in totals)
        return {"": _share(valid, count), "parsed": _share(parsed, count)}

    def signature(self) -> str:
        schema = self.params.json_schema
        digest = (
            "none" if schema is None else hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest()[:12]
        )
        fence = "yes" if self.params.strip_code_fence else "no"
        return (
            f"json_valid|schema:{digest}|strip_code_fence:{fence}"
            f"|rageval-checks:{distribution_version('rageval-checks')}|jsonschema:{distribution_version('jsonschema')}"
            f"|rageval:{distribution_version('rageval')}"
        )


class CitationParams(MetricParams):
    pattern: str = Field(
        r"\[([^\[\]]+)\]",
        description="regular expression of a citation; group 1 holds one or more ids separated by ',' or ';'",
    )
    positions: bool = Field(
        True, description="a cited number n that is not itself an id names the n-th retrieved id (1-based), as in [1]"
    )

    @field_validator("pattern")
    @classmethod
    def _one_group(cls, value: str) -> str:
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        if compiled.groups < 1:
            raise ValueError("the pattern needs a group around the cited ids, e.g. \\[([^\\]]+)\\]")
        return value


class CitationPresence(Metric):
    """Whether answers cite the retrieved contexts they rely on, by id or by position.

    Statistics per answer: (cites a retrieved id, 1, citations naming a retrieved id,
    citations). The main score is the share of answers with at least one valid citation;
    ``.valid`` is the share of all citations that name a retrieved id (a citation of an id
    that was not retrieved is made up). An answer without citations leaves ``.valid``
    undetermined.
    """

    info = MetricInfo(
        name="citation_presence",
        description="Share of answers that cite at least one retrieved context by its id or position.",
        fields=("prediction", "retrieved_ids"),
        higher_is_better=True,
        params=CitationParams,
        libraries=("rageval-checks",),
        scores=(
            ScoreSpec("", True, "share of answers citing at least one retrieved id"),
            ScoreSpec("valid", True, "share of citations that name a retrieved id, over all citations"),
        ),
        examples=(
            {"prediction": "The museum opens at nine [doc-2].", "retrieved_ids": ["doc-1", "doc-2"]},
            {"prediction": "It closes at five [1][3].", "retrieved_ids": ["doc-4", "doc-5"]},
            {"prediction": "Tickets cost ten euros.", "retrieved_ids": ["doc-6"]},
        ),
    )

    @cached_property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.params.pattern)

    def by_position(self, citation: str, n_ids: int) -> bool:
        return self.params.positions and citation.isdigit() and 1 <= int(citation) <= n_ids

    def sample_statistics(self, sample: Sample) -> Sequence[float]:
        text = _text(sample, "prediction")
        retrieved = sample.retrieved_ids
        if not isinstance(retrieved, (list, tuple)):
            raise InvalidSample(f"retrieved_ids must be a list of ids, got {type(retrieved).__name__}")
        if not all(isinstance(i, (str, int)) and not isinstance(i, bool) for i in retrieved):
            raise InvalidSample("retrieved_ids must hold strings or integers")
        ids = [str(i) for i in retrieved]
        known = set(ids)
        cited = [part.strip() for match in self.regex.finditer(text) for part in re.split(r"[,;]", match.group(1))]
        cited = [c for c in cited if c]
        valid = sum(citation in known or self.by_position(citation, len(ids)) for citation in cited)
        return float(valid > 0), 1.0, float(valid), float(len(cited))

    def scores_from_totals(self, totals: np.ndarray) -> dict[str, float | None]:
        present, answers, valid, citations = (float(x) for x in totals)
        return {"": _share(present, answers), "valid": _share(valid, citations)}
