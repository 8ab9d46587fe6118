"""Causal language models: the summed negative log-likelihood of a text, by strided sliding windows.

A text longer than the window is scored in windows of ``max_length`` tokens that start
``stride`` tokens apart. Each window predicts only the tokens no earlier window predicted;
the tokens before them are context (masked out of the loss). Every token is thus scored once,
with up to ``max_length - stride`` tokens of left context, and a text's NLL is the sum over its
windows. The first token of a text has nothing to be predicted from, so it is scored only
when a BOS token is put in front.

Windows of all texts in a batch are sorted by length and scored together, padded on the
right with an attention mask; the numbers equal one-at-a-time scoring up to float rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rageval.errors import ConfigError
from rageval.metric import distribution_version
from rageval.models.cache import CacheSpace, Counter, Entry, ModelOutputs
from rageval.models.lazy import ModelProfile, PretrainedOnDemand
from rageval.models.memo import Memo
from rageval.models.runtime import require
from rageval.models.source import ModelSource

_UNBOUNDED = 1_000_000


@dataclass(frozen=True)
class Window:
    """Tokens fed to the model at once; the tokens from ``first_scored`` on are predicted."""

    text: int
    ids: tuple[int, ...]
    first_scored: int


def sliding_windows(ids: Sequence[int], max_length: int, stride: int) -> list[tuple[int, int, int]]:
    """``(begin, end, first_scored)`` windows over ``ids``: every token after the first scored once.

    ``stride < max_length`` keeps at least one token of context at the start of every window, so
    no token goes unscored at a window boundary.
    """
    if max_length < 2 or not 0 < stride < max_length:
        raise ValueError(f"need 2 <= max_length and 0 < stride < max_length, got {max_length}, {stride}")
    n = len(ids)
    windows: list[tuple[int, int, int]] = []
    begin, scored_until = 0, 1
    while scored_until < n:
        end = min(begin + max_length, n)
        if end > scored_until:
            windows.append((begin, end, scored_until - begin))
            scored_until = end
        begin += stride
    return windows


class CausalLM(PretrainedOnDemand):
    """One causal LM with the run's memo of the texts it has scored."""

    model_class = "AutoModelForCausalLM"

    def __init__(
        self,
        source: ModelSource,
        *,
        device: str = "auto",
        dtype: str = "float32",
        trust_remote_code: bool = False,
        count: Counter | None = None,
        cache: ModelOutputs | None = None,
    ) -> None:
        super().__init__(source, device=device, dtype=dtype, trust_remote_code=trust_remote_code, count=count)
        self._memo: Memo[tuple[float, int]] = Memo(16 << 20)
        self._cache = cache
        self._setting = {
            "device": self.device.split(":")[0],
            "dtype": dtype,
            "trust_remote_code": trust_remote_code,
            "libraries": [distribution_version(n) for n in ("torch", "transformers")],
        }
        self._spaces: dict[tuple[int, int, bool], CacheSpace] = {}
        self._start(
            ModelProfile(
                cache, "causal_lm_profile/1", source.name, ("context size", "a BOS token", "BOS id"), **self._setting
            )
        )

    def _describe(self, tokenizer: Any, model: Any) -> tuple[int, ...]:
        config = model.config
        limits = [
            getattr(config, attr, None) for attr in ("n_positions", "max_position_embeddings", "n_ctx", "seq_length")
        ]
        limits = [n for n in limits if isinstance(n, int) and 0 < n < _UNBOUNDED]
        tokenizer_limit = tokenizer.model_max_length
        if not limits and isinstance(tokenizer_limit, int) and 0 < tokenizer_limit < _UNBOUNDED:
            limits = [tokenizer_limit]
        bos_id = tokenizer.bos_token_id
        return min(limits) if limits else 1024, int(bos_id is not None), bos_id or 0

    def _apply(self, described: tuple[int, ...]) -> None:
        self.context_size, has_bos, bos_id = described
        self.bos_id: int | None = bos_id if has_bos else None

    def token_ids(self, text: str, add_bos: bool) -> list[int]:
        ids = list(self.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])
        if add_bos:
            if self.bos_id is None:
                raise ConfigError(f"model {self.source.name!r} has no BOS token: set params.add_bos to false")
            ids.insert(0, self.bos_id)
        return ids

    def nll(
        self,
        texts: Sequence[str],
        *,
        max_length: int,
        stride: int,
        add_bos: bool,
        batch_size: int = 8,
    ) -> list[tuple[float, int]]:
        """``(summed NLL in nats, scored tokens)`` of each text; each distinct text scored once per run."""
        if max_length > self.context_size:
            raise ConfigError(
                f"max_length: {max_length} is more than model {self.source.name!r} accepts ({self.context_size})"
            )
        keys = [(t, max_length, stride, add_bos) for t in texts]
        values = {k: self._memo.get(k) for k in dict.fromkeys(keys) if k in self._memo}
        missing = [k for k in dict.fromkeys(keys) if k not in values]
        space = self._space(max_length, stride, add_bos)
        if missing and space is not None:
            for text, entry in space.load([k[0] for k in missing], _is_nll).items():
                key = (text, max_length, stride, add_bos)
                values[key] = (float(entry.array[0]), int(entry.array[1]))
                self._memo.put(key, values[key])
            missing = [k for k in missing if k not in values]
        if missing:
            fresh = self._score(missing, batch_size)
            values.update(fresh)
            if space is not None:
                space.save({k[0]: Entry(np.array(v, dtype=np.float64)) for k, v in fresh.items()})
        return [values[k] for k in keys]

    def _space(self, max_length: int, stride: int, add_bos: bool) -> CacheSpace | None:
        """The cache of NLLs under one windowing; ``None`` without a cache."""
        if self._cache is None:
            return None
        setting = (max_length, stride, add_bos)
        if setting not in self._spaces:
            self._spaces[setting] = self._cache.space(
                "token_nll/1", max_length=max_length, stride=stride, add_bos=add_bos, **self._setting
            )
        return self._spaces[setting]

    def _score(self, keys: list, batch_size: int) -> dict[tuple, tuple[float, int]]:
        torch = require("torch")
        tokenizer, model = self._load()
        windows: list[Window] = []
        for position, (text, max_length, stride, add_bos) in enumerate(keys):
            ids = self.token_ids(text, add_bos)
            for begin, end, first in sliding_windows(ids, max_length, stride):
                windows.append(Window(position, tuple(ids[begin:end]), first))
        self._count(f"{self.source.label}.scored_texts", len(keys))
        if len(windows) > len(keys):
            self._count(f"{self.source.label}.windows", len(windows))
        totals = [[0.0, 0] for _ in keys]
        pad = tokenizer.pad_token_id
        pad = pad if pad is not None else (tokenizer.eos_token_id or 0)
        order = sorted(range(len(windows)), key=lambda i: (-len(windows[i].ids), i))
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                chunk = [windows[i] for i in order[start : start + batch_size]]
                width = len(chunk[0].ids)
                input_ids = torch.full((len(chunk), width), pad, dtype=torch.long)
                mask = torch.zeros((len(chunk), width), dtype=torch.long)
                for row, window in enumerate(chunk):
                    input_ids[row, : len(window.ids)] = torch.tensor(window.ids)
                    mask[row, : len(window.ids)] = 1
                logits = model(input_ids=input_ids.to(self.device), attention_mask=mask.to(self.device)).logits
                for row, window in enumerate(chunk):
                    n = len(window.ids)
                    log_probs = torch.log_softmax(logits[row, : n - 1].float(), dim=-1)
                    targets = input_ids[row, 1:n].to(log_probs.device)
                    token_nll = -log_probs.gather(1, targets[:, None])[:, 0]
                    scored = token_nll[window.first_scored - 1 :].double()
                    totals[window.text][0] += float(scored.sum())
                    totals[window.text][1] += int(scored.numel())
        fresh = {}
        for key, (nll, n_tokens) in zip(keys, totals):
            fresh[key] = (nll, n_tokens)
            self._memo.put(key, (nll, n_tokens))
        return fresh


def _is_nll(entry: Entry) -> bool:
    """A cached ``[summed NLL, scored tokens]``: a finite sum and a whole, non-negative count."""
    array = entry.array
    if array.shape != (2,) or array.dtype != np.float64 or not np.isfinite(array).all():
        return False
    return array[1] >= 0 and float(array[1]).is_integer()
