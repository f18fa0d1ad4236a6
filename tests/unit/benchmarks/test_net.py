"""``wait_until_ready``: the one polling loop the benchmarks and test servers wait on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.net import free_port, http_ready, stop_process, wait_until_ready


def test_returns_once_the_probe_says_ready() -> None:
    calls: list[int] = []

    def third_time() -> bool:
        calls.append(1)
        return len(calls) == 3

    wait_until_ready(third_time, "thing", 5, interval_s=0.01)
    assert len(calls) == 3


def test_a_process_that_exits_ends_the_wait_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "child.log"
    log.write_text("boot\nno config file\n")
    child = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    child.wait(30)
    with pytest.raises(RuntimeError, match=r"(?s)child exited with 3: .*no config file"):
        wait_until_ready(lambda: False, "child", 5, process=child, log=log, tail=20)
    with pytest.raises(RuntimeError, match=rf"child exited with 3; see {log}"):
        wait_until_ready(lambda: False, "child", 5, process=child, log=log)


def test_times_out_with_the_given_error_class() -> None:
    class Unavailable(RuntimeError):
        pass

    with pytest.raises(Unavailable, match="peer not ready after 0 s"):
        wait_until_ready(lambda: False, "peer", 0.05, interval_s=0.01, error=Unavailable)


def test_an_http_probe_of_a_closed_port_is_not_ready() -> None:
    assert http_ready(f"http://127.0.0.1:{free_port()}/health", timeout_s=1.0)() is False


def test_stop_kills_a_process_that_ignores_sigterm_after_the_grace() -> None:
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1)"
    child = subprocess.Popen(
        [sys.executable, "-c", stubborn + "; time.sleep(60)"], stdout=subprocess.PIPE
    )
    assert child.stdout is not None and child.stdout.readline()  # the handler is in place
    stop_process(child, 0.5)
    assert child.returncode == -9
    child.stdout.close()
    stop_process(child)  # an ended process: nothing to do
