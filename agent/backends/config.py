"""Typed configuration of the model backends."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


class BackendConfig(BaseModel):
    """Everything needed to build a model backend; composed by the service settings."""

    kind: Literal["llamacpp", "openai"] = Field(
        "llamacpp", description="llamacpp: in-process model; openai: an OpenAI-compatible server"
    )
    model: str = Field(
        "qwen2.5-1.5b",
        description="A catalogue name, a path to a .gguf file, or hf://OWNER/REPO/FILE.gguf "
        "(llamacpp); the served model name (openai)",
    )
    models_dir: Path = Field(Path("indexes/models"), description="Where model files are kept")
    url: str | None = Field(None, description="Base URL of the OpenAI-compatible server (…/v1)")
    api_key: str | None = Field(None, description="API key sent to the OpenAI-compatible server")
    threads: int = Field(2, ge=1, le=256, description="CPU threads for llama.cpp")
    n_ctx: int = Field(4096, ge=256, le=131072, description="Context window in tokens")
    n_batch: int = Field(512, ge=32, le=8192, description="Prompt tokens evaluated per step")
    max_n: int = Field(16, ge=1, le=64, description="Largest n (parallel sequences) allowed")
    timeout_s: float = Field(300.0, gt=0, description="Per-request timeout (openai backend)")
    retries: int = Field(3, ge=0, le=10, description="Retries of transient errors (openai)")
