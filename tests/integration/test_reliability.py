"""The reliability suite's kill case, short: a real ``reason serve`` SIGKILLed mid-write."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.reliability import disk_full_and_read_only, kill_during_writeback, model_server_dies

pytestmark = pytest.mark.integration


@pytest.mark.timeout(600)
def test_acknowledged_feedback_survives_sigkill(small_model_path: Path, tmp_path: Path) -> None:
    report = kill_during_writeback(
        tmp_path, str(small_model_path), rounds=2, clients=2, on_progress=lambda _: None
    )
    assert report["acknowledged"] >= 1, report["outcomes"]
    assert report["lost"] == 0 and report["duplicate_rows"] == 0
    assert report["integrity_check"] == "ok" and report["index_matches_sqlite"]


@pytest.mark.timeout(600)
def test_a_model_server_killed_mid_answer_is_a_503_and_the_service_recovers(
    small_model_path: Path, tmp_path: Path
) -> None:
    report = model_server_dies(tmp_path, str(small_model_path), on_progress=lambda _: None)
    flight = report["in_flight"]
    assert flight["status"] in (502, 503, 504) and flight["openai_shape"], flight
    assert flight["seconds_after_kill"] <= report["backend_timeout_s"] + 5
    assert report["healthz"] == 200 and report["readyz_while_down"]["status"] == 503
    assert report["after_restart"] == 200 and report["readyz_after"] == 200


@pytest.mark.timeout(600)
def test_a_full_or_read_only_data_dir_still_answers_and_says_why(
    small_model_path: Path, tmp_path: Path
) -> None:
    report = disk_full_and_read_only(tmp_path, str(small_model_path), on_progress=lambda _: None)
    if "not_run" in report:
        pytest.skip(report["not_run"])  # no right to mount a tmpfs here
    assert report["ok"], report


@pytest.mark.timeout(600)
def test_memory_import_killed_mid_way_then_rerun_keeps_every_record_once(tmp_path: Path) -> None:
    # The short form of the kill case for the other durable writer: `reason memory import`.
    total = 3000
    dump = tmp_path / "dump.jsonl"
    dump.write_text(
        "".join(
            json.dumps({"question": f"Import check {i}: what is {i} plus {i}?",
                        "answer": str(2 * i), "path": f"{i} + {i} = {2 * i}", "verified": True})
            + "\n"
            for i in range(total)
        )
    )  # fmt: skip
    data = tmp_path / "data"
    env = {**os.environ, "REASON_DATA_DIR": str(data),
           "REASON_RETRIEVAL__EMBEDDING_MODEL": "hashing-64"}  # fmt: skip
    command = [sys.executable, "-m", "api", "memory", "import", str(dump)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    rows = 0
    while time.monotonic() < deadline and proc.poll() is None and rows < total // 10:
        time.sleep(0.05)
        rows = _problem_rows(data / "memory.db")
    proc.kill()
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, "the import ended before the kill; make it longer"
    killed_at = _problem_rows(data / "memory.db")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    db = sqlite3.connect(data / "memory.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    questions = [q for (q,) in db.execute("SELECT question FROM problems")]
    db.close()
    assert killed_at < total
    assert len(questions) == len(set(questions)) == total


def _problem_rows(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT count(*) FROM problems").fetchone()[0])
    except sqlite3.Error:
        return 0
