"""Built-in metrics, one module per family, each a plugin like any third party's.

:func:`rageval.registry.build_registry` registers every module named here through the same
pluggy ``register()`` used for entry points; nothing is registered by importing a module.
"""

BUILTIN_PLUGINS: tuple[str, ...] = (
    "rageval.metrics.translation",
    "rageval.metrics.asr",
    "rageval.metrics.rag",
    "rageval.metrics.perplexity",
    "rageval.metrics.overlap",
    "rageval.metrics.retrieval",
    "rageval.metrics.regression",
    "rageval.metrics.classification",
)
