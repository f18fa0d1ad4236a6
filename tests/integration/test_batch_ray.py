"""``reason batch --ray local`` end to end: a local Ray cluster with 2 workers, the tiny model.

Each test runs the real command in a subprocess (the driver starts the cluster, as a user's
would), so a Ray worker can be killed from here while the driver goes on.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

pytest.importorskip("ray", reason="the ray extra is not installed (pip install .[ray])")

from benchmarks.ray_batch import llama_servers  # noqa: E402
from tests.support.postgres import PostgresServer, postgres_server  # noqa: E402, F401 (fixture)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]


def write_questions(path: Path, count: int) -> None:
    lines = [
        json.dumps({"id": f"q{i}", "question": f"What is {i} + {i + 1}?", "answer": str(2 * i + 1)})
        for i in range(count)
    ]
    path.write_text("\n".join(lines) + "\n")


def batch_cmd(source: Path, output: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "api", "batch", str(source), "-o", str(output), *extra]


def records(output: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.read_text().splitlines()]


@pytest.fixture
def env(small_model_path: Path, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "REASON_MODEL": str(small_model_path),
        "REASON_DATA_DIR": str(tmp_path / "data"),
        # One thread per model, in-process or in each worker: the same numbers both ways.
        "REASON_THREADS": "1",
        "RAY_ADDRESS": "",
    }


def test_ray_batch_gives_the_in_process_answers_and_resumes(
    tmp_path: Path, env: dict[str, str]
) -> None:
    # Sampled paths with seeds: the same seeds must give the same answers on Ray workers.
    source = tmp_path / "in.jsonl"
    write_questions(source, 8)
    flags = ("-c", "sc@8", "--paths", "3", "--max-tokens", "24")
    local, on_ray = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    done = subprocess.run(
        batch_cmd(source, local, *flags), env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    expected = {r["id"]: r for r in records(local)}
    # Resume: three lines are already written, so the Ray run answers only the other five.
    head = local.read_text().splitlines(keepends=True)[:3]
    on_ray.write_text("".join(head))
    done = subprocess.run(
        batch_cmd(source, on_ray, *flags, "--ray", "local", "--workers", "2"),
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "5 answered, 0 error(s), 3 already done" in done.stderr
    got = records(on_ray)
    assert on_ray.read_text().splitlines(keepends=True)[:3] == head
    assert sorted(r["id"] for r in got) == sorted(expected)  # every id once
    for record in got:
        want = expected[record["id"]]
        assert (record["answer"], record["content"], record["votes"]) == (
            want["answer"],
            want["content"],
            want["votes"],
        ), record["id"]


@pytest.fixture
def two_servers(small_model_path: Path, tmp_path: Path) -> Iterator[tuple[list[str], Path]]:
    logs = tmp_path / "logs"
    with llama_servers(small_model_path, 2, threads=1, log_dir=logs) as urls:
        yield urls, logs


def batch_workers(driver: int) -> list[psutil.Process]:
    """The driver's Ray worker processes that hold a BatchWorker."""
    found = []
    for proc in psutil.Process(driver).children(recursive=True):
        try:
            if "BatchWorker" in " ".join(proc.cmdline()):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def test_killed_worker_is_retried_and_every_id_is_written_once(
    tmp_path: Path, env: dict[str, str], two_servers: tuple[list[str], Path]
) -> None:
    urls, logs = two_servers
    source, output = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    count = 24
    write_questions(source, count)
    # --backend-url, repeated, spreads the workers over both servers (the setting names one).
    env = {
        **env,
        "REASON_BACKEND": "openai",
        "REASON_BACKEND_URL": urls[0],
        "REASON_MODEL": "small",
    }
    urls_flags = [flag for url in urls for flag in ("--backend-url", url)]
    proc = subprocess.Popen(
        batch_cmd(source, output, "-c", "cot", "--max-tokens", "48", "--ray", "local", *urls_flags),
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while not (output.exists() and len(output.read_text().splitlines()) >= 2):
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "no answers within 240 s"
            time.sleep(0.05)
        # Ray names a worker's process after the method it runs: kill one mid-question.
        victim = None
        while victim is None:
            workers = batch_workers(proc.pid)
            assert len(workers) == 2, [w.cmdline() for w in workers]
            busy = [w for w in workers if "BatchWorker.answer" in " ".join(w.cmdline())]
            victim = busy[0] if busy else None
        victim.send_signal(signal.SIGKILL)
        written_at_kill = len(output.read_text().splitlines())
        # Ray restarts the worker (a new process) and runs its question again there.
        before = {w.pid for w in workers}
        restarted = False
        while proc.poll() is None and not restarted:
            restarted = bool({w.pid for w in batch_workers(proc.pid)} - before)
            time.sleep(0.05)
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    assert written_at_kill < count, "the run ended before the kill"
    assert restarted, "no worker process replaced the killed one"
    ids = Counter(r["id"] for r in records(output))
    assert ids == Counter(f"q{i}" for i in range(count))  # every id, once
    assert all(r["error"] is None for r in records(output))
    assert f"{count} answered, 0 error(s)" in stderr
    # Round robin: each worker talked to its own server, so both served questions.
    for i in range(2):
        log = (logs / f"llama-server-{i}.log").read_text(errors="replace")
        assert "POST /v1/chat/completions" in log, f"server {i} got no question"


@pytest.mark.postgres
def test_workers_learning_into_one_postgres_memory_store_each_right_answer_once(
    tmp_path: Path,
    env: dict[str, str],
    postgres_server: PostgresServer,  # noqa: F811
) -> None:
    import psycopg

    url = postgres_server.new_database()
    source, output = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_questions(source, 8)
    done = subprocess.run(
        batch_cmd(
            source, output, "-c", "greedy", "--max-tokens", "16", "--learn", "--ray", "local"
        ),
        env={**env, "REASON_MEMORY__URL": url},
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    right = {r["question"] for r in records(output) if r["correct"]}
    assert right, "the tiny model got none right: nothing to store"
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT question, source FROM problems").fetchall()
    # The workers wrote to one memory: every labelled right answer, once.
    assert sorted(q for q, _ in rows) == sorted(right)
    assert {src for _, src in rows} == {"batch"}
