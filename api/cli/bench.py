"""``reason bench``: the benchmark commands, defined in benchmarks/cli.py and attached here
lazily, so that api/ never imports benchmarks/ until a bench command runs or is listed
(benchmarks/ never imports api/: the packages import in one direction)."""

from __future__ import annotations

import functools

import typer
from typer import _click  # typer carries its own click; its groups are typed with it
from typer.core import TyperGroup


@functools.cache
def _commands() -> TyperGroup:
    from benchmarks.cli import bench_app  # the one import of benchmarks/ from api/

    return typer.main.get_group(bench_app)


class LazyBenchGroup(TyperGroup):
    """A click group whose commands are benchmarks/cli.py's, loaded on first use."""

    def list_commands(self, ctx: _click.Context) -> list[str]:
        """The bench commands' names (loads benchmarks/cli.py)."""
        return _commands().list_commands(ctx)

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        """One bench command (loads benchmarks/cli.py)."""
        return _commands().get_command(ctx, cmd_name)


bench_app = typer.Typer(
    cls=LazyBenchGroup, help="Run benchmarks (never part of CI).", no_args_is_help=True
)
