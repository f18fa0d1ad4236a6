"""Loopback helpers shared by the benchmarks and the tests that start servers: a free port,
and one wait-until-ready loop for a child process (a server, a database)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    """A localhost port nothing listens on right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_ready(
    url: str, ok: Callable[[int], bool] = lambda status: status == 200, timeout_s: float = 2.0
) -> Callable[[], bool]:
    """A readiness probe: GET ``url`` answers with a status ``ok`` accepts (by default 200);
    a connection that fails or times out is not ready yet."""

    def probe() -> bool:
        try:
            return ok(httpx.get(url, timeout=timeout_s).status_code)
        except httpx.HTTPError:
            return False

    return probe


def wait_until_ready(
    probe: Callable[[], bool],
    what: str,
    timeout_s: float,
    *,
    process: subprocess.Popen[Any] | None = None,
    log: Path | None = None,
    tail: int = 0,
    interval_s: float = 0.5,
    error: type[Exception] = RuntimeError,
) -> None:
    """Poll ``probe`` until it says ready; the probe runs at least once.

    Args:
        probe: True once ready (``http_ready``, or a database connection that succeeds).
        what: The thing waited for, as messages name it.
        timeout_s: How long to wait.
        process: The child process behind it: its exit ends the wait at once.
        log: Where the process writes; messages point to it.
        tail: Quote the log's last ``tail`` characters instead of pointing to it.
        interval_s: Pause between probes.
        error: The exception class raised.

    Raises:
        error: The process exited, or ``timeout_s`` passed, before the probe said ready.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        if process is not None and process.poll() is not None:
            raise error(f"{what} exited with {process.returncode}{_see(log, tail)}")
        if probe():
            return
        if time.monotonic() > deadline:
            raise error(f"{what} not ready after {timeout_s:.0f} s{_see(log, tail)}")
        time.sleep(interval_s)


def _see(log: Path | None, tail: int) -> str:
    if log is None:
        return ""
    if tail and log.is_file():
        return ": " + log.read_text(errors="replace")[-tail:]
    return f"; see {log}"


def stop_process(process: subprocess.Popen[Any], grace_s: float = 10.0) -> None:
    """SIGTERM a child process and wait; SIGKILL it after ``grace_s`` (a process busy with
    work it will not drop); nothing when it has ended."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(grace_s)
