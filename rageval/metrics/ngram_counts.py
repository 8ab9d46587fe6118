"""N-gram match counts of a whole batch at once, equal to sacrebleu's chrF and BLEU statistics.

sacrebleu builds one ``Counter`` per text and n-gram order and intersects them in Python, which is
most of the cost of chrF and of BLEU after tokenisation. Here every text of a batch becomes one
array of character (or token) ids; the n-grams of each order are integers (``id[p] * base**(n-1) +
... + id[p+n-1]``, offset by the index of the hypothesis the text belongs to), counted with
``np.unique`` and matched with ``np.intersect1d``. The counts are the same integers sacrebleu
computes. A batch whose keys would not fit in 63 bits (a very large alphabet or vocabulary) or
whose text cannot be encoded (a lone surrogate) is left to sacrebleu: the functions return ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

KEY_LIMIT = 2**62


def _characters(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The code points of all ``texts`` end to end, and each text's length."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    return np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32), lengths


def _ngram_keys(ids: np.ndarray, lengths: np.ndarray, order: int, base: int) -> list[np.ndarray]:
    """Per order 1..``order``: the key of every n-gram that lies inside one text, tagged with that text's index."""
    pair = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    end = np.repeat(np.cumsum(lengths), lengths)
    position = np.arange(len(ids), dtype=np.int64)
    key = np.zeros(len(ids), dtype=np.int64)
    keys = []
    for n in range(1, order + 1):
        count = max(len(ids) - n + 1, 0)
        key = key[:count] * base + ids[n - 1 : n - 1 + count]
        inside = position[:count] + n <= end[:count]
        keys.append(pair[:count][inside] * base**n + key[inside])
    return keys


def char_ngram_statistics(hypotheses: Sequence[str], references: Sequence[str], order: int) -> np.ndarray | None:
    """``[hyp, ref, match]`` counts per order 1..``order`` of each (hypothesis, reference) pair.

    Texts come prepared as sacrebleu's chrF sees them (lowercased, whitespace removed, as its
    settings say). A hypothesis counts no n-grams of an order its reference is too short for,
    as in ``CHRF._get_match_statistics``.
    """
    pairs = len(hypotheses)
    try:
        hyp_chars, hyp_lengths = _characters(hypotheses)
        ref_chars, ref_lengths = _characters(references)
    except UnicodeEncodeError:
        return None
    alphabet, ids = np.unique(np.concatenate([hyp_chars, ref_chars]), return_inverse=True)
    base = max(len(alphabet), 1)
    if base**order * max(pairs, 1) >= KEY_LIMIT:
        return None
    ids = ids.reshape(-1).astype(np.int64)
    hyp_keys = _ngram_keys(ids[: len(hyp_chars)], hyp_lengths, order, base)
    ref_keys = _ngram_keys(ids[len(hyp_chars) :], ref_lengths, order, base)
    stats = np.zeros((pairs, 3 * order), dtype=np.int64)
    for n in range(1, order + 1):
        hyp_unique, hyp_counts = np.unique(hyp_keys[n - 1], return_counts=True)
        ref_unique, ref_counts = np.unique(ref_keys[n - 1], return_counts=True)
        shared, in_hyp, in_ref = np.intersect1d(hyp_unique, ref_unique, assume_unique=True, return_indices=True)
        matched = np.minimum(hyp_counts[in_hyp], ref_counts[in_ref])
        matches = np.bincount(shared // base**n, weights=matched, minlength=pairs)
        ref_total = np.maximum(ref_lengths - n + 1, 0)
        stats[:, 3 * n - 3] = np.where(ref_total > 0, np.maximum(hyp_lengths - n + 1, 0), 0)
        stats[:, 3 * n - 2] = ref_total
        stats[:, 3 * n - 1] = np.rint(matches).astype(np.int64)
    return stats


def _token_keys(tokens: list[list[int]], order: int, base: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Per order: the key of each text's word n-grams, tagged with the text's index; and each text's length."""
    lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    flat = np.fromiter((token for text in tokens for token in text), dtype=np.int64, count=int(lengths.sum()))
    return _ngram_keys(flat, lengths, order, base), lengths


def _largest_counts(keys_per_reference: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each n-gram key with its largest count in any one reference."""
    counted = [np.unique(keys, return_counts=True) for keys in keys_per_reference]
    if len(counted) == 1:
        return counted[0]
    unique, inverse = np.unique(np.concatenate([keys for keys, _ in counted]), return_inverse=True)
    largest = np.zeros(len(unique), dtype=np.int64)
    np.maximum.at(largest, inverse.reshape(-1), np.concatenate([counts for _, counts in counted]))
    return unique, largest


def _closest_lengths(hyp_lengths: np.ndarray, ref_lengths: list[np.ndarray], present: list[np.ndarray]) -> np.ndarray:
    """The reference length closest to each hypothesis length, the shorter one on a tie."""
    best_diff = np.full(len(hyp_lengths), np.iinfo(np.int64).max)
    best = np.full(len(hyp_lengths), -1, dtype=np.int64)
    for lengths, here in zip(ref_lengths, present):
        diff = np.abs(hyp_lengths - lengths)
        better = here & ((diff < best_diff) | ((diff == best_diff) & (lengths < best)))
        best_diff = np.where(better, diff, best_diff)
        best = np.where(better, lengths, best)
    return best


def word_ngram_statistics(
    hypotheses: Sequence[str], streams: Sequence[Sequence[str | None]], max_order: int
) -> np.ndarray | None:
    """sacrebleu's BLEU statistics ``[hyp_len, ref_len, correct..., total...]`` of each hypothesis.

    Texts come tokenised as BLEU sees them (tokens separated by whitespace); ``streams`` hold the
    k-th reference of every sample, ``None`` where a sample has fewer. Reference n-gram counts are
    the largest in any one reference, and the reference length is the one closest to the
    hypothesis length (the shorter on a tie), as in ``BLEU._compute_segment_statistics``.
    """
    pairs = len(hypotheses)
    vocabulary: dict[str, int] = {}
    number = vocabulary.setdefault
    hyp_tokens = [[number(token, len(vocabulary)) for token in text.split()] for text in hypotheses]
    ref_tokens = [
        [[number(token, len(vocabulary)) for token in text.split()] if text is not None else [] for text in stream]
        for stream in streams
    ]
    base = max(len(vocabulary), 1)
    if base**max_order * max(pairs, 1) >= KEY_LIMIT:
        return None
    hyp_keys, hyp_lengths = _token_keys(hyp_tokens, max_order, base)
    references = [_token_keys(tokens, max_order, base) for tokens in ref_tokens]
    present = [np.fromiter((text is not None for text in stream), dtype=bool, count=pairs) for stream in streams]
    stats = np.zeros((pairs, 2 + 2 * max_order), dtype=np.int64)
    stats[:, 0] = hyp_lengths
    stats[:, 1] = _closest_lengths(hyp_lengths, [lengths for _, lengths in references], present)
    for n in range(1, max_order + 1):
        hyp_unique, hyp_counts = np.unique(hyp_keys[n - 1], return_counts=True)
        ref_unique, ref_counts = _largest_counts([keys[n - 1] for keys, _ in references])
        shared, in_hyp, in_ref = np.intersect1d(hyp_unique, ref_unique, assume_unique=True, return_indices=True)
        matched = np.minimum(hyp_counts[in_hyp], ref_counts[in_ref])
        stats[:, 1 + n] = np.rint(np.bincount(shared // base**n, weights=matched, minlength=pairs)).astype(np.int64)
        stats[:, 1 + max_order + n] = np.maximum(hyp_lengths - n + 1, 0)
    return stats
