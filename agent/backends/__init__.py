"""Model backends behind one interface, and the factory that builds one from settings."""

from __future__ import annotations

from agent.backends.base import Backend, Completion, GenerationStats, Message, TokenLogprob
from agent.backends.config import BackendConfig
from agent.backends.provision import Progress, resolve

__all__ = [
    "Backend",
    "BackendConfig",
    "Completion",
    "GenerationStats",
    "Message",
    "TokenLogprob",
    "build_backend",
]


def build_backend(config: BackendConfig, *, progress: Progress | None = None) -> Backend:
    """Build the configured backend; for llamacpp, pull the model first when it is missing.

    Imports are local so that the openai backend does not load llama.cpp and vice versa.
    """
    if config.kind == "openai":
        from agent.backends.openai_compat import OpenAICompatBackend

        return OpenAICompatBackend(config)
    from agent.backends.llamacpp import LlamaCppBackend

    kwargs = {"progress": progress} if progress else {}
    path = resolve(config.model, config.models_dir, **kwargs)
    return LlamaCppBackend(path, config, name=config.model)
