"""Service settings: one typed place, read once at each entry point, passed down.

Environment variables use the prefix ``REASON_`` (``REASON_MODEL``, ``REASON_BACKEND`` ...);
nested sections use ``__`` (``REASON_MEMORY__MIN_VOTE_SHARE=0.6``). A ``.env`` file in the
working directory is read too. Invalid values raise ``ConfigError`` with one line naming
the variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from agent.backends.config import BackendConfig
from agent.errors import ConfigError
from agent.sandbox import SandboxLimits
from memory.config import MemoryConfig
from retrieval.config import RetrievalConfig

ENV_PREFIX = "REASON_"


class Settings(BaseSettings):
    """All settings of the service; see the README's configuration table."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    model: str = Field(
        "qwen2.5-1.5b",
        description="Model name (qwen2.5-1.5b, qwen2.5-0.5b, smollm2-135m), a .gguf path, "
        "or hf://OWNER/REPO/FILE.gguf; for the openai backend, the served model name",
    )
    backend: Literal["llamacpp", "openai"] = Field(
        "llamacpp", description="llamacpp (in-process) or openai (OpenAI-compatible server)"
    )
    backend_url: str | None = Field(
        None, description="Base URL of the OpenAI-compatible server, e.g. http://vllm:8000/v1"
    )
    backend_api_key: str | None = Field(None, description="API key for that server")
    threads: int = Field(2, ge=1, le=256, description="CPU threads for llama.cpp")
    n_ctx: int = Field(4096, ge=256, le=131072, description="Context window in tokens")
    max_n: int = Field(16, ge=1, le=64, description="Largest number of parallel paths")
    backend_timeout_s: float = Field(300.0, gt=0, description="Backend request timeout")
    data_dir: Path = Field(
        Path("indexes"), description="Memory database, FAISS indexes and model files"
    )
    n: int | None = Field(
        None, ge=1, le=64, description="Paths for sampling configurations (default: theirs, 8)"
    )
    temperature: float | None = Field(
        None, ge=0.0, le=2.0, description="Temperature of sampling configurations (0.7)"
    )
    top_p: float | None = Field(None, gt=0.0, le=1.0, description="Nucleus sampling mass (0.95)")
    max_tokens: int | None = Field(
        None, ge=16, le=8192, description="Length cap per path (default: the config's, 400)"
    )
    memory: MemoryConfig = Field(
        default_factory=MemoryConfig, description="Memory store and write-back thresholds"
    )
    sandbox: SandboxLimits = Field(
        default_factory=SandboxLimits,
        description="Limits of the sandbox that runs model-written programs (REASON_SANDBOX__...)",
    )
    retrieval: RetrievalConfig = Field(
        default_factory=RetrievalConfig, description="Embedding model and FAISS index"
    )
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated API keys the service accepts; empty = open",
    )

    admin_api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated keys allowed to delete memory; empty = any valid key",
    )
    graph: str = Field(
        "full", description="Graph configuration used by Slack and batch when none is given"
    )
    queue_size: int = Field(
        8, ge=0, le=10000, description="Requests that may wait for the model; more get 429"
    )
    max_concurrency: int = Field(
        1, ge=1, le=64, description="Questions answered at the same time (the model is shared)"
    )
    max_body_bytes: int = Field(
        1_000_000, ge=1024, description="Largest HTTP request body accepted; larger get 413"
    )
    slack_signing_secret: SecretStr | None = Field(
        None, description="Slack signing secret; when set, Slack events are served at /slack/events"
    )
    slack_bot_token: SecretStr | None = Field(None, description="Slack bot token (xoxb-...)")
    slack_app_token: SecretStr | None = Field(
        None, description="Slack app-level token (xapp-...) for Socket Mode (`reason slack`)"
    )
    slack_api_url: str | None = Field(
        None, description="Slack Web API base URL (default https://slack.com/api/; tests)"
    )
    batch_concurrency: int = Field(
        1, ge=1, le=64, description="Questions in flight at once in `reason batch`"
    )
    feedback_trusts_reviewers: bool = Field(
        False,
        description='Feedback "the right answer is X" stores X as given when no program the '
        "service writes prints it (default: only a program that prints X is stored)",
    )
    write_back_after_answer: bool = Field(
        True,
        description="Serving (REST, Slack, MCP): return an answer before write-back draws the "
        "paths that confirm it for memory (a greedy prose path, ~290 tokens); they run next on "
        "the work queue. Batch and evaluations confirm before answering either way",
    )
    answers_retention_days: float = Field(
        7.0,
        gt=0,
        le=3650,
        description="With a PostgreSQL memory: days an answer stays open to feedback by id "
        "(records are shared by replicas; without PostgreSQL each process keeps its last 2000)",
    )

    @field_validator("api_keys", "admin_api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [k.strip() for k in value.split(",") if k.strip()]
        return value

    @model_validator(mode="after")
    def _check_backend(self) -> Settings:
        if self.backend == "openai" and not self.backend_url:
            raise ValueError("REASON_BACKEND_URL is required when REASON_BACKEND=openai")
        if self.n is not None and self.n > self.max_n:
            raise ValueError(f"REASON_N={self.n} is above REASON_MAX_N={self.max_n}")
        return self

    def sampling_defaults(self) -> dict[str, float | int | None]:
        """The sampling settings that override graph configurations when set."""
        return {
            "n": self.n,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
        }

    @property
    def models_dir(self) -> Path:
        """Where model files are kept."""
        return self.data_dir / "models"

    def backend_config(self) -> BackendConfig:
        """The backend section built from the flat public settings."""
        return BackendConfig(
            kind=self.backend,
            model=self.model,
            models_dir=self.models_dir,
            url=self.backend_url,
            api_key=self.backend_api_key,
            threads=self.threads,
            n_ctx=self.n_ctx,
            max_n=self.max_n,
            timeout_s=self.backend_timeout_s,
        )


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    loc = [str(p) for p in first.get("loc", ())]
    name = ENV_PREFIX + "__".join(loc).upper() if loc else "settings"
    return f"invalid setting {name}: {first.get('msg', 'invalid value')}"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment and .env; raise ConfigError with one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]  # pydantic validates each value
    except ValidationError as ex:
        raise ConfigError(_describe(ex)) from None
