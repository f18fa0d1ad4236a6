"""The ``reason`` console script, run as a real subprocess on the tiny model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
REASON = [sys.executable, "-m", "api"]


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        REASON + args, capture_output=True, text=True, cwd=ROOT, env=full_env, timeout=600
    )


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["ask"],
        ["models"],
        ["models", "list"],
        ["models", "pull"],
        ["mcp"],
        ["bench"],
        ["bench", "backend"],
    ],
    ids=lambda a: " ".join(a) or "root",
)
def test_every_command_has_help(args: list[str]) -> None:
    result = _run([*args, "--help"])
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_ask_answers_with_the_graph_and_prints_the_trace(
    small_model_path: Path, tmp_path: Path
) -> None:
    result = _run(
        ["ask", "What is 17*23?", "--config", "sc@8", "--n", "2", "--max-tokens", "24", "--trace"],
        env={"REASON_MODEL": str(small_model_path), "REASON_DATA_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    # Progress in the same words as the API's reasoning_content and Slack (Event.text).
    assert "Paths 2 of 2 done" in result.stderr and "Vote: " in result.stderr
    assert '"config": "sc@8"' in result.stdout


def test_invalid_setting_fails_with_one_line(small_model_path: Path) -> None:
    result = _run(["models", "list"], env={"REASON_THREADS": "lots"})
    assert result.returncode == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert "REASON_THREADS" in lines[0]
    assert "Traceback" not in result.stderr


def test_unknown_model_lists_known_names() -> None:
    result = _run(["ask", "hi"], env={"REASON_MODEL": "gpt-7"})
    assert result.returncode == 2
    assert "qwen2.5-1.5b" in result.stderr and "smollm2-135m" in result.stderr


def test_models_list_shows_the_pulled_test_model(small_model_path: Path) -> None:
    result = _run(["models", "list"], env={"REASON_DATA_DIR": str(small_model_path.parent.parent)})
    assert result.returncode == 0, result.stderr
    row = next(ln for ln in result.stdout.splitlines() if "smollm2-135m" in ln)
    assert "yes" in row


def test_corrupt_model_file_is_pulled_again(small_model_path: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    target = models / small_model_path.name
    data = bytearray(small_model_path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one flipped byte
    target.write_bytes(bytes(data))
    result = _run(["models", "pull", "smollm2-135m"], env={"REASON_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "verified" in result.stdout and "NOT" not in result.stdout
    assert target.read_bytes() == small_model_path.read_bytes()


def test_memory_learn_stores_only_right_answers(small_model_path: Path, tmp_path: Path) -> None:
    import json as _json

    from memory import MemoryConfig, open_store
    from retrieval import RetrievalConfig

    env = {"REASON_MODEL": str(small_model_path), "REASON_DATA_DIR": str(tmp_path)}
    result = _run(["memory", "learn", "--size", "3", "--seed", "7", "--max-tokens", "48"], env)
    assert result.returncode == 0, result.stderr
    report = _json.loads(result.stdout)
    assert report["attempted"] == 3 and report["seed"] == 7
    assert report["added"] + report["merged"] <= report["correct"]
    with open_store(tmp_path, MemoryConfig(), RetrievalConfig()) as store:
        for hit in store.search_problems("how many", k=10, min_score=-1.0):
            assert hit.record.source == "gsm_symbolic:train:seed=7"
            assert hit.record.answer == hit.record.ground_truth


def test_memory_learn_refuses_an_evaluation_seed(small_model_path: Path, tmp_path: Path) -> None:
    env = {"REASON_MODEL": str(small_model_path), "REASON_DATA_DIR": str(tmp_path)}
    result = _run(["memory", "learn", "--size", "1", "--seed", "42"], env)
    assert result.returncode != 0
    assert "reserved for evaluation" in result.stderr


def test_eval_refuses_a_memory_dir_without_a_memory(small_model_path: Path, tmp_path: Path) -> None:
    env = {"REASON_MODEL": str(small_model_path), "REASON_DATA_DIR": str(tmp_path)}
    result = _run(["eval", "-c", "retrieval+sc", "--memory-dir", str(tmp_path / "nope")], env)
    assert result.returncode == 2
    assert "no memory.db there" in result.stderr and "Traceback" not in result.stderr


def test_eval_recalls_from_the_given_memory_dir(small_model_path: Path, tmp_path: Path) -> None:
    # A memory learned elsewhere (here: the seeded principles) serves the retrieval.
    learned = tmp_path / "learned"
    env = {"REASON_MODEL": str(small_model_path), "REASON_DATA_DIR": str(learned)}
    _run(["memory", "seed"], env)
    out = tmp_path / "eval.json"
    run = {"REASON_MODEL": str(small_model_path), "REASON_DATA_DIR": str(tmp_path / "data")}
    result = _run(
        ["eval", "--size", "1", "-c", "retrieval+sc", "--max-tokens", "16", "--output", str(out),
         "--memory-dir", str(learned), "--draws", str(tmp_path / "draws.db")],
        run,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    record = json.loads(out.read_text())["results"]["0"]["retrieval+sc"]
    assert "principles" in record["retrieved"]
    # The data directory's memory was never opened (opening seeds a new one).
    assert not (tmp_path / "data" / "memory.db").exists()
