"""optillm as a peer: its approaches in front of the same model, scored by the same scorer.

Two processes: ``python -m llama_cpp.server`` serves the GGUF our backend runs in-process,
and optillm (its own venv, ``benchmarks/peers/setup_optillm.sh``) proxies it. Each request
names the approach with ``extra_body={"optillm_approach": ...}``. optillm flattens the chat
into ``User: ...`` text, and approaches that send no temperature / max_tokens get the
server's defaults (llama_cpp.server: temperature 0.8, no length cap) -- recorded in
``settings`` beside the scores. optillm's own ``usage`` counts its final answer only, so a
usage meter (``usage_meter.py``) sits between optillm and the server and counts what the
model really generated per question. Failures are recorded per question, never hidden.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from agent.extract import TaskKind, extract_answer
from agent.prompts import system_prompt
from benchmarks.net import free_port, http_ready, stop_process, wait_until_ready
from benchmarks.peers.usage_meter import UsageMeter
from evaluation.evaluate import Question

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
OPTILLM_VENV = ROOT / ".venv-optillm"
#: Approach names as optillm 0.4.0 spells them.
DEFAULT_APPROACHES = ("self_consistency", "re2", "cot_reflection")


class PeerUnavailable(RuntimeError):
    """optillm or the model server cannot be started here; the reason is the message."""


@contextmanager
def _process(
    cmd: list[str], log: Path, ready_url: str, timeout: float, env: dict[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, env=env)
        try:
            wait_until_ready(
                http_ready(ready_url, lambda status: status < 500),
                f"{proc.args!r} ({ready_url})",
                timeout,
                process=proc,
                log=log,
                tail=800,
                error=PeerUnavailable,
            )
            yield proc
        finally:
            stop_process(proc)


@contextmanager
def optillm_proxy(
    gguf: Path, work_dir: Path, *, threads: int = 2, n_ctx: int = 4096, venv: Path = OPTILLM_VENV
) -> Iterator[tuple[str, UsageMeter]]:
    """Start llama_cpp.server on ``gguf``, the usage meter and optillm in front of them.

    Yields:
        optillm's base URL and the meter counting the server's tokens.

    Raises:
        PeerUnavailable: optillm is not installed, or a server did not start.
    """
    binary = venv / "bin" / "optillm"
    if not binary.exists():
        raise PeerUnavailable(f"{binary} missing: run benchmarks/peers/setup_optillm.sh")
    model_port, meter_port, proxy_port = free_port(), free_port(), free_port()
    meter = UsageMeter(f"http://127.0.0.1:{model_port}")
    env = {**os.environ, "OPENAI_API_KEY": "none"}
    server = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(gguf),
        "--model_alias", "peer", "--port", str(model_port), "--host", "127.0.0.1",
        "--n_threads", str(threads), "--n_ctx", str(n_ctx),
    ]  # fmt: skip
    proxy = [
        str(binary), "--base-url", f"http://127.0.0.1:{meter_port}/v1",
        "--port", str(proxy_port), "--host", "127.0.0.1",
    ]  # fmt: skip
    with (
        _process(server, work_dir / "llama_server.log", f"http://127.0.0.1:{model_port}/v1/models",
                 120, env),
        meter.serve(meter_port),
        _process(proxy, work_dir / "optillm.log", f"http://127.0.0.1:{proxy_port}/health",
                 300, env),
    ):  # fmt: skip
        yield f"http://127.0.0.1:{proxy_port}/v1", meter


def ask(
    client: Any,
    approach: str,
    question: str,
    *,
    task: TaskKind,
    max_tokens: int,
    temperature: float,
    meter: UsageMeter | None = None,
) -> dict[str, Any]:
    """One question through one approach: the reply text, usage and seconds.

    With a ``meter``, token counts are what the model server generated for this question
    (every request optillm made); optillm's own figure is kept as ``reported_*``.
    """
    before = meter.reading() if meter else None
    t0 = time.perf_counter()
    reply = client.chat.completions.create(
        model="peer",
        messages=[
            {"role": "system", "content": system_prompt("cot", task)},  # same instruction as ours
            {"role": "user", "content": question},
        ],
        max_tokens=max_tokens,
        temperature=temperature,
        extra_body={"optillm_approach": approach},
    )
    seconds = time.perf_counter() - t0
    usage = reply.usage
    record = {
        "text": reply.choices[0].message.content or "",
        "reported_prompt_tokens": getattr(usage, "prompt_tokens", None),
        "reported_completion_tokens": getattr(usage, "completion_tokens", None),
        "prompt_tokens": None,
        "completion_tokens": None,
        "seconds": round(seconds, 3),
    }
    if meter and before is not None:
        used = meter.reading() - before
        record.update(
            prompt_tokens=used.prompt_tokens,
            completion_tokens=used.completion_tokens,
            model_requests=used.requests,
        )
    return record


def run_peer(
    base_url: str,
    questions: Sequence[Question],
    score: Callable[[str | None, Question], bool],
    output: Path,
    *,
    dataset: str,
    task: TaskKind,
    approaches: Sequence[str] = DEFAULT_APPROACHES,
    max_tokens: int = 400,
    temperature: float = 0.7,
    timeout_s: float = 600,
    meter: UsageMeter | None = None,
    on_question: Callable[[str, int], None] | None = None,
) -> dict[str, Any]:
    """Answer ``questions`` with every approach; resumable through ``output`` (JSON).

    Records per question: answer, correct, tokens, seconds, or the error that stopped it.
    """
    from openai import APIError, OpenAI

    data: dict[str, Any] = {"results": {}}
    if output.exists():
        data = json.loads(output.read_text())
    data["meta"] = {
        "peer": "optillm==0.4.0",
        "dataset": dataset,
        "settings": {
            "max_tokens": max_tokens,
            "temperature": temperature,
            "note": "optillm flattens the chat; approaches that drop max_tokens/temperature "
            "get llama_cpp.server defaults (temperature 0.8, no length cap); "
            "requests for n>1 get one choice from llama_cpp.server",
            "tokens": "counted at the model server by a usage meter (every request optillm "
            "made for the question); optillm's own usage is kept as reported_*",
        },
    }
    client = OpenAI(base_url=base_url, api_key="none", timeout=timeout_s, max_retries=0)
    for approach in approaches:
        done = data["results"].setdefault(approach, {})
        for q in questions:
            if str(q.index) in done:
                continue
            try:
                record = ask(
                    client, approach, q.question,
                    task=task, max_tokens=max_tokens, temperature=temperature, meter=meter,
                )  # fmt: skip
                found = extract_answer(record["text"], task)
                answer = found.canonical if found else None
                record.update(answer=answer, correct=score(answer, q), truth=q.answer)
            except (APIError, httpx.HTTPError) as ex:  # recorded: the report says why
                record = {"error": f"{type(ex).__name__}: {ex}"[:500], "correct": False}
            record["text"] = record.get("text", "")[-600:]  # the tail holds the answer
            done[str(q.index)] = record
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(json.dumps(data, indent=1))
            if on_question:
                on_question(approach, q.index)
    return data


def summarize(data: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per approach: accuracy, tokens and seconds per question, errors."""
    from evaluation.evaluate import wilson

    rows = []
    for approach, recs in data.get("results", {}).items():
        if not recs:
            continue
        values = list(recs.values())
        ok = [r for r in values if "error" not in r]
        correct = sum(1 for r in values if r.get("correct"))
        lo, hi = wilson(correct, len(values))

        def mean(key: str, rs: list[dict[str, Any]] = ok) -> float | None:
            xs = [r[key] for r in rs if r.get(key) is not None]
            return sum(xs) / len(xs) if xs else None

        rows.append(
            {
                "config": f"optillm:{approach}",
                "questions": len(values),
                "accuracy": correct / len(values),
                "ci95": [round(lo, 4), round(hi, 4)],
                "completion_tokens": mean("completion_tokens"),
                "prompt_tokens": mean("prompt_tokens"),
                "seconds": mean("seconds"),
                "errors": len(values) - len(ok),
                "first_error": next((r["error"] for r in values if "error" in r), None),
            }
        )
    return rows
