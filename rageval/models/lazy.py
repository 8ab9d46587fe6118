"""What a model is, and how many tokens each text has, kept in the cache beside its outputs.

A model is loaded only to compute an output the cache does not hold. Metrics also ask what the
model is (its input limit, its vector size, which output is entailment) and how long each text
is in its tokens (to pack windows); with both of these cached as well, a run whose outputs were
all computed before never loads the model, and never imports the library that loads it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from rageval.errors import RunError
from rageval.metric import distribution_version
from rageval.models.cache import Counter, Entry, ModelOutputs
from rageval.models.memo import Memo
from rageval.models.runtime import load_pretrained, pick_device
from rageval.models.source import ModelSource

_PROFILE = "profile"


class ModelProfile:
    """A few integers that describe a loaded model under one setting (the space's key)."""

    def __init__(
        self, cache: ModelOutputs | None, kind: str, model_name: str, names: Sequence[str], **setting: Any
    ) -> None:
        self.space = cache.space(kind, counted=False, **setting) if cache is not None else None
        self.model_name = model_name
        self.names = tuple(names)
        self.recorded: tuple[int, ...] | None = None

    def read(self) -> tuple[int, ...] | None:
        """The values an earlier run recorded, or ``None``."""
        if self.space is None:
            return None
        size = len(self.names)

        def sound(entry: Entry) -> bool:
            values = entry.array
            return values.shape == (size,) and bool(np.all(values >= 0)) and bool(np.all(values == np.round(values)))

        entry = self.space.load([_PROFILE], sound).get(_PROFILE)
        self.recorded = None if entry is None else tuple(int(v) for v in entry.array)
        return self.recorded

    def loaded(self, values: tuple[int, ...]) -> None:
        """Record what the model just loaded is; it must be what the cache said it would be."""
        if self.recorded is not None and values != self.recorded:
            found = ", ".join(f"{name} {value}" for name, value in zip(self.names, values))
            cached = ", ".join(str(value) for value in self.recorded)
            raise RunError(
                f"model {self.model_name!r} has {found}; the model cache recorded {cached}: "
                "run with --no-cache or delete the cache file"
            )
        if self.space is not None and self.recorded is None:
            self.space.save({_PROFILE: Entry(np.array(values, dtype=np.float64))})
            self.recorded = values


class TokenCounts:
    """Token counts of texts: from the run's memo, else the cache, else ``tokenize`` (which may load the model)."""

    def __init__(
        self, cache: ModelOutputs | None, kind: str, libraries: list[str], tokenize: Callable[[list[str]], list[int]]
    ) -> None:
        tokenizer_libraries = [*libraries, distribution_version("tokenizers")]
        self.space = cache.space(kind, counted=False, libraries=tokenizer_libraries) if cache is not None else None
        self.tokenize = tokenize
        self.memo: Memo[int] = Memo(64 << 20)

    def __call__(self, texts: Sequence[str]) -> list[int]:
        new = self.memo.missing(list(texts))
        if new and self.space is not None:
            stored = self.space.load(new, lambda entry: entry.array.shape == (1,) and entry.array[0] >= 0)
            for text, entry in stored.items():
                self.memo.put(text, int(entry.array[0]))
            new = [text for text in new if text not in stored]
        if new:
            counted = dict(zip(new, self.tokenize(list(new))))
            for text, n in counted.items():
                self.memo.put(text, n)
            if self.space is not None:
                self.space.save({text: Entry(np.array([n], dtype=np.float64)) for text, n in counted.items()})
        return [self.memo.get(text) for text in texts]


class PretrainedOnDemand:
    """A transformers tokenizer and model (``model_class``), loaded the first time either is used.

    A subclass says what a loaded model is in a few integers (:meth:`_describe`, kept by its
    :class:`ModelProfile`) and sets its attributes from them (:meth:`_apply`), so that it works
    the same from the cache's record as from the model.
    """

    model_class: ClassVar[str]

    def __init__(
        self, source: ModelSource, *, device: str, dtype: str, trust_remote_code: bool, count: Counter | None
    ) -> None:
        self.source = source
        self.device = pick_device(device)
        self._count: Counter = count or (lambda name, n: None)
        self._dtype = dtype
        self._trust_remote_code = trust_remote_code
        self._loaded: tuple[Any, Any] | None = None

    def _start(self, profile: ModelProfile) -> None:
        """Take what the model is from the cache's record, else load it now."""
        self._profile = profile
        recorded = profile.read()
        if recorded is None:
            self._load()
        else:
            self._apply(recorded)

    def _load(self) -> tuple[Any, Any]:
        if self._loaded is None:
            tokenizer, model = load_pretrained(
                self.source,
                self.model_class,
                self._dtype,
                self.device,
                self._trust_remote_code,  # type: ignore[arg-type]
            )
            described = self._describe(tokenizer, model)
            self._profile.loaded(described)
            self._apply(described)
            self._loaded = (tokenizer, model)
        return self._loaded

    def _describe(self, tokenizer: Any, model: Any) -> tuple[int, ...]:
        raise NotImplementedError

    def _apply(self, described: tuple[int, ...]) -> None:
        raise NotImplementedError

    @property
    def tokenizer(self) -> Any:
        return self._load()[0]

    @property
    def model(self) -> Any:
        return self._load()[1]
