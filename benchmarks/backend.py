"""Backend throughput: prompt tok/s, single-sequence and n-parallel generation tok/s, RSS.

Run with ``reason bench backend`` (or ``python -m benchmarks.backend``). All figures come
from one process and one loaded model, measured side by side, so their ratios are
meaningful on a shared, noisy machine. Each n is measured ``repeats`` times, interleaved.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import time
from datetime import date
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from agent.backends import build_backend
from agent.backends.base import Message
from evaluation.evaluate import git_commit

PROMPT: list[Message] = [
    {"role": "system", "content": "You are a helpful assistant."},
    {
        "role": "user",
        # Long, open-ended output, so that no sequence stops early at end-of-text and the
        # batch keeps n sequences for all max_tokens steps.
        "content": "List the numbers from 1 to 1000, each on its own line, with its square "
        "and its cube.",
    },
]
RESULTS_DIR = Path(__file__).parent / "results"


class _Row(TypedDict):
    """One batch size's rates (tokens per second) and its speed-up over n = 1."""

    n: int
    prompt_tok_s: float
    generate_tok_s: float
    tokens_generated: float
    raw_decode_tok_s: float | None
    speedup_vs_n1: NotRequired[float]


def _raw_decode_steps(backend: Any, ns: list[int], steps: int = 12) -> dict[int, float]:
    """Tokens/s of bare ``llama_decode`` steps with n sequences: the ceiling for batching.

    No sampling, no Python per token beyond filling the batch: if this does not scale with
    n, the model's matrix kernels are compute-bound on this CPU and batching cannot help.
    """
    import llama_cpp

    prompt = backend.tokenize_chat(PROMPT)
    backend._eval_prompt(prompt)
    for i in range(1, max(ns)):
        llama_cpp.llama_memory_seq_cp(backend._mem, 0, i, -1, -1)
    out: dict[int, float] = {}
    for n in ns:
        t0 = time.perf_counter()
        for step in range(steps):
            backend._decode_step([(100 + j, len(prompt) + step, j) for j in range(n)])
            llama_cpp.llama_synchronize(backend._ctx.ctx)
        out[n] = n * steps / (time.perf_counter() - t0)
        for j in range(n):
            llama_cpp.llama_memory_seq_rm(backend._mem, j, len(prompt), -1)
    return out


def run_backend_benchmark(
    settings: Any,
    *,
    model: str | None = None,
    ns: list[int] | None = None,
    max_tokens: int = 128,
    repeats: int = 2,
    output: Path | None = None,
) -> dict[str, Any]:
    """Measure the configured llama.cpp backend; print a markdown table; write JSON."""
    ns = ns or [1, 2, 4, 5, 8]
    config = settings.backend_config()
    if model:
        config = config.model_copy(update={"model": model})
    config = config.model_copy(update={"max_n": max(max(ns), config.max_n)})
    backend = build_backend(config)
    backend.generate(PROMPT, n=1, max_tokens=8, seed=0)  # warm-up
    runs: dict[int, list[dict[str, float]]] = {n: [] for n in ns}
    for rep in range(repeats):
        for n in ns:
            t0 = time.perf_counter()
            # A fresh prompt each run: the backend would otherwise reuse the cached prompt.
            prompt: list[Message] = [
                PROMPT[0],
                {"role": "user", "content": f"{PROMPT[1]['content']} ({rep}.{n})"},
            ]
            comps = backend.generate(
                prompt, n=n, temperature=0.8, max_tokens=max_tokens, seed=1000 * rep
            )
            wall = time.perf_counter() - t0
            st = backend.last_stats
            runs[n].append(
                {
                    "wall_s": wall,
                    "prompt_tokens": st.prompt_tokens_evaluated,
                    "prompt_s": st.prompt_seconds,
                    "generated": sum(c.completion_tokens for c in comps),
                    "generate_s": st.generate_seconds,
                }
            )
    # ru_maxrss is the true peak of this process, in KiB on Linux.
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    raw = _raw_decode_steps(backend, ns) if hasattr(backend, "_decode_step") else {}
    rows: list[_Row] = []
    for n in ns:
        gen = sum(r["generated"] for r in runs[n])
        gen_s = sum(r["generate_s"] for r in runs[n])
        p_tok = sum(r["prompt_tokens"] for r in runs[n])
        p_s = sum(r["prompt_s"] for r in runs[n])
        rows.append(
            {
                "n": n,
                "prompt_tok_s": p_tok / p_s if p_s else 0.0,
                "generate_tok_s": gen / gen_s if gen_s else 0.0,
                "tokens_generated": gen,
                "raw_decode_tok_s": raw.get(n),
            }
        )
    base = next((r["generate_tok_s"] for r in rows if r["n"] == 1), rows[0]["generate_tok_s"])
    for r in rows:
        r["speedup_vs_n1"] = r["generate_tok_s"] / base if base else 0.0
    report = {
        "benchmark": "backend",
        "date": date.today().isoformat(),
        "git_commit": git_commit(),
        "model": config.model,
        "threads": config.threads,
        "max_tokens": max_tokens,
        "repeats": repeats,
        "machine": f"{platform.machine()} {os.cpu_count()} cpus",
        "peak_rss_mb": rss_peak / 2**20,
        "rows": rows,
    }
    print(f"backend benchmark: {config.model}, {config.threads} threads, {report['date']}")
    print("| n | prompt tok/s | generate tok/s (total) | vs n=1 | llama_decode alone tok/s |")
    print("|---:|---:|---:|---:|---:|")
    for r in rows:
        raw_s = f"{r['raw_decode_tok_s']:.1f}" if r["raw_decode_tok_s"] else "-"
        print(
            f"| {r['n']} | {r['prompt_tok_s']:.1f} | {r['generate_tok_s']:.1f} | "
            f"{r['speedup_vs_n1']:.2f}x | {raw_s} |"
        )
    print(f"peak RSS: {report['peak_rss_mb']:.0f} MB")
    output = output or RESULTS_DIR / f"backend-{config.model}-{report['date']}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2))
    backend.close()
    return report


if __name__ == "__main__":
    from service.settings import load_settings

    run_backend_benchmark(load_settings())
