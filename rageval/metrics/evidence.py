"""Checking claims against contexts: the scorers behind ``faithfulness`` and ``context_recall``.

Every scorer gives each claim a support probability in [0, 1] and the index of the context
that supports it best; a claim is supported when its probability reaches the metric's
threshold (0.5 by default). Scorers work on a whole batch at once, so each model sees every
claim and context of the batch in one deduplicated call.

- ``lexical``: the share of the claim's content words found in the contexts.
- ``embedding``: the claim's cosine similarity to the closest context sentence (or pair of
  adjacent sentences), through a logistic calibration.
- ``hybrid`` (default): sentence similarity, token alignment (the mean, over the claim's
  content tokens, of each token's best cosine match among the context tokens, like a
  BERTScore precision), the lexical share, and how much of the claim's span (the claim as
  written, with the chit-chat around it) is grounded, combined by a logistic model.
- ``nli``: the entailment probability of the claim given each context window, the maximum
  over windows.

The calibrations were fitted on the *_dev* files of BEGIN only (see docs/faithfulness.md
and benchmarks/faithfulness_quality.py, which refits and prints them).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rageval.metrics.claims import (
    FILLER_WORDS,
    STOPWORDS,
    Claim,
    content_tokens,
    extract_claims,
    normalise_token,
    split_sentences,
    tokens,
)


@dataclass(frozen=True)
class Calibration:
    """A logistic model: support probability = sigmoid(bias + sum(weight * feature))."""

    bias: float
    weights: tuple[float, ...]

    def probability(self, features: Sequence[float]) -> float:
        z = self.bias + sum(w * f for w, f in zip(self.weights, features))
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0


HYBRID_FEATURES = ("similarity", "alignment", "lexical", "span_grounding")
CALIBRATIONS: dict[str, Calibration] = {
    "lexical": Calibration(-4.655, (5.479,)),
    "embedding": Calibration(-3.647, (4.964,)),
    "hybrid": Calibration(-6.925, (0.984, 2.051, 1.003, 4.7)),
}
"""Fitted by ``benchmarks/faithfulness_quality.py --fit`` on begin_wow_dev and begin_cmudog_dev."""


@dataclass(frozen=True)
class ClaimCheck:
    """The verdict on one claim."""

    claim: str
    probability: float
    context: int | None
    supported: bool
    features: tuple[float, ...] = ()

    def as_detail(self) -> dict[str, Any]:
        return {
            "claim": self.claim,
            "context": self.context,
            "score": round(self.probability, 4),
            "supported": self.supported,
        }


@dataclass(frozen=True)
class Evidence:
    """One text's claims and the contexts they are checked against."""

    claims: list[Claim]
    contexts: list[str]

    @classmethod
    def of(cls, text: str, contexts: Sequence[str]) -> Evidence:
        return cls(extract_claims(text), list(contexts))


def vocabulary(texts: Sequence[str]) -> set[str]:
    return {normalise_token(t) for text in texts for t in tokens(text)}


def lexical_share(claim: str, vocab: set[str]) -> float:
    """Share of the claim's content tokens in ``vocab`` (1.0 when it has none)."""
    words = content_tokens(claim)
    if not words:
        return 1.0
    return sum(w in vocab for w in words) / len(words)


def span_grounding(span: str, vocab: set[str]) -> float:
    """Share of the span's non-function words, conversational filler included, found in the contexts.

    Ungrounded chit-chat around a claim ("that's cool, they are awesome") is weak evidence
    that the claim was not written from the contexts either; the weight comes from dev data.
    """
    words = [normalise_token(t) for t in tokens(span) if t not in STOPWORDS]
    if not words:
        return 1.0
    return sum(w in vocab for w in words) / len(words)


def context_units(context: str) -> list[str]:
    """The sentences of a context and each pair of adjacent sentences: what a claim is compared with."""
    sentences = split_sentences(context) or ([context] if context.strip() else [])
    pairs = [f"{a} {b}" for a, b in itertools.pairwise(sentences)]
    return sentences + pairs


