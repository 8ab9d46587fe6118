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
from rageval.metrics.ngram_counts import char_ngram_statistics, word_ngram_statistics
from rageval.sample import InvalidSample, Sample, references_field, text_field

LOG_OF_ZERO = -9999999999.0
"""What sacrebleu's ``my_log`` gives for a zero precision."""


def bleu_scores(
    stats: np.ndarray,
    max_ngram_order: int = 4,
    smooth_method: str = "exp",
    smooth_value: float | None = None,
    effective_order: bool = True,
) -> np.ndarray:
    """BLEU of every row of sacrebleu's statistics ``[hyp_len, ref_len, correct..., total...]`` at once.

    The same arithmetic, in the same order, as sacrebleu's ``BLEU.compute_bleu`` on each row, so
    sentence BLEU for a whole batch costs a few array operations instead of one Python call per row.
    """
    stats = np.asarray(stats, dtype=np.float64).reshape(-1, 2 + 2 * max_ngram_order)
    if smooth_value is None:
        from sacrebleu.metrics import BLEU

        smooth_value = BLEU.SMOOTH_DEFAULTS[smooth_method]
    sys_len, ref_len = stats[:, 0], stats[:, 1]
    correct = stats[:, 2 : 2 + max_ngram_order].copy()
    total = stats[:, 2 + max_ngram_order : 2 + 2 * max_ngram_order].copy()
    matched_any = (correct != 0).any(axis=1)
    if smooth_method == "add-k":
        correct[:, 1:] += smooth_value
        total[:, 1:] += smooth_value
    reached = np.cumprod(total != 0, axis=1).astype(bool)
    orders = reached.sum(axis=1) if effective_order else np.full(len(stats), max_ngram_order)
    with np.errstate(divide="ignore", invalid="ignore"):
        short = sys_len < ref_len
        brevity = np.where(short, np.where(sys_len > 0, np.exp(1 - ref_len / np.where(short, sys_len, 1)), 0.0), 1.0)
        missed = reached & (correct == 0)
        precisions = np.where(reached & ~missed, 100.0 * correct / total, 0.0)
        if smooth_method == "exp":
            halvings = np.cumsum(missed, axis=1)
            precisions = np.where(missed, 100.0 / (np.exp2(halvings) * total), precisions)
        elif smooth_method == "floor":
            precisions = np.where(missed, 100.0 * smooth_value / total, precisions)
        logs = np.where(precisions == 0.0, LOG_OF_ZERO, np.log(np.where(precisions == 0.0, 1.0, precisions)))
    summed = np.zeros(len(stats))
    for n in range(max_ngram_order):
        summed = summed + np.where(n < orders, logs[:, n], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = brevity * np.exp(summed / np.maximum(orders, 1))
    return np.where(matched_any, scores, 0.0)


def chrf_scores(stats: np.ndarray, order: int, beta: int = 2, eps_smoothing: bool = False) -> np.ndarray:
    """chrF of every row of sacrebleu's statistics ``[hyp, ref, match] * order``, as ``CHRF._compute_f_score``."""
    stats = np.asarray(stats, dtype=np.float64).reshape(-1, 3 * order)
    eps = 1e-16
    factor = beta**2
    rows = len(stats)
    score = np.zeros(rows)
    avg_prec, avg_rec = np.zeros(rows), np.zeros(rows)
    effective = np.zeros(rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(order):
            n_hyp, n_ref, n_match = stats[:, 3 * i], stats[:, 3 * i + 1], stats[:, 3 * i + 2]
            prec = np.where(n_hyp > 0, n_match / n_hyp, eps)
            rec = np.where(n_ref > 0, n_match / n_ref, eps)
            denom = factor * prec + rec
            score = score + np.where(denom > 0, (1 + factor) * prec * rec / denom, eps)
            both = (n_hyp > 0) & (n_ref > 0)
            avg_prec = avg_prec + np.where(both, prec, 0.0)
            avg_rec = avg_rec + np.where(both, rec, 0.0)
            effective = effective + both
        if eps_smoothing:
            return 100 * score / order
        avg_prec = np.where(effective > 0, avg_prec / effective, 0.0)
        avg_rec = np.where(effective > 0, avg_rec / effective, 0.0)
        f_score = (1 + factor) * avg_prec * avg_rec
        f_score = f_score / ((factor * avg_prec) + avg_rec)
        return np.where(avg_prec + avg_rec != 0, 100 * f_score, 0.0)


def ter_scores(stats: np.ndarray) -> np.ndarray:
    """TER of every row of ``[edits, reference length]``, as ``TER._compute_score_from_stats``."""
    stats = np.asarray(stats, dtype=np.float64).reshape(-1, 2)
    edits, ref_len = stats[:, 0], stats[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(ref_len > 0, edits / ref_len, np.where(edits > 0, 1.0, 0.0))
    return 100 * rate


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
            stats = np.asarray(self._statistics(hyps, streams), dtype=np.float64).reshape(len(hyps), -1)
            for position, row in zip(valid, stats.tolist()):
                outcomes[position] = Scored(tuple(row))
        return outcomes  # type: ignore[return-value]

    def _statistics(self, hyps: list[str], streams: list[list[str | None]]) -> Any:
        """sacrebleu's segment statistics of each hypothesis against its references (``None`` for none)."""
        return self.scorer._extract_corpus_statistics(hyps, streams)

    def scores_from_totals(self, totals: np.ndarray) -> dict[str, float | None]:
        return {"": float(self.scorer._compute_score_from_stats(np.array(totals, dtype=np.float64)).score)}

    def sentence_scores(self, stats: np.ndarray) -> np.ndarray:
        """The per-sample score of every row of ``stats``."""
        raise NotImplementedError

    def sample_scores_many(self, stats: np.ndarray) -> dict[str, np.ndarray]:
        """Per-sample scores of all rows of ``stats`` in one pass; row ``i`` equals ``sample_scores(stats[i])``."""
        return {"": self.sentence_scores(stats)}

    def sample_scores(self, stats: np.ndarray) -> dict[str, float | None]:
        return {"": float(self.sentence_scores(stats)[0])}

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

    def sentence_scores(self, stats: np.ndarray) -> np.ndarray:
        scorer = self.sentence_scorer
        return bleu_scores(stats, scorer.max_ngram_order, scorer.smooth_method, scorer.smooth_value, True)

    def _statistics(self, hyps: list[str], streams: list[list[str | None]]) -> Any:
        """Word n-grams counted for the whole batch at once (:mod:`rageval.metrics.ngram_counts`).

        Texts are tokenised by sacrebleu's own tokeniser; the counts are the same integers as its.
        """
        preprocess = self.scorer._preprocess_segment
        tokenised = [[preprocess(ref) if ref is not None else None for ref in stream] for stream in streams]
        stats = word_ngram_statistics([preprocess(hyp) for hyp in hyps], tokenised, self.params.max_ngram_order)
        return stats if stats is not None else super()._statistics(hyps, streams)


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

    def sentence_scores(self, stats: np.ndarray) -> np.ndarray:
        p = self.params
        return chrf_scores(stats, p.char_order + p.word_order, p.beta, p.eps_smoothing)

    def _statistics(self, hyps: list[str], streams: list[list[str | None]]) -> Any:
        """Character n-grams counted for the whole batch at once (:mod:`rageval.metrics.ngram_counts`).

        The same integers as sacrebleu's; with several references, each sample keeps the statistics
        of the reference sacrebleu picks (the first with the highest chrF).
        """
        p = self.params

        def characters(text: str) -> str:
            text = text.lower() if p.lowercase else text
            return text if p.whitespace else "".join(text.split())

        hyp_chars = [characters(hyp) for hyp in hyps]
        per_stream = []
        for stream in streams:
            refs = [characters(ref) if ref is not None else "" for ref in stream]
            stats = char_ngram_statistics(hyp_chars, refs, p.char_order)
            if stats is None:
                return super()._statistics(hyps, streams)
            if p.word_order:
                stats = np.hstack([stats, self._word_statistics(hyps, stream)])
            per_stream.append(stats)
        best = per_stream[0].copy()
        for i in range(len(hyps) if len(streams) > 1 else 0):
            best_f = -1.0
            for stream, stats in zip(streams, per_stream):
                if stream[i] is not None:
                    f_score = self.scorer._compute_f_score(stats[i].tolist())
                    if f_score > best_f:
                        best_f, best[i] = f_score, stats[i]
        return best

    def _word_statistics(self, hyps: list[str], refs: list[str | None]) -> np.ndarray:
        """chrF++'s word n-gram statistics, with sacrebleu's own tokenisation and counting."""
        from sacrebleu.metrics.helpers import extract_word_ngrams

        scorer = self.scorer
        order = self.params.word_order
        rows = []
        for hyp, ref in zip(hyps, refs):
            hyp_words = scorer._remove_punctuation(scorer._preprocess_segment(hyp))
            ref_words = scorer._remove_punctuation(scorer._preprocess_segment(ref)) if ref is not None else []
            row: list[int] = []
            for n in range(1, order + 1):
                row += scorer._get_match_statistics(
                    extract_word_ngrams(hyp_words, n), extract_word_ngrams(ref_words, n)
                )
            rows.append(row)
        return np.array(rows, dtype=np.int64).reshape(len(hyps), 3 * order)


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

    def sentence_scores(self, stats: np.ndarray) -> np.ndarray:
        return ter_scores(stats)


@hookimpl
def rageval_metrics() -> list[type[Metric]]:
    return [Bleu, Chrf, Ter]
