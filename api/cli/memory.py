"""``reason memory ...``: inspect and maintain the memory store from the command line.

The main CLI mounts this with ``app.add_typer(memory_app, name="memory")``. Settings come
from the root context's ``obj`` (attributes ``data_dir``, ``memory``, ``retrieval``); when an
attribute is missing, the defaults apply (data directory ``indexes/``). Results go to stdout,
errors are one line on stderr with a non-zero exit.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from memory import (
    DEFAULT_DATA_DIR,
    MemoryConfig,
    MemoryInterface,
    MemoryStoreError,
    open_store,
)
from memory.errors import EmbeddingMismatch
from memory.sqlite.backup import backup, restore
from retrieval import RetrievalConfig, RetrievalError

logger = logging.getLogger(__name__)

memory_app = typer.Typer(
    help="Inspect and maintain the memory of solved problems.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

JSON_OPTION = typer.Option(False, "--json", help="Print JSON instead of text.")


def _settings(ctx: typer.Context) -> tuple[Path, MemoryConfig, RetrievalConfig]:
    obj = ctx.find_root().obj
    data_dir = getattr(obj, "data_dir", None) or DEFAULT_DATA_DIR
    memory = getattr(obj, "memory", None) or MemoryConfig()
    retrieval = getattr(obj, "retrieval", None) or RetrievalConfig()
    return Path(data_dir), memory, retrieval


@contextmanager
def _store(ctx: typer.Context, *, reembed: bool = False) -> Iterator[MemoryInterface]:
    """Open the configured store; turn its errors into one-line CLI errors."""
    data_dir, memory, retrieval = _settings(ctx)
    try:
        with open_store(data_dir, memory, retrieval, reembed=reembed) as store:
            yield store
    except (MemoryStoreError, RetrievalError, OSError, UnicodeDecodeError) as ex:
        raise fail(str(ex)) from None


def _sqlite_only(memory: MemoryConfig, command: str) -> None:
    """Backup and restore copy the SQLite file; a PostgreSQL memory has its own tools."""
    if memory.url:
        raise fail(
            f"`reason memory {command}` copies the SQLite memory; the memory is in PostgreSQL "
            "(REASON_MEMORY__URL): use pg_dump / pg_restore, or `reason memory export`"
        )


def fail(message: str) -> typer.Exit:
    """Print one error line to stderr and return the exit to raise (status 1)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@memory_app.command()
