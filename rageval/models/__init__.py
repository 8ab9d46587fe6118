"""Models shared by the metrics of one run: loaded once, on the chosen device, with a memo of outputs.

Each loader takes the run's :class:`~rageval.context.RunContext` and keys the model by what
identifies it (where it comes from, device, dtype, input length, remote code), so two metrics
naming the same model share one instance and one memo. The model libraries (torch,
transformers, sentence-transformers) come with the ``[models]`` extra and are imported only
when a model is loaded.

When the context has a cache folder (:attr:`RunContext.cache_dir
<rageval.context.RunContext.cache_dir>`), outputs are also kept on disk across runs
(:mod:`rageval.models.cache`): the memo is the first level, the cache file the second.

- :class:`~rageval.models.embedder.Embedder`: sentence and token embeddings.
- :class:`~rageval.models.nli.NLIModel`: entailment probabilities.
- :class:`~rageval.models.causal_lm.CausalLM`: summed token NLL by sliding windows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rageval.context import RunContext
from rageval.models.runtime import ModelOptions
from rageval.models.source import PACKAGED_MINILM, ModelSource, fingerprint, hub_is_offline, resolve_model

if TYPE_CHECKING:
    from rageval.models.cache import ModelOutputs
    from rageval.models.causal_lm import CausalLM
    from rageval.models.embedder import Embedder
    from rageval.models.nli import NLIModel

__all__ = [
    "PACKAGED_MINILM",
    "ModelOptions",
    "ModelSource",
    "hub_is_offline",
    "resolve_model",
    "shared_causal_lm",
    "shared_embedder",
    "shared_fingerprint",
    "shared_nli",
    "shared_outputs",
]


def _key(kind: str, source: ModelSource, options: ModelOptions, *extra: Any) -> tuple:
    return (
        kind,
        source.location,
        source.revision,
        options.device,
        options.dtype,
        options.max_length,
        options.trust_remote_code,
        *extra,
    )


def shared_embedder(context: RunContext, source: ModelSource, options: ModelOptions) -> Embedder:
    """The run's sentence-embedding model for ``source`` with these options."""
    from rageval.models.embedder import Embedder

    return context.resource(
        _key("embedder", source, options),
        lambda: Embedder(
            source,
            device=options.device,
            dtype=options.dtype,
            max_length=options.max_length,
            trust_remote_code=options.trust_remote_code,
            count=context.count,
            cache=shared_outputs(context, source),
        ),
    )


def shared_nli(
    context: RunContext, source: ModelSource, options: ModelOptions, entailment_label: Any = None
) -> NLIModel:
    """The run's NLI classifier for ``source`` with these options."""
    from rageval.models.nli import NLIModel

    return context.resource(
        _key("nli", source, options, entailment_label),
        lambda: NLIModel(
            source,
            device=options.device,
            dtype=options.dtype,
            max_length=options.max_length,
            trust_remote_code=options.trust_remote_code,
            entailment_label=entailment_label,
            count=context.count,
            cache=shared_outputs(context, source),
        ),
    )


def shared_causal_lm(context: RunContext, source: ModelSource, options: ModelOptions) -> CausalLM:
    """The run's causal LM for ``source`` (its input length is a scoring setting, not a load setting)."""
    from rageval.models.causal_lm import CausalLM

    return context.resource(
        ("causal_lm", source.location, source.revision, options.device, options.dtype, options.trust_remote_code),
        lambda: CausalLM(
            source,
            device=options.device,
            dtype=options.dtype,
            trust_remote_code=options.trust_remote_code,
            count=context.count,
            cache=shared_outputs(context, source),
        ),
    )


def shared_fingerprint(context: RunContext, source: ModelSource) -> str:
    """The model's revision or weights hash, computed once per run (hashing reads the weights)."""
    return context.resource(("fingerprint", source.location, source.revision), lambda: fingerprint(source))


def shared_outputs(context: RunContext, source: ModelSource) -> ModelOutputs | None:
    """The model's part of the run's on-disk cache, or ``None`` when the run has no cache folder.

    A local model is identified by the hashes of its weights and of its config and tokenizer
    files, a hub model by its commit.
    """
    if context.cache_dir is None:
        return None
    from rageval.models.cache import ModelCache
    from rageval.models.source import settings_digest

    folder = context.cache_dir
    cache = context.resource(
        ("model-output-cache", folder), lambda: ModelCache(folder, warn=context.warn, count=context.count)
    )
    identity = {"model": shared_fingerprint(context, source)}
    if source.is_local:
        identity["files"] = context.resource(
            ("settings-digest", source.location), lambda: settings_digest(source.location)
        )
    return cache.for_model(source.label, identity)
