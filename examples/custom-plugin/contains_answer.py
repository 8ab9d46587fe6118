"""A local rageval plugin: does the answer contain one of the expected answers?

Exact match is too strict for chatty answers ("The capital is Paris." against "Paris"); this
metric passes an answer that contains a reference, compared after lowercasing and collapsing
whitespace. A config loads it with ``plugins: [contains_answer.py]``.
"""

from __future__ import annotations

import re

import numpy as np
from pydantic import Field

import rageval


class ContainsAnswerParams(rageval.MetricParams):
    case_sensitive: bool = Field(False, description="compare without lowercasing")
    whole_words: bool = Field(True, description="a reference must match whole words ('Paris' not in 'Parisian')")


class ContainsAnswer(rageval.Metric):
    info = rageval.MetricInfo(
        name="contains_answer",
        description="Share of answers that contain one of their references.",
        fields=("prediction", "references"),
        higher_is_better=True,
        params=ContainsAnswerParams,
        examples=(
            {"prediction": "The capital of France is Paris.", "references": ["Paris"]},
            {"prediction": "It is Lyon, I think.", "references": ["Paris"]},
            {"prediction": "Two  hundred   people came.", "references": ["200", "two hundred"]},
        ),
    )

    def normalise(self, text: str) -> str:
        text = " ".join(text.split())
        return text if self.params.case_sensitive else text.lower()

    def contains(self, answer: str, reference: str) -> bool:
        if not reference:
            return False
        if self.params.whole_words:
            return re.search(rf"(?<!\w){re.escape(reference)}(?!\w)", answer) is not None
        return reference in answer

    def sample_statistics(self, sample: rageval.Sample) -> tuple[float, float]:
        if not isinstance(sample.prediction, str):
            raise rageval.InvalidSample("prediction must be a string")
        refs = [sample.references] if isinstance(sample.references, str) else sample.references
        if not isinstance(refs, list) or not refs or not all(isinstance(r, str) for r in refs):
            raise rageval.InvalidSample("references must be a non-empty list of strings")
        answer = self.normalise(sample.prediction)
        return float(any(self.contains(answer, self.normalise(ref)) for ref in refs)), 1.0

    def scores_from_totals(self, totals: np.ndarray) -> dict[str, float | None]:
        passed, count = (float(x) for x in totals)
        return {"": passed / count if count else None}


@rageval.hookimpl
def rageval_metrics() -> list[type[rageval.Metric]]:
    return [ContainsAnswer]
