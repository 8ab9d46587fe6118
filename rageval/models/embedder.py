"""Sentence-embedding models (sentence-transformers), loaded once per run and shared.

:meth:`Embedder.encode` is the one way texts become vectors: it deduplicates texts across
every call of the run (a context repeated across samples is encoded once), sorts new texts
by length into batches, and counts inputs longer than the model's limit, which are
truncated. With a cache (:mod:`rageval.models.cache`), a text encoded in an earlier run is read
back, bit for bit, instead of encoded again: sentence vectors always, token vectors once a
metric has asked for them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rageval.metric import distribution_version
from rageval.models.cache import Counter, Entry, ModelOutputs
from rageval.models.lazy import ModelProfile, TokenCounts
from rageval.models.memo import Memo
from rageval.models.runtime import loading_error, pick_device, quiet_loading, require, torch_dtype
from rageval.models.source import ModelSource

_SENTENCE, _TOKENS = 0, 1


@dataclass(frozen=True)
class TokenVectors:
    """Unit-length contextual vectors of a text's tokens (special tokens left out)."""

    vectors: np.ndarray
    pieces: tuple[str, ...]
    """The tokenizer's string for each token ("##s", "Ġthe"), to tell content from function words."""


class Embedder:
    """One sentence-embedding model with the run's memo of what it has encoded.

    With a cache, the model is loaded only when a text is not in it: what the model is (its input
    limit and vector size) and how many tokens each text has are cached beside its vectors, so a
    run whose texts were all encoded before never imports sentence-transformers or reads the weights.
    """

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
        cache: ModelOutputs | None = None,
    ) -> None:
        self.source = source
        self.device = pick_device(device)
        self._count = count or (lambda name, n: None)
        self._dtype = dtype
        self._requested_length = max_length
        self._trust_remote_code = trust_remote_code
        self._model: Any = None
        self._vectors: Memo[np.ndarray] = Memo(memo_bytes)
        self._tokens: Memo[TokenVectors] = Memo(memo_bytes // 2)
        self._truncated: set[str] = set()
        self._unsaved_tokens: set[str] = set()
        self._spaces = None
        libraries = [distribution_version(n) for n in ("torch", "transformers", "sentence-transformers")]
        self._profile = ModelProfile(
            cache,
            "sentence_embedder_profile/1",
            source.name,
            ("input limit", "vector size"),
            device=self.device.split(":")[0],
            dtype=dtype,
            max_length=max_length,
            trust_remote_code=trust_remote_code,
            libraries=libraries,
        )
        self.count_tokens = TokenCounts(cache, "token_count/1", libraries, self._tokenize)
        """Tokens of each text with special tokens, before any truncation."""
        recorded = self._profile.read()
        if recorded is None:
            self._load()
        else:
            self.max_length, self._dimension = recorded
        if cache is not None:
            setting = {
                "device": self.device.split(":")[0],
                "dtype": dtype,
                "max_length": self.max_length,
                "trust_remote_code": trust_remote_code,
                "libraries": libraries,
            }
            self._spaces = (
                cache.space("sentence_embedding/1", **setting),
                cache.space("token_embeddings/1", **setting),
            )

    def _load(self) -> Any:
        """Load the model (sentence-transformers), once; its input limit and vector size go to the cache."""
        if self._model is not None:
            return self._model
        st = require("sentence_transformers")
        kwargs = {} if self._dtype == "float32" else {"dtype": torch_dtype(self._dtype)}  # type: ignore[arg-type]
        try:
            with quiet_loading():
                model = st.SentenceTransformer(
                    self.source.location,
                    device=self.device,
                    revision=self.source.revision,
                    trust_remote_code=self._trust_remote_code,
                    local_files_only=self.source.is_local,
                    model_kwargs=kwargs or None,
                )
        except Exception as exc:
            raise loading_error(self.source.name, exc) from exc
        model.eval()
        if self._requested_length is not None:
            model.max_seq_length = self._requested_length
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        profile = (int(model.max_seq_length or 512), int(getter() or 0))
        self._profile.loaded(profile)
        self.max_length, self._dimension = profile
        self._model = model
        self._special = set(model.tokenizer.all_special_ids)
        return model

    @property
    def model(self) -> Any:
        return self._load()

    @property
    def tokenizer(self) -> Any:
        return self._load().tokenizer

    @property
    def dimension(self) -> int:
        return self._dimension

    def _counter(self, what: str) -> str:
        return f"{self.source.label}.{what}"

    def _tokenize(self, texts: list[str]) -> list[int]:
        encoded = self.tokenizer(texts, add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Unit-length embeddings, one row per text, each distinct text encoded once per run."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        values = self._gather(_SENTENCE, list(texts), batch_size)
        return np.stack([values[t] for t in texts])

    def encode_tokens(self, texts: Sequence[str], batch_size: int = 32) -> list[TokenVectors]:
        """Unit-length token vectors of each text, from the same pass as :meth:`encode`."""
        values = self._gather(_TOKENS, list(texts), batch_size)
        return [values[t] for t in texts]

    def _gather(self, which: int, texts: list[str], batch_size: int) -> dict[str, Any]:
        """Each distinct text's value: from the memo, else the cache, else the model."""
        memo = (self._vectors, self._tokens)[which]
        values = {t: memo.get(t) for t in dict.fromkeys(texts) if t in memo}
        missing = [t for t in dict.fromkeys(texts) if t not in values]
        if self._spaces is not None:
            if which == _TOKENS and self._unsaved_tokens:
                self._save_tokens({t: values[t] for t in values if t in self._unsaved_tokens})
            if missing:
                for text, entry in self._spaces[which].load(missing, self._usable(which)).items():
                    value = (
                        entry.array if which == _SENTENCE else TokenVectors(entry.array, tuple(entry.meta["pieces"]))
                    )
                    memo.put(text, value)
                    values[text] = value
                    if isinstance(entry.meta, dict) and entry.meta.get("truncated"):
                        self._note_truncated([text])
                missing = [t for t in missing if t not in values]
        if missing:
            new_sentences = [t for t in missing if t not in self._vectors]
            fresh = self._run(missing, batch_size)
            values.update((text, fresh[text][which]) for text in missing)
            if self._spaces is not None:
                self._spaces[_SENTENCE].save({t: Entry(fresh[t][0], self._flags(t)) for t in new_sentences})
                if which == _TOKENS:
                    self._save_tokens({t: fresh[t][1] for t in missing})
                else:
                    self._unsaved_tokens.update(missing)
                    if len(self._unsaved_tokens) > 2 * len(self._tokens) + 1024:
                        self._unsaved_tokens = {t for t in self._unsaved_tokens if t in self._tokens}
        return values

    def _usable(self, which: int) -> Callable[[Entry], bool]:
        dimension = self.dimension

        def check(entry: Entry) -> bool:
            array, meta = entry.array, entry.meta
            if array.dtype != np.float32:
                return False
            if which == _SENTENCE:
                return array.shape == (dimension,) and (meta is None or isinstance(meta, dict))
            pieces = meta.get("pieces") if isinstance(meta, dict) else None
            return (
                array.ndim == 2
                and array.shape[1] == dimension
                and isinstance(pieces, list)
                and len(pieces) == array.shape[0]
                and all(isinstance(p, str) for p in pieces)
            )

        return check

    def _flags(self, text: str) -> dict[str, Any] | None:
        return {"truncated": True} if text in self._truncated else None

    def _save_tokens(self, tokens: dict[str, TokenVectors]) -> None:
        if not tokens or self._spaces is None:
            return
        self._spaces[_TOKENS].save(
            {t: Entry(v.vectors, {"pieces": list(v.pieces), **(self._flags(t) or {})}) for t, v in tokens.items()}
        )
        self._unsaved_tokens.difference_update(tokens)

    def _note_truncated(self, texts: Sequence[str]) -> None:
        """Count each truncated text once per run, whether encoded now or read from the cache."""
        new = [t for t in texts if t not in self._truncated]
        if new:
            self._truncated.update(new)
            self._count(self._counter("truncated_inputs"), len(new))

    def _run(self, texts: list, batch_size: int) -> dict[str, tuple[np.ndarray, TokenVectors]]:
        """Encode ``texts``; a value already held (read from the cache) is kept, so a run sees one value per text."""
        if not texts:
            return {}
        torch = require("torch")
        lengths = self.count_tokens(texts)
        self._note_truncated([t for t, n in zip(texts, lengths) if n > self.max_length])
        self._count(self._counter("encoded_texts"), len(texts))
        model = self._load()
        with torch.inference_mode():
            outputs = model.encode(
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
            if text not in self._vectors:
                self._vectors.put(text, fresh[text][0])
            if text not in self._tokens:
                self._tokens.put(text, tokens)
        return fresh
