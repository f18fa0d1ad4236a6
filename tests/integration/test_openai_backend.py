"""The OpenAI-compatible backend against a real ``python -m llama_cpp.server`` on localhost."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.backends.config import BackendConfig
from agent.backends.openai_compat import OpenAICompatBackend
from agent.errors import BackendTimeout, BackendUnavailable
from benchmarks.net import free_port, http_ready, stop_process, wait_until_ready
from tests.integration.backend_contract import CHAT, BackendContract

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server_url(small_model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real llama.cpp OpenAI-compatible server on the tiny model."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(small_model_path),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--n_ctx",
                "2048",
                "--n_threads",
                "2",
                "--model_alias",
                "smollm2-135m",
                "--logits_all",
                "true",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_ready(
            http_ready(f"{url}/models", timeout_s=1.0),
            "llama_cpp.server",
            120,
            process=proc,
            log=log,
            tail=2000,
        )
        yield url
    finally:
        # SIGKILL after 30 s: a generation the slow-server test left behind keeps SIGTERM waiting.
        stop_process(proc, 30)


@pytest.fixture
def backend(server_url: str) -> Iterator[OpenAICompatBackend]:
    b = OpenAICompatBackend(
        BackendConfig(kind="openai", model="smollm2-135m", url=server_url, retries=1, max_n=8)
    )
    yield b
    b.close()


def test_returns_n_completions_even_from_a_one_choice_server(
    backend: OpenAICompatBackend,
) -> None:
    comps = backend.generate(CHAT, n=3, temperature=1.0, max_tokens=20, seed=3)
    assert len(comps) == 3
    assert [c.seed for c in comps] == [3, 4, 5]
    assert len({c.text for c in comps}) >= 2
    assert all(c.prompt_tokens > 0 and c.completion_tokens > 0 for c in comps)


def test_same_seed_reproduces(backend: OpenAICompatBackend) -> None:
    a = backend.generate(CHAT, n=1, temperature=1.0, max_tokens=16, seed=21)
    b = backend.generate(CHAT, n=1, temperature=1.0, max_tokens=16, seed=21)
    assert a[0].text == b[0].text


def test_logprobs_are_parsed(backend: OpenAICompatBackend) -> None:
    (c,) = backend.generate(CHAT, n=1, temperature=0.0, max_tokens=6, logprobs=3)
    assert c.logprobs is not None and len(c.logprobs) > 0
    assert all(len(lp.top) >= 1 for lp in c.logprobs)


class TestOpenAIContract(BackendContract):
    """The backend contract, over HTTP (the ``backend`` fixture above)."""


def test_server_down_raises_backend_unavailable() -> None:
    b = OpenAICompatBackend(
        BackendConfig(kind="openai", model="x", url=f"http://127.0.0.1:{free_port()}/v1", retries=1)
    )
    with pytest.raises(BackendUnavailable, match="unreachable"):
        b.generate(CHAT, n=1, max_tokens=4)


def test_slow_server_raises_backend_timeout(server_url: str) -> None:
    b = OpenAICompatBackend(
        BackendConfig(
            kind="openai", model="smollm2-135m", url=server_url, retries=0, timeout_s=0.05
        )
    )
    with pytest.raises(BackendTimeout, match="timed out"):
        b.generate(CHAT, n=1, max_tokens=200)
