"""Sentence-embedding models (sentence-transformers), loaded once per run and shared.

:meth:`Embedder.encode` is the one way texts become vectors: it deduplicates texts across
every call of the run (a context repeated across samples is encoded once), sorts new texts
by length into batches, and counts inputs longer than the model's limit, which are
truncated. An on-disk cache can wrap this method.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rageval.models.memo import Memo
from rageval.models.runtime import loading_error, pick_device, quiet_loading, require, torch_dtype
from rageval.models.source import ModelSource, fingerprint

Counter = Callable[[str, int], None]


@dataclass(frozen=True)
class TokenVectors:
    """Unit-length contextual vectors of a text's tokens (special tokens left out)."""

    vectors: np.ndarray
    pieces: tuple[str, ...]
    """The tokenizer's string for each token ("##s", "Ġthe"), to tell content from function words."""


class Embedder:
    """One sentence-embedding model with the run's memo of what it has encoded."""

    def __init__(
        self,
        source: ModelSource,
        *,
        device: str = "auto",
        dtype: str = "float32",
        max_length: int | None = None,
        trust_remote_code: bool = False,
        count: Counter | None = None,
        memo_bytes: int = 512 << 20,
    ) -> None:
        self.source = source
        self.device = pick_device(device)
        self._count = count or (lambda name, n: None)
        st = require("sentence_transformers")
        kwargs = {} if dtype == "float32" else {"dtype": torch_dtype(dtype)}  # type: ignore[arg-type]
        try:
            with quiet_loading():
                self.model = st.SentenceTransformer(
                    source.location,
                    device=self.device,
                    revision=source.revision,
                    trust_remote_code=trust_remote_code,
                    local_files_only=source.is_local,
                    model_kwargs=kwargs or None,
                )
        except Exception as exc:
            raise loading_error(source.name, exc) from exc
        self.model.eval()
        if max_length is not None:
            self.model.max_seq_length = max_length
        self.max_length = int(self.model.max_seq_length or 512)
        self.tokenizer = self.model.tokenizer
        self._special = set(self.tokenizer.all_special_ids)
        self._vectors: Memo[np.ndarray] = Memo(memo_bytes)
        self._tokens: Memo[TokenVectors] = Memo(memo_bytes // 2)
        self._lengths: Memo[int] = Memo(64 << 20)
        self._fingerprint: str | None = None

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = fingerprint(self.source)
        return self._fingerprint

    @property
    def dimension(self) -> int:
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter() or 0)

    def _counter(self, what: str) -> str:
        return f"{self.source.label}.{what}"

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text with special tokens, before any truncation."""
        new = self._lengths.missing(list(texts))
        if new:
            encoded = self.tokenizer(list(new), add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
            for text, ids in zip(new, encoded):
                self._lengths.put(text, len(ids))
        return [self._lengths.get(t) for t in texts]

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Unit-length embeddings, one row per text, each distinct text encoded once per run."""
        fresh = self._run(self._vectors.missing(list(texts)), batch_size)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        rows = [fresh[t][0] if t in fresh else self._vectors.get(t) for t in texts]
        return np.stack(rows)

    def encode_tokens(self, texts: Sequence[str], batch_size: int = 32) -> list[TokenVectors]:
        """Unit-length token vectors of each text, from the same pass as :meth:`encode`."""
        fresh = self._run(self._tokens.missing(list(texts)), batch_size)
        return [fresh[t][1] if t in fresh else self._tokens.get(t) for t in texts]

    def _run(self, texts: list, batch_size: int) -> dict[str, tuple[np.ndarray, TokenVectors]]:
        if not texts:
            return {}
        torch = require("torch")
        lengths = self.count_tokens(texts)
        truncated = sum(n > self.max_length for n in lengths)
        if truncated:
            self._count(self._counter("truncated_inputs"), truncated)
        self._count(self._counter("encoded_texts"), len(texts))
        with torch.inference_mode():
            outputs = self.model.encode(
                list(texts), batch_size=batch_size, output_value=None, show_progress_bar=False, convert_to_numpy=False
            )
        fresh: dict[str, tuple[np.ndarray, TokenVectors]] = {}
        for text, output in zip(texts, outputs):
            sentence = output["sentence_embedding"].float().cpu().numpy()
            sentence = sentence / max(float(np.linalg.norm(sentence)), 1e-12)
            ids = output["input_ids"].cpu().tolist()
            keep = [i for i, token in enumerate(ids) if token not in self._special]
            vectors = output["token_embeddings"].float().cpu().numpy()[keep]
            vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            pieces = tuple(self.tokenizer.convert_ids_to_tokens([ids[i] for i in keep]))
            tokens = TokenVectors(vectors.astype(np.float32), pieces)
            fresh[text] = (sentence.astype(np.float32), tokens)
            self._vectors.put(text, fresh[text][0])
            self._tokens.put(text, tokens)
        return fresh
