"""rageval-checks: rule-based output checks RAG teams run, and a reader for nested JSON traces.

Installed, the entry point ``checks`` in the group ``rageval`` registers this module:

- ``regex_match``: the share of predictions a regular expression matches (or avoids);
- ``json_valid``: the share of predictions that parse as JSON and satisfy a JSON Schema;
- ``citation_presence``: the share of answers citing a retrieved context, and of citations that are real;
- the dataset format ``json-traces`` (``dataset.format: json-traces``): nested JSON traces as dotted columns.
"""

from __future__ import annotations

from typing import Any

import rageval
from rageval_checks.metrics import CitationPresence, JsonValid, RegexMatch
from rageval_checks.traces import flatten, read_traces

__all__ = ["CitationPresence", "JsonValid", "RegexMatch", "flatten", "read_traces"]


@rageval.hookimpl
def rageval_metrics() -> list[type[rageval.Metric]]:
    return [RegexMatch, JsonValid, CitationPresence]


@rageval.hookimpl
def rageval_dataset_loaders() -> dict[str, Any]:
    return {"json-traces": read_traces}
