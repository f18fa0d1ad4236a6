"""``reason batch`` end to end on the tiny model: 20 labelled questions, kill and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1500)]

ROOT = Path(__file__).resolve().parents[2]


def write_questions(path: Path, count: int = 20) -> None:
    lines = [
        json.dumps({"id": f"q{i}", "question": f"What is {i} + {i + 1}?", "answer": str(2 * i + 1)})
        for i in range(count)
    ]
    path.write_text("\n".join(lines) + "\n")


def batch_cmd(source: Path, output: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "api",
        "batch",
        str(source),
        "-o",
        str(output),
        "-c",
        "greedy",
        "--max-tokens",
        "16",
    ]


@pytest.fixture
def env(small_model_path: Path, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "REASON_MODEL": str(small_model_path),
        "REASON_DATA_DIR": str(tmp_path / "data"),
        "REASON_THREADS": "2",
    }


def ids(output: Path) -> list[str]:
    return [json.loads(line)["id"] for line in output.read_text().splitlines()]


def test_batch_of_twenty_labelled_questions_writes_twenty_lines_and_accuracy(
    tmp_path: Path, env: dict[str, str]
) -> None:
    source, output = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_questions(source)
    done = subprocess.run(
        batch_cmd(source, output), env=env, cwd=ROOT, capture_output=True, text=True, timeout=1200
    )
    assert done.returncode == 0, done.stderr
    assert sorted(ids(output)) == sorted(f"q{i}" for i in range(20))
    assert "accuracy:" in done.stdout and "/20 = " in done.stdout
    record = json.loads(output.read_text().splitlines()[0])
    assert record["expected"] is not None and isinstance(record["correct"], bool)


def test_killed_run_resumes_without_duplicates(tmp_path: Path, env: dict[str, str]) -> None:
    source, output = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_questions(source)
    proc = subprocess.Popen(
        batch_cmd(source, output),
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if output.exists() and len(output.read_bytes().splitlines()) >= 5:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    first = ids(output)
    assert 5 <= len(first) < 20, "the kill should land half-way"
    done = subprocess.run(
        batch_cmd(source, output), env=env, cwd=ROOT, capture_output=True, text=True, timeout=1200
    )
    assert done.returncode == 0, done.stderr
    final = ids(output)
    assert len(final) == 20 and len(set(final)) == 20
    assert final[: len(first)] == first  # the first run's lines are kept, not rewritten
    assert f"{len(first)} already done" in done.stderr
