"""Stop a generation between tokens once its run is no longer wanted.

The service cancels a run when its client goes away. Between graph events that takes effect
at the next event, which can be a whole sampling step away (nine paths: a minute on a CPU),
and meanwhile the model serves no one. A backend that decodes token by token calls
``check()`` at every step: the check the service installed for this run (``checking``)
raises, the decode frees its sequences, and the model is free for the next question. A
context variable carries the check, so it follows the run into the threads LangGraph runs
nodes in, and nothing below the service needs to know what cancellation is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["check", "checking"]

_CHECK: ContextVar[Callable[[], None] | None] = ContextVar("reason_cancel_check", default=None)


@contextmanager
def checking(check_fn: Callable[[], None]) -> Iterator[None]:
    """Run the block with ``check_fn`` as the check decoders call (it raises to stop them)."""
    token = _CHECK.set(check_fn)
    try:
        yield
    finally:
        _CHECK.reset(token)


def check() -> None:
    """Call the installed check, if any; whatever it raises stops the caller's decode."""
    check_fn = _CHECK.get()
    if check_fn is not None:
        check_fn()
