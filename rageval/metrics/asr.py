"""WER, CER, MER and WIL through jiwer, as edit counts.

Each sample's statistics are its alignment counts (substitutions, deletions, insertions,
hits). Corpus scores come from the summed counts, which is what jiwer computes over a list
of pairs: total edits over total reference words, not a mean of per-sample rates. Reference
and hypothesis lengths follow from the counts (ref = H+S+D, hyp = H+S+I).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from rageval.hookspecs import hookimpl
from rageval.metric import Failed, Metric, MetricInfo, MetricParams, Outcome, Scored
from rageval.sample import InvalidSample, Sample, single_reference, text_field


class TextNormalisation(MetricParams):
    lowercase: bool = Field(False, description="lowercase reference and hypothesis")
    remove_punctuation: bool = Field(False, description="remove punctuation (jiwer.RemovePunctuation)")
    expand_contractions: bool = Field(False, description="expand common English contractions")
    remove_kaldi_non_words: bool = Field(False, description="remove Kaldi non-words such as <unk> and [laugh]")


class EditRateMetric(Metric):
    """Shared path: jiwer alignment per batch, counts per sample, rates from summed counts."""

    unit: ClassVar[str] = "words"

    @cached_property
    def transform(self) -> Any:
        import jiwer

        p = self.params
        steps: list[Any] = []
        if p.lowercase:
            steps.append(jiwer.ToLowerCase())
        if p.expand_contractions:
            steps.append(jiwer.ExpandCommonEnglishContractions())
        if p.remove_kaldi_non_words:
            steps.append(jiwer.RemoveKaldiNonWords())
        if p.remove_punctuation:
            steps.append(jiwer.RemovePunctuation())
        if self.unit == "words":
            steps += [jiwer.RemoveMultipleSpaces(), jiwer.Strip(), jiwer.ReduceToListOfListOfWords()]
        else:
            steps += [jiwer.Strip(), jiwer.ReduceToListOfListOfChars()]
        return jiwer.Compose(steps)

    def score_batch(self, samples: Sequence[Sample]) -> list[Outcome]:
        import jiwer

        outcomes: list[Outcome | None] = [None] * len(samples)
        valid: list[int] = []
        refs: list[str] = []
        hyps: list[str] = []
        for position, sample in enumerate(samples):
            try:
                hyp = text_field(sample, "prediction")
                ref = single_reference(sample)
            except InvalidSample as reason:
                outcomes[position] = Failed(str(reason))
                continue
            valid.append(position)
            refs.append(ref)
            hyps.append(hyp)
        if valid:
            output = jiwer.process_words(refs, hyps, self.transform, self.transform)
            for position, chunks in zip(valid, output.alignments):
                counts = {"equal": 0, "substitute": 0, "delete": 0, "insert": 0}
                for chunk in chunks:
                    span = (
                        chunk.hyp_end_idx - chunk.hyp_start_idx
                        if chunk.type == "insert"
                        else chunk.ref_end_idx - chunk.ref_start_idx
                    )
                    counts[chunk.type] += span
                stats = (counts["substitute"], counts["delete"], counts["insert"], counts["equal"])
                outcomes[position] = Scored(tuple(float(x) for x in stats))
        return outcomes  # type: ignore[return-value]

    def scores_from_totals(self, totals: np.ndarray) -> dict[str, float | None]:
        return {"": float(self.sample_scores_many(np.asarray(totals, dtype=np.float64))[""][0])}

    def sample_scores(self, stats: np.ndarray) -> dict[str, float | None]:
        return self.scores_from_totals(stats)

    def sample_scores_many(self, stats: np.ndarray) -> dict[str, np.ndarray]:
        """Per-sample rates of all rows of ``stats`` in one pass; row ``i`` equals ``sample_scores(stats[i])``."""
        s, d, i, h = np.asarray(stats, dtype=np.float64).reshape(-1, 4).T
        with np.errstate(divide="ignore", invalid="ignore"):
            return {"": self.rates(s, d, i, h)}

    def rates(self, s: np.ndarray, d: np.ndarray, i: np.ndarray, h: np.ndarray) -> np.ndarray:
        """The rate of each sample from its substitution, deletion, insertion and hit counts."""
        raise NotImplementedError


class Wer(EditRateMetric):
    info = MetricInfo(
        name="wer",
        description="Word error rate (jiwer): (S+D+I)/(S+D+H) over the corpus, a fraction.",
        fields=("prediction", "references"),
        higher_is_better=False,
        params=TextNormalisation,
        libraries=("jiwer",),
    )

    def rates(self, s: np.ndarray, d: np.ndarray, i: np.ndarray, h: np.ndarray) -> np.ndarray:
        ref_len = s + d + h
        return np.where(ref_len == 0, i, (s + d + i) / ref_len)


class Cer(Wer):
    unit = "chars"
    info = MetricInfo(
        name="cer",
        description="Character error rate (jiwer), a fraction.",
        fields=("prediction", "references"),
        higher_is_better=False,
        params=TextNormalisation,
        libraries=("jiwer",),
    )


class Mer(EditRateMetric):
    info = MetricInfo(
        name="mer",
        description="Match error rate (jiwer): (S+D+I)/(S+D+I+H), a fraction.",
        fields=("prediction", "references"),
        higher_is_better=False,
        params=TextNormalisation,
        libraries=("jiwer",),
        citation="Morris et al. 2004",
    )

    def rates(self, s: np.ndarray, d: np.ndarray, i: np.ndarray, h: np.ndarray) -> np.ndarray:
        empty = np.where(h + s + i == 0, 0.0, 1.0)
        return np.where(s + d + h == 0, empty, (s + d + i) / (s + d + i + h))


class Wil(EditRateMetric):
    info = MetricInfo(
        name="wil",
        description="Word information lost (jiwer): 1 - H^2/(ref words * hyp words), a fraction.",
        fields=("prediction", "references"),
        higher_is_better=False,
        params=TextNormalisation,
        libraries=("jiwer",),
        citation="Morris et al. 2004",
    )

    def rates(self, s: np.ndarray, d: np.ndarray, i: np.ndarray, h: np.ndarray) -> np.ndarray:
        ref_len, hyp_len = s + d + h, h + s + i
        lost = np.where(hyp_len == 0, 1.0, 1.0 - (h / ref_len) * (h / hyp_len))
        return np.where(ref_len == 0, np.where(hyp_len == 0, 0.0, 1.0), lost)


@hookimpl
def rageval_metrics() -> list[type[Metric]]:
    return [Wer, Cer, Mer, Wil]
