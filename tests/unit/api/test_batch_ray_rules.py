"""The Ray batch runner's pure parts, and the error a machine without Ray gets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.config import configure
from api.batch_ray import INSTALL_HINT, memory_conflict, worker_settings
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
URLS = ["http://a:8000/v1", "http://b:8000/v1"]


def openai_settings(**extra: object) -> Settings:
    return Settings(backend="openai", backend_url="http://default:8000/v1", **extra)  # type: ignore[arg-type]


def test_workers_take_the_model_servers_round_robin() -> None:
    settings = openai_settings()
    got = [worker_settings(settings, URLS, i, 2).backend_url for i in range(5)]
    assert got == [URLS[0], URLS[1], URLS[0], URLS[1], URLS[0]]


def test_workers_keep_the_configured_server_without_a_list() -> None:
    assert worker_settings(openai_settings(), [], 3, 1).backend_url == "http://default:8000/v1"


def test_worker_settings_admit_k_questions_and_an_absolute_data_dir() -> None:
    settings = Settings(data_dir=Path("relative/data"))
    worker = worker_settings(settings, URLS, 0, 3)
    assert (worker.max_concurrency, worker.queue_size) == (3, 3)
    assert worker.data_dir.is_absolute()
    assert worker.backend_url is None  # llamacpp: the URLs are not used


@pytest.mark.parametrize(
    ("url", "workers", "config", "learn", "conflict"),
    [
        (None, 2, "full", False, True),
        (None, 2, "greedy", True, True),
        (None, 2, "retrieval+sc", False, False),
        (None, 1, "full", False, False),
        ("postgresql://u:p@db/reason", 4, "full", True, False),
    ],
    ids=["sqlite-writes", "sqlite-learns", "sqlite-reads", "one-worker", "postgres"],
)
def test_only_sqlite_written_by_several_workers_is_a_conflict(
    url: str | None, workers: int, config: str, learn: bool, conflict: bool
) -> None:
    settings = Settings()
    settings = settings.model_copy(
        update={"memory": settings.memory.model_copy(update={"url": url})}
    )
    reason = memory_conflict(settings, workers, configure(config, {}), learn)
    assert (reason is not None) == conflict
    if reason is not None:
        assert "REASON_MEMORY__URL" in reason


def batch_without_ray(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """``reason batch ... --ray local`` in an interpreter that cannot import ray, whether or
    not this venv has it."""
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "q1", "question": "What is 2 + 2?"}) + "\n")
    argv = ["reason", "batch", str(source), "-o", str(tmp_path / "o.jsonl"), *flags]
    code = (
        "import sys; sys.modules['ray'] = None; from api.cli import main; "
        f"sys.argv = {argv + ['--ray', 'local']!r}; main()"
    )
    env = {**os.environ, "REASON_DATA_DIR": str(tmp_path / "data")}
    env.pop("REASON_MEMORY__URL", None)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_batch_on_ray_without_ray_names_the_extra(tmp_path: Path) -> None:
    done = batch_without_ray(tmp_path, "-c", "greedy")
    assert done.returncode == 2, done.stderr
    assert INSTALL_HINT in done.stderr and "ray" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "o.jsonl").exists()


def test_two_workers_learning_into_sqlite_are_refused_before_any_cluster(tmp_path: Path) -> None:
    done = batch_without_ray(tmp_path, "-c", "greedy", "--learn", "--workers", "2")
    assert done.returncode == 2, done.stderr
    assert "REASON_MEMORY__URL" in done.stderr and "SQLite" in done.stderr
    assert not (tmp_path / "o.jsonl").exists()