def pack_windows(sentences: Sequence[str], lengths: Sequence[int], budget: int) -> list[str]:
    """Consecutive sentences joined into windows of at most ``budget`` tokens (a longer sentence alone)."""
    windows: list[str] = []
    current: list[str] = []
    used = 0
    for sentence, n in zip(sentences, lengths):
        if current and used + n > budget:
            windows.append(" ".join(current))
            current, used = [], 0
        current.append(sentence)
        used += n
    if current:
        windows.append(" ".join(current))
    return windows


def is_content_piece(piece: str) -> bool:
    """Whether a tokenizer piece ("##ing", "Ġthe", "▁Paris") carries content."""
    continuation = piece.startswith("##")
    word = piece.lstrip("#▁Ġ").lower()
    if not any(ch.isalnum() for ch in word):
        return False
    return continuation or (word not in STOPWORDS and word not in FILLER_WORDS)


Checker = Callable[[Sequence[Evidence]], list[list[ClaimCheck]]]


def _verdicts(
    evidence: Evidence, probabilities: Sequence[float], best: Sequence[int | None], threshold: float, features: Any
) -> list[ClaimCheck]:
    return [
        ClaimCheck(claim.text, float(p), ctx if evidence.contexts else None, bool(p >= threshold), tuple(map(float, f)))
        for claim, p, ctx, f in zip(evidence.claims, probabilities, best, features)
    ]


def check_lexical(batch: Sequence[Evidence], threshold: float) -> list[list[ClaimCheck]]:
    calibration = CALIBRATIONS["lexical"]
    results = []
    for item in batch:
        vocabs = [vocabulary([c]) for c in item.contexts]
        whole = set().union(*vocabs) if vocabs else set()
        features, best = [], []
        for claim in item.claims:
            features.append((lexical_share(claim.text, whole),))
            shares = [lexical_share(claim.text, v) for v in vocabs]
            best.append(int(np.argmax(shares)) if shares else None)
        probs = [calibration.probability(f) for f in features]
        results.append(_verdicts(item, probs, best, threshold, features))
    return results


class EmbeddingChecker:
    """The ``embedding`` and ``hybrid`` scorers over one shared embedding model."""

    def __init__(self, embedder: Any, batch_size: int, hybrid: bool) -> None:
        self.embedder = embedder
        self.batch_size = batch_size
        self.hybrid = hybrid
        self.calibration = CALIBRATIONS["hybrid" if hybrid else "embedding"]

    def _windows(self, context: str) -> list[str]:
        sentences = split_sentences(context) or [context]
        lengths = self.embedder.count_tokens(sentences)
        return pack_windows(sentences, lengths, self.embedder.max_length - 2)

    def __call__(self, batch: Sequence[Evidence], threshold: float) -> list[list[ClaimCheck]]:
        units = [[context_units(c) for c in item.contexts] for item in batch]
        texts = [claim.text for item in batch for claim in item.claims]
        texts += [u for sample in units for per_context in sample for u in per_context]
        vectors = dict(zip(texts, self.embedder.encode(texts, self.batch_size))) if texts else {}
        windows: list[list[str]] = []
        if self.hybrid:
            windows = [[w for c in item.contexts for w in self._windows(c)] for item in batch]
            flat = [c.text for item in batch for c in item.claims] + [w for ws in windows for w in ws]
            token_vectors = dict(zip(flat, self.embedder.encode_tokens(flat, self.batch_size))) if flat else {}
        results = []
        for position, item in enumerate(batch):
            if not item.claims:
                results.append([])
                continue
            claim_matrix = np.stack([vectors[c.text] for c in item.claims])
            best_sim = np.full(len(item.claims), -1.0)
            best_ctx: list[int | None] = [None] * len(item.claims)
            for index, per_context in enumerate(units[position]):
                if not per_context:
                    continue
                sims = (claim_matrix @ np.stack([vectors[u] for u in per_context]).T).max(axis=1)
                for k, value in enumerate(sims):
                    if value > best_sim[k]:
                        best_sim[k], best_ctx[k] = float(value), index
            best_sim = np.clip(best_sim, -1.0, 1.0)
            if not self.hybrid:
                features = [(s,) for s in best_sim]
            else:
                vocab = vocabulary(item.contexts)
                context_tokens = [token_vectors[w].vectors for w in windows[position]]
                context_matrix = np.concatenate(context_tokens) if context_tokens else None
                features = []
                for k, claim in enumerate(item.claims):
                    alignment = _alignment(token_vectors[claim.text], context_matrix)
                    lexical = lexical_share(claim.text, vocab)
                    features.append((best_sim[k], alignment, lexical, span_grounding(claim.span, vocab)))
            probs = [self.calibration.probability(f) for f in features]
            results.append(_verdicts(item, probs, best_ctx, threshold, features))
        return results


