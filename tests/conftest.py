"""Fixtures shared by the whole suite. Every test runs offline and gets a fresh registry."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

for _flag in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ[_flag] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

pytest_plugins = ("model_fixtures",)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _own_model_cache(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Each test's runs cache model outputs in a fresh folder of their own, never in ~/.cache/rageval."""
    monkeypatch.setenv("RAGEVAL_CACHE_DIR", str(tmp_path_factory.mktemp("model-cache")))


@pytest.fixture
def registry():
    from rageval.registry import build_registry

    return build_registry(entry_points=False)


@pytest.fixture
def shared_data() -> Path:
    """../shared/data beside the checkout; tests that need it skip cleanly without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared evaluation data not found at {SHARED_DATA}")
    return SHARED_DATA
