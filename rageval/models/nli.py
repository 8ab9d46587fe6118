"""Natural-language-inference models: the probability that a premise entails a hypothesis.

Any ``AutoModelForSequenceClassification`` checkpoint trained for NLI works; which output is
"entailment" is read from the model's ``id2label``, never assumed. Premises longer than the
model's input are split into windows by the caller (:mod:`rageval.metrics.rag` packs context
sentences); a pair that still does not fit is truncated (premise first) and counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rageval.errors import ConfigError
from rageval.metric import distribution_version
from rageval.models.cache import Counter, Entry, ModelOutputs
from rageval.models.lazy import ModelProfile, PretrainedOnDemand, TokenCounts
from rageval.models.memo import Memo
from rageval.models.runtime import require
from rageval.models.source import ModelSource

_UNBOUNDED = 1_000_000


def entailment_index(id2label: dict[int, str], name: str, override: int | str | None = None) -> int:
    """The output index of the entailment class, from the config's labels or the override."""
    labels = {int(k): str(v) for k, v in id2label.items()}
    if isinstance(override, int):
        if override not in labels:
            raise ConfigError(f"entailment_label: {name!r} has no output {override}; its labels are {labels}")
        return override
    if isinstance(override, str):
        found = [i for i, label in labels.items() if label.lower() == override.lower()]
    else:
        found = [i for i, label in labels.items() if label.lower().startswith("entail")]
    if len(found) != 1:
        wanted = repr(override) if override else "'entailment'"
        raise ConfigError(
            f"model {name!r} has no single {wanted} label among {labels}: set params.entailment_label to its index"
        )
    return found[0]


class NLIModel(PretrainedOnDemand):
    """One NLI classifier with the run's memo of the pairs it has scored."""

    model_class = "AutoModelForSequenceClassification"

    def __init__(
        self,
        source: ModelSource,
        *,
        device: str = "auto",
        dtype: str = "float32",
        max_length: int | None = None,
        trust_remote_code: bool = False,
        entailment_label: int | str | None = None,
        count: Counter | None = None,
        cache: ModelOutputs | None = None,
    ) -> None:
        super().__init__(source, device=device, dtype=dtype, trust_remote_code=trust_remote_code, count=count)
        self._requested_length = max_length
        self._entailment_label = entailment_label
        self._memo: Memo[float] = Memo(64 << 20)
        self._space = None
        libraries = [distribution_version(n) for n in ("torch", "transformers")]
        profile = ModelProfile(
            cache,
            "nli_profile/1",
            source.name,
            ("entailment output", "input limit", "special tokens per pair"),
            device=self.device.split(":")[0],
            dtype=dtype,
            max_length=max_length,
            entailment_label=entailment_label,
            trust_remote_code=trust_remote_code,
            libraries=libraries,
        )
        self.count_tokens = TokenCounts(cache, "token_count_plain/1", libraries, self._tokenize)
        """Tokens of each text alone, without special tokens."""
        self._start(profile)
        if cache is not None:
            self._space = cache.space(
                "entailment_probability/1",
                device=self.device.split(":")[0],
                dtype=dtype,
                max_length=self.max_length,
                entailment=self.entailment,
                trust_remote_code=trust_remote_code,
                libraries=libraries,
            )

    def _describe(self, tokenizer: Any, model: Any) -> tuple[int, ...]:
        config = model.config
        entailment = entailment_index(config.id2label, self.source.name, self._entailment_label)
        limits = [
            n
            for n in (getattr(config, "max_position_embeddings", None), tokenizer.model_max_length)
            if isinstance(n, int) and 0 < n < _UNBOUNDED
        ]
        model_limit = min(limits) if limits else 512
        if self._requested_length is not None and self._requested_length > model_limit:
            raise ConfigError(
                f"max_length: {self._requested_length} is more than model {self.source.name!r} accepts ({model_limit})"
            )
        return entailment, self._requested_length or model_limit, int(tokenizer.num_special_tokens_to_add(pair=True))

    def _apply(self, described: tuple[int, ...]) -> None:
        self.entailment, self.max_length, self.pair_overhead = described

    def _tokenize(self, texts: list[str]) -> list[int]:
        encoded = self.tokenizer(texts, add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def entailment_probability(self, pairs: Sequence[tuple[str, str]], batch_size: int = 32) -> np.ndarray:
        """P(entailment) of each (premise, hypothesis) pair; each distinct pair is scored once per run.

        With a cache, a pair scored in an earlier run is read back instead.
        """
        values = {p: self._memo.get(p) for p in dict.fromkeys(pairs) if p in self._memo}
        missing = [p for p in dict.fromkeys(pairs) if p not in values]
        if missing and self._space is not None:
            truncated = 0
            for pair, entry in self._space.load(missing, _is_probability).items():
                values[pair] = float(entry.array)
                self._memo.put(pair, values[pair])
                truncated += isinstance(entry.meta, dict) and bool(entry.meta.get("truncated"))
            if truncated:
                self._count(f"{self.source.label}.truncated_inputs", truncated)
            missing = [p for p in missing if p not in values]
        if missing:
            fresh, too_long = self._score(missing, batch_size)
            values.update(fresh)
            if self._space is not None:
                self._space.save(
                    {p: Entry(np.float64(v), {"truncated": True} if p in too_long else None) for p, v in fresh.items()}
                )
        return np.array([values[p] for p in pairs], dtype=np.float64)

    def _score(self, pairs: list, batch_size: int) -> tuple[dict[tuple[str, str], float], set[tuple[str, str]]]:
        """Each pair's probability, and the pairs too long for the model (truncated, and counted)."""
        torch = require("torch")
        tokenizer, model = self._load()
        premise_len = self.count_tokens([p for p, _ in pairs])
        hypothesis_len = self.count_tokens([h for _, h in pairs])
        sizes = [a + b + self.pair_overhead for a, b in zip(premise_len, hypothesis_len)]
        too_long = {pair for pair, n in zip(pairs, sizes) if n > self.max_length}
        if too_long:
            self._count(f"{self.source.label}.truncated_inputs", len(too_long))
        self._count(f"{self.source.label}.scored_pairs", len(pairs))
        order = sorted(range(len(pairs)), key=lambda i: (-sizes[i], i))
        fresh: dict[tuple[str, str], float] = {}
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                chunk = [pairs[i] for i in order[start : start + batch_size]]
                inputs = tokenizer(
                    [p for p, _ in chunk],
                    [h for _, h in chunk],
                    padding=True,
                    truncation="longest_first",
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(self.device)
                logits = model(**inputs).logits.float()
                probs = torch.softmax(logits, dim=-1)[:, self.entailment].cpu().numpy().astype(np.float64)
                for pair, prob in zip(chunk, probs):
                    fresh[pair] = float(prob)
                    self._memo.put(pair, float(prob))
        return fresh, too_long


def _is_probability(entry: Entry) -> bool:
    return entry.array.shape == () and entry.array.dtype == np.float64 and 0.0 <= float(entry.array) <= 1.0