def _alignment(claim: Any, context_matrix: np.ndarray | None) -> float:
    """Mean over the claim's content tokens of the best cosine with any context token."""
    if context_matrix is None or not len(context_matrix):
        return 0.0
    keep = [i for i, piece in enumerate(claim.pieces) if is_content_piece(piece)]
    if not keep:
        keep = list(range(len(claim.pieces)))
    if not keep:
        return 1.0
    return float((claim.vectors[keep] @ context_matrix.T).max(axis=1).mean())


class NLIChecker:
    """The ``nli`` scorer: max entailment probability over context windows that fit the model."""

    def __init__(self, nli: Any, batch_size: int) -> None:
        self.nli = nli
        self.batch_size = batch_size

    def __call__(self, batch: Sequence[Evidence], threshold: float) -> list[list[ClaimCheck]]:
        pairs: list[tuple[str, str]] = []
        plan: list[list[list[tuple[int, int]]]] = []
        for item in batch:
            claim_texts = [c.text for c in item.claims]
            claim_lengths = self.nli.count_tokens(claim_texts) if claim_texts else []
            per_claim = []
            for claim, claim_len in zip(claim_texts, claim_lengths):
                budget = max(self.nli.max_length - self.nli.pair_overhead - claim_len, 16)
                spans = []
                for index, context in enumerate(item.contexts):
                    sentences = split_sentences(context) or [context]
                    lengths = self.nli.count_tokens(sentences)
                    for window in _overlapping(sentences, lengths, budget):
                        spans.append((index, len(pairs)))
                        pairs.append((window, claim))
                per_claim.append(spans)
            plan.append(per_claim)
        probs = self.nli.entailment_probability(pairs, self.batch_size) if pairs else np.zeros(0)
        results = []
        for item, per_claim in zip(batch, plan):
            claim_probs, best = [], []
            for spans in per_claim:
                if not spans:
                    claim_probs.append(0.0)
                    best.append(None)
                    continue
                index, pair = max(spans, key=lambda s: (probs[s[1]], -s[1]))
                claim_probs.append(float(probs[pair]))
                best.append(index)
            results.append(_verdicts(item, claim_probs, best, threshold, [(p,) for p in claim_probs]))
        return results


def _overlapping(sentences: Sequence[str], lengths: Sequence[int], budget: int) -> list[str]:
    """Windows of whole sentences within ``budget`` tokens, each starting one window's half later.

    Overlap keeps a claim that straddles two windows whole in at least one of them.
    """
    if sum(lengths) <= budget:
        return [" ".join(sentences)]
    windows, start = [], 0
    while start < len(sentences):
        end, used = start, 0
        while end < len(sentences) and (end == start or used + lengths[end] <= budget):
            used += lengths[end]
            end += 1
        windows.append(" ".join(sentences[start:end]))
        if end >= len(sentences):
            break
        start = max(start + 1, (start + end) // 2)
    return windows
