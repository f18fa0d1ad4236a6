"""What every ``reason`` command shares: settings, consoles, progress bars, the model.

Kept apart from api/cli/main.py so the command modules (cli_eval, benchmarks/report) can import
it without importing the command tree that registers them.
"""

from __future__ import annotations

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

from agent.backends import Backend, build_backend
from agent.backends.caching import CachingBackend
from agent.errors import ConfigError
from service.compose import Service, build_service
from service.settings import Settings

err = Console(stderr=True)
out = Console()


def settings_of(ctx: typer.Context) -> Settings:
    """The settings read by the group callback."""
    settings = ctx.find_root().obj
    if not isinstance(settings, Settings):
        raise ConfigError("settings were not loaded")
    return settings


def progress_bar() -> Progress:
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
    with progress_bar() as bar:
        task = bar.add_task(f"model {config.model}", total=None)

        def report(done: int, total: int, stage: str) -> None:
            bar.update(task, completed=done, total=total, description=f"{stage} {config.model}")

        return build_backend(config, progress=report)


def open_service(
    settings: Settings,
    *,
    model: str | None = None,
    memory: bool = True,
    cache: Path | None = None,
    memory_dir: Path | None = None,
) -> Service:
    """The service for a CLI command: the API's composition on a backend pulled with a
    progress bar, optionally behind the evaluation's draw cache and on another memory
    directory. The caller closes it (model, memory, cache)."""
    backend: Backend = open_backend(settings, model)
    if cache is not None:
        backend = CachingBackend(backend, cache, owns_inner=True)
    service = build_service(
        settings, memory=memory, threads=False, backend=backend, source="cli", memory_dir=memory_dir
    )
    service.own(backend.close)  # build_service leaves a backend it was given to its caller
    return service
