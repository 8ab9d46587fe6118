"""Text overlap with references: ROUGE (through rouge-score), SQuAD exact match and token F1.

All three take the best reference per sample and report fractions in [0, 1] (the SQuAD
script prints 100 times these). Their corpus value is the mean of per-sample scores: what the
SQuAD script reports and what rouge-score's ``BootstrapAggregator`` estimates (its ``mid``
is a bootstrap estimate of that mean). Each sample contributes its score and a count of one,
so the statistics add and the corpus value is their ratio.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from functools import cached_property
from typing import Any

import numpy as np
from pydantic import Field

from rageval.hookspecs import hookimpl
from rageval.metric import Metric, MetricInfo, MetricParams, ScoreSpec
from rageval.sample import Sample, references_field, text_field

ROUGE_TYPES: tuple[str, ...] = ("rouge1", "rouge2", "rougeL", "rougeLsum")


def _has_non_ascii_word_characters(text: str) -> bool:
    return any(ord(ch) > 127 and ch.isalnum() for ch in text)


class RougeParams(MetricParams):
    use_stemmer: bool = Field(False, description="Porter-stem words longer than 3 letters (rouge-score's option)")


class Rouge(Metric):
    """ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum F-measures, each from the best reference.

    All four are always reported (``rouge.rouge1`` and so on): they come from one tokenisation,
    and a score list that changed with a parameter would make reports of two runs disagree on
    their columns. As in rouge-score's ``score_multi``, the best reference is chosen per ROUGE
    type by F-measure. ROUGE-Lsum splits summaries into sentences at newlines.

    rouge-score's tokenizer keeps only ASCII letters and digits, so accented or non-Latin text
    loses words; samples with such characters are counted and reported as a warning.
    """

    info = MetricInfo(
        name="rouge",
        description="ROUGE-1/2/L/Lsum F-measure (rouge-score), best reference per sample, mean over samples.",
        fields=("prediction", "references"),
        higher_is_better=True,
        params=RougeParams,
        scores=tuple(ScoreSpec(key, True, f"{key} F-measure") for key in ROUGE_TYPES),
        libraries=("rouge-score",),
        citation="Lin 2004",
    )

    @cached_property
    def scorer(self) -> Any:
        from rouge_score.rouge_scorer import RougeScorer

        return RougeScorer(list(ROUGE_TYPES), use_stemmer=self.params.use_stemmer)

    def sample_statistics(self, sample: Sample) -> tuple[float, ...]:
        prediction = text_field(sample, "prediction")
        references = references_field(sample)
        best = self.scorer.score_multi(references, prediction)
        non_ascii = any(_has_non_ascii_word_characters(text) for text in (prediction, *references))
        return (1.0, *(float(best[key].fmeasure) for key in ROUGE_TYPES), float(non_ascii))

    def scores_from_totals(self, totals: np.ndarray) -> dict[str, float | None]:
        count = float(totals[0])
        if count == 0:
            return dict.fromkeys(ROUGE_TYPES)
        return {key: float(totals[1 + position]) / count for position, key in enumerate(ROUGE_TYPES)}

    def corpus_details(self, stats: np.ndarray) -> dict[str, Any]:
        affected = int(stats[:, -1].astype(float).sum())
        if not affected:
            return {}
        return {
            "samples_with_non_ascii_letters": affected,
            "warnings": [
                f"{affected} of {stats.shape[0]} samples contain non-ASCII letters or digits, which rouge-score's "
                "tokenizer drops; ROUGE on text that is not English undercounts matches"
            ],
        }


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)


def squad_normalise(text: str) -> str:
    """SQuAD v1.1 answer normalisation: lowercase, drop ASCII punctuation and English articles, fold spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


class AnswerParams(MetricParams):
    normalize: bool = Field(
        True,
        description="SQuAD normalisation (lowercase, no punctuation or articles, single spaces); "
        "off compares raw text split at whitespace",
    )


class AnswerOverlapMetric(Metric):
    """Shared path: the best score over references, a count of one, the mean over samples."""

    def prepare(self, text: str) -> str:
        return squad_normalise(text) if self.params.normalize else text

    def against(self, prediction: str, reference: str) -> float:
        raise NotImplementedError

    def sample_statistics(self, sample: Sample) -> tuple[float, float]:
        prediction = self.prepare(text_field(sample, "prediction"))
        references = [self.prepare(ref) for ref in references_field(sample)]
        return max(self.against(prediction, ref) for ref in references), 1.0

    def scores_from_totals(self, totals: np.ndarray) -> dict[str, float | None]:
        total, count = (float(x) for x in totals)
        return {"": total / count if count else None}


class ExactMatch(AnswerOverlapMetric):
    info = MetricInfo(
        name="exact_match",
        description="Share of answers equal to a reference after SQuAD normalisation, a fraction.",
        fields=("prediction", "references"),
        higher_is_better=True,
        params=AnswerParams,
        citation="Rajpurkar et al. 2016 (SQuAD v1.1 evaluation)",
    )

    def against(self, prediction: str, reference: str) -> float:
        return float(prediction == reference)


class TokenF1(AnswerOverlapMetric):
    """SQuAD v1.1 token F1: no shared token gives 0, including an empty answer to an empty reference.

    (SQuAD v2.0's script instead scores two empty token lists as 1, for unanswerable questions.)
    """

    info = MetricInfo(
        name="token_f1",
        description="Bag-of-tokens F1 of answer and best reference after SQuAD normalisation, mean over samples.",
        fields=("prediction", "references"),
        higher_is_better=True,
        params=AnswerParams,
        citation="Rajpurkar et al. 2016 (SQuAD v1.1 evaluation)",
    )

    def against(self, prediction: str, reference: str) -> float:
        predicted, expected = prediction.split(), reference.split()
        shared = sum((Counter(predicted) & Counter(expected)).values())
        if shared == 0:
            return 0.0
        precision, recall = shared / len(predicted), shared / len(expected)
        return 2 * precision * recall / (precision + recall)


@hookimpl
def rageval_metrics() -> list[type[Metric]]:
    return [Rouge, ExactMatch, TokenF1]
