"""Perplexity of a causal language model on the ``text`` field, by strided sliding windows.

Each sample's statistics are its summed token NLL (nats), its scored tokens and its UTF-8
bytes, so the corpus perplexity is exp(sum NLL / sum tokens): token-weighted, not a mean of
per-sample perplexities. Bits per byte, sum NLL / (ln 2 * sum bytes), compares models with
different tokenizers. See :mod:`rageval.models.causal_lm` for the windowing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np
from pydantic import Field, model_validator

from rageval.errors import ConfigError
from rageval.hookspecs import hookimpl
from rageval.metric import Failed, Metric, MetricInfo, Outcome, Scored, ScoreSpec, distribution_version, format_param
from rageval.models import ModelOptions, ModelSource, resolve_model, shared_causal_lm, shared_fingerprint
from rageval.sample import InvalidSample, Sample, text_field


class PerplexityParams(ModelOptions):
    batch_size: int = Field(8, gt=0, le=4096, description="windows per forward pass (does not change scores)")
    max_length: int | None = Field(None, gt=1, description="tokens per window (default: the model's context size)")
    stride: int | None = Field(
        None,
        gt=0,
        description="tokens between window starts, less than max_length (default: half of it); smaller gives more context",
    )
    add_bos: bool | None = Field(
        None, description="put the BOS token first so the first token is scored too (default: when the model has one)"
    )

    @model_validator(mode="after")
    def _stride_fits(self) -> PerplexityParams:
        if self.stride is not None and self.max_length is not None and self.stride >= self.max_length:
            raise ValueError(f"stride ({self.stride}) must be less than max_length ({self.max_length})")
        return self


class Perplexity(Metric):
    info = MetricInfo(
        name="perplexity",
        description="Token-weighted perplexity of a causal LM: exp(total NLL / total scored tokens).",
        fields=("text",),
        higher_is_better=False,
        params=PerplexityParams,
        scores=(
            ScoreSpec("", False, "exp(sum of token NLL / scored tokens)"),
            ScoreSpec("bits_per_byte", False, "sum of token NLL / (ln 2 * UTF-8 bytes)"),
        ),
        libraries=("torch", "transformers"),
        citation="Hugging Face transformers documentation, 'Perplexity of fixed-length models'",
    )

    @cached_property
    def source(self) -> ModelSource:
        if not self.params.model:
            raise ConfigError(
                "perplexity: set params.model to a causal language model (a local folder, or a hub id when online)"
            )
        return resolve_model(
            self.params.model,
            self.params.revision,
            param="params.model",
            owner="perplexity",
            base_dir=self.context.base_dir,
        )

    def _model(self) -> Any:
        return shared_causal_lm(self.context, self.source, self.params)

    def _settings(self, model: Any) -> tuple[int, int, bool]:
        max_length = self.params.max_length or model.context_size
        stride = self.params.stride or max(max_length // 2, 1)
        if stride >= max_length:
            raise ConfigError(f"perplexity: params.stride ({stride}) must be less than max_length ({max_length})")
        add_bos = self.params.add_bos if self.params.add_bos is not None else model.bos_id is not None
        return max_length, stride, add_bos

    def score_batch(self, samples: Sequence[Sample]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(samples)
        positions, texts = [], []
        for position, sample in enumerate(samples):
            try:
                texts.append(text_field(sample, "text"))
            except InvalidSample as reason:
                outcomes[position] = Failed(str(reason))
                continue
            positions.append(position)
        if texts:
            model = self._model()
            max_length, stride, add_bos = self._settings(model)
            results = model.nll(
                texts, max_length=max_length, stride=stride, add_bos=add_bos, batch_size=self.params.batch_size
            )
            for position, text, (nll, n_tokens) in zip(positions, texts, results):
                outcomes[position] = Scored((nll, float(n_tokens), float(len(text.encode("utf-8")))))
        return outcomes  # type: ignore[return-value]

    def scores_from_totals(self, totals: np.ndarray) -> dict[str, float | None]:
        nll, n_tokens, n_bytes = (float(x) for x in totals)
        return {
            "": math.exp(nll / n_tokens) if n_tokens else None,
            "bits_per_byte": nll / (math.log(2) * n_bytes) if n_bytes and n_tokens else None,
        }

    def signature(self) -> str:
        model = self._model()
        max_length, stride, add_bos = self._settings(model)
        parts = [
            "perplexity",
            f"model:{self.source.name}",
            shared_fingerprint(self.context, self.source),
            f"max_length:{max_length}",
            f"stride:{stride}",
            f"add_bos:{format_param(add_bos)}",
            f"dtype:{self.params.dtype}",
            f"trust_remote_code:{format_param(self.params.trust_remote_code)}",
        ]
        parts += [f"{lib}:{distribution_version(lib)}" for lib in self.info.libraries]
        parts.append(f"rageval:{distribution_version('rageval')}")
        return "|".join(parts)


@hookimpl
def rageval_metrics() -> list[type[Metric]]:
    return [Perplexity]
