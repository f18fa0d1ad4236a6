"""Fixtures for API unit tests: a scripted backend (no model), settings, the app, a client."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from agent.backends.base import Completion, GenerationStats, Message
from agent.reasoner import Reasoner
from api.http.app import create_app
from service.compose import Service
from service.queue import WorkQueue
from service.settings import Settings


class ScriptedBackend:
    """A real backend that answers from a script: path i gets ``texts[i % len(texts)]``.

    ``gate`` (when set) makes every call wait until it is released, to fill the queue.
    """

    model_name = "scripted"

    def __init__(self, texts: Sequence[str] = ("so the answer is \\boxed{42}",)) -> None:
        self.texts = list(texts)
        self.last_stats = GenerationStats()
        self.calls: list[list[Message]] = []
        self.gate: threading.Event | None = None
        self.healthy = True

    def generate(
        self, messages: Sequence[Message], *, n: int = 1, **kwargs: object
    ) -> list[Completion]:
        self.calls.append(list(messages))
        if self.gate is not None:
            self.gate.wait(10)
        prefixes = kwargs.get("prefixes") or [""] * n
        return [
            Completion(
                text=str(prefixes[i]) + self.texts[i % len(self.texts)],  # type: ignore[index]
                finish_reason="stop",
                prompt_tokens=10,
                completion_tokens=7,
                seed=i,
            )
            for i in range(n)
        ]

    def stream(self, messages: Sequence[Message], **kwargs: object) -> Iterator[str]:
        yield self.texts[0]

    def health(self) -> bool:
        return self.healthy

    def close(self) -> None:
        pass


@pytest.fixture
def backend() -> ScriptedBackend:
    return ScriptedBackend(["step... \\boxed{42}", "step... \\boxed{42}", "hmm \\boxed{41}"])


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, graph="sc@8", _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def service(backend: ScriptedBackend, settings: Settings) -> Iterator[Service]:
    svc = Service(
        Reasoner(backend, default_config="sc@8"),
        WorkQueue(settings.max_concurrency, settings.queue_size),
        "sc@8",
    )
    yield svc
    svc.queue.shutdown()


@pytest.fixture
async def client(settings: Settings, service: Service) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, service)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c
