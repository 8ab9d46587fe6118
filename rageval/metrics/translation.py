"""BLEU, chrF and TER through sacrebleu, as sufficient statistics.

Each sample's statistics are sacrebleu's own segment vector, so the corpus score from the
summed vectors is exactly ``corpus_bleu`` / ``corpus_chrf`` / ``corpus_ter``. A sample may
have any number of references (one or more), varying across samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any, Literal

import numpy as np
from pydantic import Field

from rageval.hookspecs import hookimpl
from rageval.metric import (
    Failed,
    Metric,
    MetricInfo,
    MetricParams,
    Outcome,
    Scored,
    distribution_version,
)
from rageval.sample import InvalidSample, Sample, references_field, text_field

BleuTokenizer = Literal["none", "zh", "13a", "char", "intl", "ja-mecab", "ko-mecab", "spm", "flores101", "flores200"]


class SacrebleuMetric(Metric):
    """Shared path of the sacrebleu metrics: batch statistics, score from totals, signature."""

    def _scorer(self, **overrides: Any) -> Any:
        raise NotImplementedError

    @cached_property
    def scorer(self) -> Any:
        return self._scorer()

    @cached_property
    def sentence_scorer(self) -> Any:
        return self.scorer

    def score_batch(self, samples: Sequence[Sample]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(samples)
        valid: list[int] = []
        hyps: list[str] = []
        refs: list[list[str]] = []
        for position, sample in enumerate(samples):
            try:
                hyp = text_field(sample, "prediction")
                sample_refs = references_field(sample)
            except InvalidSample as reason:
                outcomes[position] = Failed(str(reason))
                continue
            valid.append(position)
            hyps.append(hyp)
            refs.append(sample_refs)
        if valid:
            width = max(len(r) for r in refs)
            streams = [[r[k] if k < len(r) else None for r in refs] for k in range(width)]
            stats = self.scorer._extract_corpus_statistics(hyps, streams)
            for position, row in zip(valid, stats):
                outcomes[position] = Scored(tuple(float(x) for x in row))
        return outcomes  # type: ignore[return-value]

    def scores_from_totals(self, totals: np.ndarray) -> dict[str, float | None]:
        return {"": float(self.scorer._compute_score_from_stats(totals).score)}

    def sample_scores(self, stats: np.ndarray) -> dict[str, float | None]:
        return {"": float(self.sentence_scorer._compute_score_from_stats(stats).score)}

    def _sacrebleu_signature(self) -> str:
        scorer = self._scorer()
        scorer.num_refs = 1
        fields = scorer.get_signature().format().split("|")
        return "|".join(f for f in fields if not f.startswith(("nrefs:", "version:")))

    def signature(self) -> str:
        return (
            f"{self.info.name}|{self._sacrebleu_signature()}"
            f"|sacrebleu:{distribution_version('sacrebleu')}|rageval:{distribution_version('rageval')}"
        )


class BleuParams(MetricParams):
    tokenize: BleuTokenizer = Field("13a", description="sacrebleu tokenizer")
    lowercase: bool = Field(False, description="lowercase before tokenizing")
    smooth_method: Literal["exp", "floor", "add-k", "none"] = Field(
        "exp", description="smoothing of zero n-gram counts"
    )
    smooth_value: float | None = Field(
        None, description="value for floor or add-k smoothing (sacrebleu's default if unset)"
    )
    max_ngram_order: int = Field(4, ge=1, le=9, description="highest n-gram order")
    effective_order: bool = Field(
        False, description="corpus score over matched orders only (per-sample scores always use it)"
    )


class Bleu(SacrebleuMetric):
    info = MetricInfo(
        name="bleu",
        description="Corpus BLEU (sacrebleu), 0-100; per-sample scores are sentence BLEU.",
        fields=("prediction", "references"),
        higher_is_better=True,
        params=BleuParams,
        libraries=("sacrebleu",),
        citation="Papineni et al. 2002; Post 2018 (sacrebleu)",
    )

    def _scorer(self, **overrides: Any) -> Any:
        from sacrebleu.metrics import BLEU

        p = self.params.model_dump()
        p.update(overrides)
        return BLEU(
            tokenize=p["tokenize"],
            lowercase=p["lowercase"],
            smooth_method=p["smooth_method"],
            smooth_value=p["smooth_value"],
            max_ngram_order=p["max_ngram_order"],
            effective_order=p["effective_order"],
            force=True,
        )

    @cached_property
    def sentence_scorer(self) -> Any:
        return self._scorer(effective_order=True)


class ChrfParams(MetricParams):
    char_order: int = Field(6, ge=1, le=12, description="character n-gram order")
    word_order: int = Field(0, ge=0, le=6, description="word n-gram order (2 gives chrF++)")
    beta: int = Field(2, ge=1, description="recall weight")
    lowercase: bool = Field(False, description="lowercase first")
    whitespace: bool = Field(False, description="keep whitespace in character n-grams")
    eps_smoothing: bool = Field(False, description="epsilon smoothing as chrF++.py does (sacrebleu's default is off)")


class Chrf(SacrebleuMetric):
    info = MetricInfo(
        name="chrf",
        description="Corpus chrF / chrF++ (sacrebleu), 0-100.",
        fields=("prediction", "references"),
        higher_is_better=True,
        params=ChrfParams,
        libraries=("sacrebleu",),
        citation="Popović 2015, 2017",
    )

    def _scorer(self, **overrides: Any) -> Any:
        from sacrebleu.metrics import CHRF

        return CHRF(**self.params.model_dump())


class TerParams(MetricParams):
    normalized: bool = Field(False, description="tercom normalisation of punctuation and numbers")
    no_punct: bool = Field(False, description="remove punctuation")
    asian_support: bool = Field(False, description="split Asian characters")
    case_sensitive: bool = Field(False, description="compare case-sensitively")


class Ter(SacrebleuMetric):
    info = MetricInfo(
        name="ter",
        description="Corpus translation edit rate (sacrebleu), 0-100 and more; lower is better.",
        fields=("prediction", "references"),
        higher_is_better=False,
        params=TerParams,
        libraries=("sacrebleu",),
        citation="Snover et al. 2006",
    )

    def _scorer(self, **overrides: Any) -> Any:
        from sacrebleu.metrics import TER

        return TER(**self.params.model_dump())


@hookimpl
def rageval_metrics() -> list[type[Metric]]:
    return [Bleu, Chrf, Ter]
