"""The serving process's end: SIGTERM must still run the ``finally`` that closes the service.

uvicorn catches SIGTERM, shuts the app down, restores the handler it found, and raises the
signal again. With the default handler that ends the process at once, before ``serve``'s
``finally: service.close()``: memory's SQLite write-ahead log is never checkpointed, and a
data directory that is then mounted read-only opens as an empty memory. With
``sigterm_exits`` the re-raised signal becomes ``SystemExit`` and the service closes.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


def _exit(signum: int, _frame: FrameType | None) -> None:
    sys.exit(128 + signum)


@contextmanager
def sigterm_exits() -> Iterator[None]:
    """While inside, SIGTERM raises ``SystemExit`` (exit status 143) instead of killing."""
    previous = signal.signal(signal.SIGTERM, _exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
