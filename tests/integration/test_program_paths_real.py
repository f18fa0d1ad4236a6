"""Program paths with the real tiny model, through every way in: the Reasoner, ``reason ask``,
the REST API (official openai client) and ``reason batch``.

SmolLM2-135M writes poor programs, so these tests check the plumbing (the forced code
block, the sandbox run, what the trace shows), not the answers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from agent.config import named_config
from agent.reasoner import Reasoner
from agent.sandbox import Sandbox, SandboxLimits
from service.settings import Settings
from tests.support.servers import serving_api

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
Q = "A farmer has 12 cows and buys 7 more. How many cows does he have now?"
KEY = "sk-test-key"
STATUSES = {"ok", "error", "timeout", "memory", "output_limit", "no_output", "no_answer"}


def test_program_paths_are_forced_into_code_and_run_in_the_sandbox(llamacpp_backend: Any) -> None:
    reasoner = Reasoner(llamacpp_backend, sandbox=Sandbox(SandboxLimits(wall_seconds=5)))
    answer = reasoner.solve(Q, named_config("pot-sc@8", n=3, program_max_tokens=48))
    paths = answer.trace["paths"]
    assert len(paths) == 3
    for p in paths:
        assert p["kind"] == "program"
        assert p["status"] in STATUSES
        assert isinstance(p["program"], str) and "```" not in p["program"]
        assert p["tokens"] <= 48
        assert (p["answer"] is None) == (p["status"] != "ok")
    assert answer.usage["completion_tokens"] == sum(p["tokens"] for p in paths)


def test_full_draws_programs_first(llamacpp_backend: Any) -> None:
    reasoner = Reasoner(llamacpp_backend, sandbox=Sandbox())
    answer = reasoner.solve(
        Q, named_config("mixed-adaptive@8", max_tokens=32, program_max_tokens=32)
    )
    kinds = [p["kind"] for p in answer.trace["paths"]]
    assert kinds[:3] == ["program"] * 3
    assert answer.trace["sampling"]["stop"]
    assert kinds.count("prose") <= 1


@pytest.fixture(scope="module")
def base_url(llamacpp_backend: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("api-programs")
    settings = Settings(_env_file=None, data_dir=data, api_keys=[KEY])  # type: ignore[call-arg]
    with serving_api(settings, llamacpp_backend) as url:
        yield f"{url}/v1"


def test_rest_api_trace_shows_each_program_and_its_output(base_url: str) -> None:
    client = openai.OpenAI(base_url=base_url, api_key=KEY)
    reply = client.chat.completions.create(
        model="reason-program",
        messages=[{"role": "user", "content": Q}],
        max_tokens=32,
        extra_body={"reasoning_paths": 2},
    )
    trace = (reply.model_extra or {})["x_trace"]
    assert trace["config"] == "pot-sc@8"
    assert [p["kind"] for p in trace["paths"]] == ["program", "program"]
    for p in trace["paths"]:
        assert {"program", "stdout", "error", "status", "run_seconds"} <= set(p)


def _env(model: Path, data: Path) -> dict[str, str]:
    return {**os.environ, "REASON_MODEL": str(model), "REASON_DATA_DIR": str(data)}


def test_reason_ask_trace_prints_the_programs(small_model_path: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "api", "ask", Q, "--config", "pot", "--max-tokens", "32", "--trace"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(small_model_path, tmp_path),
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert '"kind": "program"' in done.stdout and '"program":' in done.stdout
    assert '"sandbox": "' in done.stdout  # the layers that held the programs


def test_reason_batch_runs_a_program_configuration(small_model_path: Path, tmp_path: Path) -> None:
    source, output = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    lines = [
        {"id": f"q{i}", "question": f"What is {i} + 2?", "answer": str(i + 2)} for i in range(3)
    ]
    source.write_text("".join(json.dumps(x) + "\n" for x in lines))
    cmd = [sys.executable, "-m", "api", "batch", str(source), "-o", str(output), "-c", "pot"]
    done = subprocess.run(
        [*cmd, "--max-tokens", "32"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(small_model_path, tmp_path / "data"),
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(x) for x in output.read_text().splitlines()]
    assert sorted(r["id"] for r in records) == ["q0", "q1", "q2"]
    assert {r["config"] for r in records} == {"pot"}
    assert all(r["error"] is None for r in records)