def stats(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Show how many problems and principles are stored, by status and domain."""
    with _store(ctx) as store:
        result = store.stats()
    if as_json:
        _print_json(result.to_dict())
        return
    typer.echo(f"problems:   {result.problems} ({result.verified} verified, {result.rejected} not)")
    typer.echo(f"principles: {result.principles}")
    for domain, n in result.by_domain.items():
        typer.echo(f"  {domain}: {n}")
    typer.echo(f"embedding:  {result.embedding_model} ({result.dim}-d), index {result.index_kind}")
    typer.echo(f"database:   {result.db_path} ({result.db_bytes} bytes)")


@memory_app.command()
def search(
    ctx: typer.Context,
    text: str = typer.Argument(..., help="Question to find analogous solved problems for."),
    k: int | None = typer.Option(None, "-k", min=1, max=100, help="Number of results."),
    domain: str | None = typer.Option(None, "--domain", help="Only this task tag."),
    include_unverified: bool = typer.Option(
        False, "--all", help="Include problems rejected by feedback or imported unverified."
    ),
    principles: bool = typer.Option(False, "--principles", help="Search principles instead."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Find stored problems (or principles) similar to a question."""
    with _store(ctx) as store:
        if principles:
            hits: list[Any] = store.search_principles(text, k, domain=domain)
        else:
            hits = store.search_problems(
                text, k, domain=domain, verified_only=not include_unverified
            )
    if as_json:
        _print_json([{"score": round(h.score, 4), **h.record.to_dict()} for h in hits])
        return
    if not hits:
        typer.echo("no matches")
    for hit in hits:
        record = hit.record
        label = record.text if principles else f"{record.question}  ->  {record.answer}"
        typer.echo(f"[{record.id}] {hit.score:.3f}  {label}")


@memory_app.command()
def show(
    ctx: typer.Context,
    problem_id: int = typer.Argument(..., help="Id of the problem."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show one stored problem with its reasoning path and principles."""
    with _store(ctx) as store:
        record = store.get(problem_id)
        linked = store.principles_of(problem_id)
    if as_json:
        _print_json({**record.to_dict(), "principles": [p.text for p in linked]})
        return
    typer.echo(f"id:        {record.id}")
    typer.echo(f"question:  {record.question}")
    typer.echo(f"answer:    {record.answer}")
    typer.echo(f"domain:    {record.domain or '-'}")
    typer.echo(f"verified:  {record.verified} (by {record.verified_by or '-'})")
    typer.echo(f"source:    {record.source or '-'}")
    typer.echo(f"counts:    used {record.use_count}, succeeded {record.success_count}")
    typer.echo(f"evidence:  {json.dumps(record.evidence)}")
    for principle in linked:
        typer.echo(f"principle: {principle.text}")
    typer.echo("path:")
    typer.echo(record.path)


@memory_app.command("export")
def export_(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Output file (.jsonl), overwritten."),
) -> None:
    """Write every problem and principle to a JSON Lines file."""
    with _store(ctx) as store:
        lines = store.export_jsonl(file)
    typer.echo(f"exported {lines} lines to {file}")


@memory_app.command("import")
def import_(
    ctx: typer.Context,
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Input file (.jsonl)."),
) -> None:
    """Import problems and principles from a JSON Lines file; bad lines are listed."""
    with _store(ctx) as store:
        report = store.import_jsonl(file)
    for error in report.errors:
        typer.echo(f"{file}:{error.line}: {error.message}", err=True)
    typer.echo(
        f"added {report.added}, skipped {report.skipped} duplicates, "
        f"{report.principles} new principles, {len(report.errors)} bad lines"
    )
    if report.errors:
        raise typer.Exit(1)


@memory_app.command("backup")
def backup_(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Backup file to write (a SQLite database)."),
) -> None:
    """Copy the memory to FILE with SQLite's online backup: safe while the service runs."""
    data_dir, memory, _ = _settings(ctx)
    _sqlite_only(memory, "backup")
    try:
        report = backup(data_dir / memory.db_name, file)
    except MemoryStoreError as ex:
        raise fail(str(ex)) from None
    typer.echo(
        f"backed up {report.problems} problems and {report.principles} principles "
        f"to {file} ({report.bytes} bytes)"
    )


@memory_app.command("restore")
def restore_(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Backup file written by `reason memory backup`."),
) -> None:
    """Replace the memory with a backup (stop the service first); indexes are rebuilt."""
    data_dir, memory, _ = _settings(ctx)
    _sqlite_only(memory, "restore")
    try:
        report = restore(file, data_dir / memory.db_name)
    except MemoryStoreError as ex:
        raise fail(str(ex)) from None
    with _store(ctx) as store:  # opening rebuilds the indexes from the restored rows
        counts = store.stats()
    typer.echo(
        f"restored {report.problems} problems and {report.principles} principles from "
        f"{file}; indexes rebuilt ({counts.indexed_problems} problems searchable)"
    )


@memory_app.command("rebuild-index")
def rebuild_index(
    ctx: typer.Context,
    reembed: bool = typer.Option(
        False, "--reembed", help="Re-embed every row even if the model did not change."
    ),
) -> None:
    """Rebuild the FAISS indexes from SQLite, re-embedding if the embedding model changed."""
    data_dir, memory, retrieval = _settings(ctx)
    if not reembed:
        try:
            # Opening fails only if the model changed; then every row must be re-embedded.
            open_store(data_dir, memory, retrieval).close()
        except EmbeddingMismatch:
            typer.echo("embedding model changed: re-embedding every row", err=True)
            reembed = True
        except (MemoryStoreError, RetrievalError, OSError) as ex:
            raise fail(str(ex)) from None
    with _store(ctx, reembed=reembed) as store:
        if reembed:  # opening with reembed=True already re-embedded and rebuilt
            result = store.stats()
            problems, principles = result.indexed_problems, result.indexed_principles
        else:
            counts = store.rebuild_index()
            problems, principles = counts["problems"], counts["principles"]
    typer.echo(f"indexed {problems} problems, {principles} principles")


@memory_app.command()
def seed(ctx: typer.Context) -> None:
    """Load the principles shipped with the project (safe to run again)."""
    with _store(ctx) as store:
        added = store.seed_principles()
        total = store.stats().principles
    typer.echo(f"added {added} principles ({total} stored)")


@memory_app.command()
def delete(
    ctx: typer.Context,
    problem_id: int = typer.Argument(..., help="Id of the problem to delete."),
) -> None:
    """Delete one stored problem (its principles stay)."""
    with _store(ctx) as store:
        store.delete(problem_id)
    typer.echo(f"deleted problem {problem_id}")
