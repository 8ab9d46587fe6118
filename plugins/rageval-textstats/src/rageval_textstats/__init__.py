"""rageval-textstats: text statistics metrics and a per-sample CSV report, as a rageval plugin.

Installed, the entry point ``textstats`` in the group ``rageval`` registers this module:

- ``length_ratio``: prediction length over reference length over the corpus, and ``.deviation``;
- ``lexical_diversity``: moving-average type-token ratio and distinct bigrams per prediction;
- ``readability``: Flesch reading ease and Flesch-Kincaid grade (English);
- the report writer ``scores-csv`` (``reports: [scores-csv]``): ``scores.csv`` with every score per sample.
"""

from __future__ import annotations

from typing import Any

import rageval
from rageval_textstats.metrics import LengthRatio, LexicalDiversity, Readability
from rageval_textstats.writers import write_scores_csv

__all__ = ["LengthRatio", "LexicalDiversity", "Readability", "write_scores_csv"]


@rageval.hookimpl
def rageval_metrics() -> list[type[rageval.Metric]]:
    return [LengthRatio, LexicalDiversity, Readability]


@rageval.hookimpl
def rageval_report_writers() -> dict[str, Any]:
    return {"scores-csv": write_scores_csv}
