"""The torch side of model loading: the [models] extra check, device and dtype choice, quiet loading.

Nothing here is imported by ``import rageval``; torch and transformers are imported inside
the functions, so the core install (no torch) can list and configure every metric.
"""

from __future__ import annotations

import contextlib
import importlib
import re
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import Field, field_validator

from rageval.errors import ConfigError, RunError
from rageval.metric import MetricParams
from rageval.models.source import MODELS_EXTRA_HINT

DType = Literal["auto", "float32", "float16", "bfloat16"]


class ModelOptions(MetricParams):
    """Parameters every model-backed metric takes, besides its own."""

    model: str | None = Field(None, description="local folder or hub id (default: the scorer's default model)")
    revision: str | None = Field(None, description="hub revision (branch, tag or commit); hub ids only")
    device: str = Field("auto", description="auto (CUDA when present, else CPU), cpu, cuda, cuda:N or mps")
    dtype: DType = Field("float32", description="weights dtype; auto takes the checkpoint's")
    batch_size: int = Field(32, gt=0, le=4096, description="texts per forward pass (does not change scores)")
    max_length: int | None = Field(None, gt=1, description="tokens per model input (default: the model's limit)")
    trust_remote_code: bool = Field(False, description="run code shipped with the model (off unless set)")

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", value):
            raise ValueError(f"device must be auto, cpu, cuda, cuda:N or mps, got {value!r}")
        return value


def require(module: str) -> Any:
    """Import a module of the [models] extra, or fail with the one line that says how to get it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(
            f"this metric needs {module.split('.')[0]}, which comes with the [models] extra: {MODELS_EXTRA_HINT}"
        ) from None


def pick_device(device: str) -> str:
    """The torch device to use: ``auto`` is CUDA when present, else CPU."""
    torch = require("torch")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} was asked for but CUDA is not available; use device: auto or cpu")
    if device == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ConfigError("device 'mps' was asked for but MPS is not available; use device: auto or cpu")
    return device


def torch_dtype(dtype: DType) -> Any:
    """The torch dtype for ``from_pretrained`` (``"auto"`` passes through)."""
    torch = require("torch")
    return "auto" if dtype == "auto" else getattr(torch, dtype)


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """Load a model without transformers' progress bars and advisory warnings on the console."""
    transformers = require("transformers")
    logging = transformers.utils.logging
    bars = logging.is_progress_bar_enabled()
    verbosity = logging.get_verbosity()
    logging.disable_progress_bar()
    logging.set_verbosity_error()
    try:
        yield
    finally:
        logging.set_verbosity(verbosity)
        if bars:
            logging.enable_progress_bar()


def loading_error(name: str, exc: Exception) -> RunError:
    """One line for a model that is there but would not load (damaged or unsupported files, no memory).

    Problems a config can fix (a missing folder, a hub id offline, no [models] extra) are found
    before a run starts and exit 2; this one happens while the run scores, so it exits 1 and
    leaves a run that ``--resume`` completes once the model loads.
    """
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return RunError(f"model {name!r} could not be loaded: {first}")


def load_pretrained(
    source: Any, model_class: str, dtype: DType, device: str, trust_remote_code: bool
) -> tuple[Any, Any]:
    """Tokenizer and model (``transformers.<model_class>``) of ``source``, in eval mode on ``device``.

    Hub ids load only online and at the source's revision; ``trust_remote_code`` stays off
    unless the config sets it for this model. Failures are one :class:`RunError` line.
    """
    transformers = require("transformers")
    options = {
        "revision": source.revision,
        "trust_remote_code": trust_remote_code,
        "local_files_only": source.is_local,
    }
    try:
        with quiet_loading():
            tokenizer = transformers.AutoTokenizer.from_pretrained(source.location, **options)
            model = getattr(transformers, model_class).from_pretrained(
                source.location, dtype=torch_dtype(dtype), **options
            )
    except Exception as exc:
        raise loading_error(source.name, exc) from exc
    model.to(device).eval()
    return tokenizer, model
