"""A ``reason serve`` process (and a llama.cpp model server) for the reliability cases."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from benchmarks.net import free_port, http_ready, stop_process, wait_until_ready

READY_TIMEOUT_S = 180.0
Progress = Callable[[str], None]


@dataclass
class Server:
    """A ``reason serve`` child process on a loopback port."""

    data_dir: Path
    model: str
    env: dict[str, str] = field(default_factory=dict)
    log: Path | None = None  # default: serve.log in the data directory
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the process and wait until /readyz says ready."""
        env = {
            **os.environ,
            "REASON_MODEL": self.model,
            "REASON_DATA_DIR": str(self.data_dir),
            **self.env,
        }
        log = (self.log or self.data_dir / "serve.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            stdout=log,
            stderr=log,
        )
        wait_until_ready(
            http_ready(f"{self.url}/readyz"),
            "reason serve",
            READY_TIMEOUT_S,
            process=self.process,
            log=self.log or self.data_dir / "serve.log",
            interval_s=0.2,
        )

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)

    def stop(self) -> None:
        """SIGTERM and wait (a clean shutdown)."""
        if self.process is not None:
            stop_process(self.process, 60)

    def rss_mb(self) -> float | None:
        """Resident memory of the process (Linux /proc)."""
        if self.process is None:
            return None
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None


@contextmanager
def running(server: Server) -> Iterator[Server]:
    """Start ``server`` for the block; stop it after."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


def ask_question(client: httpx.Client, url: str, question: str, model: str) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": question}], "max_tokens": 16}
    return client.post(f"{url}/v1/chat/completions", json=body, timeout=120)


@contextmanager
def model_server(model: str, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """llama.cpp's OpenAI-compatible server (``python -m llama_cpp.server``) on ``port``."""
    with log.open("ab") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", model, "--host", "127.0.0.1",
             "--port", str(port), "--n_ctx", "2048", "--n_threads", "2",
             "--model_alias", "small"],
            stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_until_ready(
            http_ready(f"http://127.0.0.1:{port}/v1/models", timeout_s=1.0),
            "llama_cpp.server",
            READY_TIMEOUT_S,
            process=proc,
            log=log,
            interval_s=0.3,
        )
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
