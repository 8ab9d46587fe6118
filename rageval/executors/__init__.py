"""Where batches are scored: in this process, in a pool of worker processes, or on Ray (``[ray]`` extra).

Every executor yields, in dataset order, each batch with one list of outcomes per metric.
Per-sample statistics do not depend on which process or batch scored a sample, so every
executor gives the same results.
"""

from __future__ import annotations

from rageval.executors.local import LocalExecutor, score_batch_safely
from rageval.executors.processes import ProcessExecutor
from rageval.executors.ray import RayExecutor

__all__ = ["LocalExecutor", "ProcessExecutor", "RayExecutor", "score_batch_safely"]
