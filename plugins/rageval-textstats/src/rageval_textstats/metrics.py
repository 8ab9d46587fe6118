"""Length ratio, lexical diversity and readability, each from additive per-sample statistics."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import Field

from rageval import InvalidSample, Metric, MetricInfo, MetricParams, Sample, ScoreSpec

WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
VOWEL_GROUP = re.compile(r"[aeiouy]+")


def words(text: str) -> list[str]:
    return WORD.findall(text)


def _text(sample: Sample, name: str) -> str:
    value = getattr(sample, name)
    if not isinstance(value, str):
        raise InvalidSample(f"{name} must be a string, got {'null' if value is None else type(value).__name__}")
    return value


def _references(sample: Sample) -> list[str]:
    refs = sample.references
    if isinstance(refs, str):
        refs = [refs]
    if not isinstance(refs, (list, tuple)) or not refs:
        raise InvalidSample("references must be a non-empty list of strings")
    if not all(isinstance(ref, str) for ref in refs):
        raise InvalidSample("references must hold strings only")
    return list(refs)


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


class LengthRatioParams(MetricParams):
    unit: Literal["words", "characters"] = Field("words", description="count words, or characters without spaces")
    reference: Literal["closest", "shortest", "longest"] = Field(
        "closest", description="which reference length counts when there are several (closest as in BLEU)"
    )


class LengthRatio(Metric):
    """Prediction length over reference length, summed over the corpus (as BLEU's length ratio).

    Statistics are ``(prediction length, reference length)``; a ratio above 1 means longer
    outputs than the references. ``.deviation`` is ``|ratio - 1|``, the one to rank systems by
    when the references' length is the target.
    """

    info = MetricInfo(
        name="length_ratio",
        description="Prediction length over reference length over the corpus; 1 is the references' length.",
        fields=("prediction", "references"),
        higher_is_better=False,
        libraries=("rageval-textstats",),
        params=LengthRatioParams,
        scores=(
            ScoreSpec("", False, "prediction length / reference length, totals over the corpus"),
            ScoreSpec("deviation", False, "|ratio - 1|: 0 when predictions are as long as the references"),
        ),
        examples=(
            {"prediction": "The train was late.", "references": ["The train was twenty minutes late."]},
            {"prediction": "Closed on Monday, the library is.", "references": ["The library is closed on Monday."]},
            {"prediction": "Yes.", "references": ["Yes, it is.", "Yes"]},
        ),
    )

    def length(self, text: str) -> int:
        if self.params.unit == "words":
            return len(words(text))
        return sum(1 for char in text if not char.isspace())

    def sample_statistics(self, sample: Sample) -> Sequence[float]:
        hyp = self.length(_text(sample, "prediction"))
        lengths = [self.length(ref) for ref in _references(sample)]
        if self.params.reference == "shortest":
            ref = min(lengths)
        elif self.params.reference == "longest":
            ref = max(lengths)
        else:
            ref = min(lengths, key=lambda n: (abs(n - hyp), n))
        return float(hyp), float(ref)

    def scores_from_totals(self, totals: np.ndarray) -> dict[str, float | None]:
        ratio = _ratio(float(totals[0]), float(totals[1]))
        return {"": ratio, "deviation": None if ratio is None else abs(ratio - 1.0)}


class DiversityParams(MetricParams):
    window: int = Field(50, ge=2, le=10_000, description="words per window of the moving-average type-token ratio")
    lowercase: bool = Field(True, description="count 'The' and 'the' as one type")


def moving_average_ttr(tokens: Sequence[str], window: int) -> float:
    """Mean type-token ratio over every window of ``window`` tokens (the whole text when shorter)."""
    if len(tokens) <= window:
        return len(set(tokens)) / len(tokens)
    counts: dict[str, int] = {}
    for token in tokens[:window]:
        counts[token] = counts.get(token, 0) + 1
    total = len(counts)
    for start in range(1, len(tokens) - window + 1):
        leaving, entering = tokens[start - 1], tokens[start + window - 1]
        counts[leaving] -= 1
        if not counts[leaving]:
            del counts[leaving]
        counts[entering] = counts.get(entering, 0) + 1
        total += len(counts)
    return total / ((len(tokens) - window + 1) * window)


class LexicalDiversity(Metric):
    """Moving-average type-token ratio (Covington and McFall 2010) and distinct bigrams, mean over predictions.

    Plain type-token ratio falls as texts grow longer; the moving average over fixed windows
    does not, so long and short answers compare. A prediction without words is undetermined.
    """

    info = MetricInfo(
        name="lexical_diversity",
        description="Moving-average type-token ratio of each prediction, mean over predictions (0-1).",
        fields=("prediction",),
        higher_is_better=True,
        libraries=("rageval-textstats",),
        params=DiversityParams,
        scores=(
            ScoreSpec("", True, "moving-average type-token ratio, mean over predictions with words"),
            ScoreSpec(
                "distinct_2", True, "distinct word bigrams over all bigrams, mean over predictions with two words"
            ),
        ),
        citation="Covington and McFall 2010 (MATTR); Li et al. 2016 (distinct-n)",
        examples=(
            {"prediction": "The cat sat on the mat and the cat slept."},
            {"prediction": "Paris is the capital of France."},
            {"prediction": "yes yes yes yes"},
        ),
    )

    def sample_statistics(self, sample: Sample) -> Sequence[float]:
        text = _text(sample, "prediction")
        tokens = words(text.lower() if self.params.lowercase else text)
        if not tokens:
            return 0.0, 0.0, 0.0, 0.0
        ttr = moving_average_ttr(tokens, self.params.window)
        bigrams = list(itertools.pairwise(tokens))
        if not bigrams:
            return ttr, 1.0, 0.0, 0.0
        return ttr, 1.0, len(set(bigrams)) / len(bigrams), 1.0

    def scores_from_totals(self, totals: np.ndarray) -> dict[str, float | None]:
        ttr, n_ttr, distinct, n_distinct = (float(x) for x in totals)
        return {"": _ratio(ttr, n_ttr), "distinct_2": _ratio(distinct, n_distinct)}


def syllables(word: str) -> int:
    """English syllables by vowel groups, less a silent final 'e'; at least one."""
    word = word.lower()
    count = len(VOWEL_GROUP.findall(word))
    if word.endswith("e") and not word.endswith(("le", "ee", "ye")) and count > 1:
        count -= 1
    return max(count, 1)


def sentence_count(text: str) -> int:
    pieces = [piece for piece in SENTENCE_END.split(text) if WORD.search(piece)]
    return max(len(pieces), 1)


class Readability(Metric):
    """Flesch reading ease and Flesch-Kincaid grade from corpus totals of sentences, words and syllables.

    English only: syllables are counted by a vowel-group rule, which is close on ordinary prose
    and rough on names and numbers. A prediction without words is undetermined.
    """

    info = MetricInfo(
        name="readability",
        description="Flesch reading ease of the predictions (English; higher is easier to read).",
        fields=("prediction",),
        higher_is_better=True,
        libraries=("rageval-textstats",),
        scores=(
            ScoreSpec("", True, "Flesch reading ease, 206.835 - 1.015 words/sentence - 84.6 syllables/word"),
            ScoreSpec("grade", False, "Flesch-Kincaid grade level, 0.39 words/sentence + 11.8 syllables/word - 15.59"),
        ),
        citation="Flesch 1948; Kincaid et al. 1975",
        examples=(
            {"prediction": "The cat sat on the mat. It was happy."},
            {"prediction": "Photosynthesis converts electromagnetic radiation into chemical energy."},
            {"prediction": "Yes! The store opens at nine."},
        ),
    )

    def sample_statistics(self, sample: Sample) -> Sequence[float]:
        text = _text(sample, "prediction")
        tokens = words(text)
        if not tokens:
            return 0.0, 0.0, 0.0
        return float(sentence_count(text)), float(len(tokens)), float(sum(syllables(t) for t in tokens))

    def scores_from_totals(self, totals: np.ndarray) -> dict[str, float | None]:
        sentences, n_words, n_syllables = (float(x) for x in totals)
        if not n_words:
            return {"": None, "grade": None}
        per_sentence, per_word = n_words / sentences, n_syllables / n_words
        return {
            "": 206.835 - 1.015 * per_sentence - 84.6 * per_word,
            "grade": 0.39 * per_sentence + 11.8 * per_word - 15.59,
        }
