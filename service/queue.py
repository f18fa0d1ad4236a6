"""Bounded admission to the model: a few questions run, a few wait, the rest get 429.

The model is the bottleneck, so every way in (REST, Slack in HTTP mode) submits its work to
one ``WorkQueue``: ``max_concurrency`` worker threads run ``Reasoner.solve``; at most
``queue_size`` more requests wait. A request beyond that is refused at once with
``QueueFull`` (HTTP 429 with ``Retry-After``) instead of piling up behind the model.

Work that is no longer wanted (the client went away) is cancelled: a job not started yet is
dropped; a running job sees its ``Cancellation`` flag at the next graph event, or between two
tokens the model decodes (agent/backends/cancel.py), and stops.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


class QueueFull(Exception):
    """Every worker is busy and the waiting line is full."""

    def __init__(self, retry_after: int, depth: int) -> None:
        """Say how long to wait before trying again."""
        super().__init__(f"the model is busy ({depth} request(s) waiting); retry in {retry_after}s")
        self.retry_after = retry_after
        self.depth = depth


class Cancelled(Exception):
    """The request was cancelled (client disconnected, Ctrl-C); raised inside the graph."""


class Cancellation:
    """A flag a job checks at every graph event; ``check`` raises once it is set."""

    def __init__(self) -> None:
        """Start unset."""
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the job to stop at its next event."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether cancel was called."""
        return self._event.is_set()

    def check(self) -> None:
        """Raise ``Cancelled`` when the job should stop."""
        if self._event.is_set():
            raise Cancelled("cancelled")


class WorkQueue:
    """Worker threads for model work, with a bounded waiting line."""

    def __init__(self, max_concurrency: int = 1, queue_size: int = 8) -> None:
        """Create the workers (threads start lazily)."""
        self.max_concurrency = max_concurrency
        self.queue_size = queue_size
        self._pool = ThreadPoolExecutor(max_concurrency, thread_name_prefix="reason-worker")
        self._lock = threading.Lock()
        self._in_flight = 0
        self._recent: deque[float] = deque(maxlen=20)  # seconds of the last jobs

    @property
    def in_flight(self) -> int:
        """Jobs admitted and not finished (running + waiting)."""
        return self._in_flight

    @property
    def depth(self) -> int:
        """Jobs waiting for a worker."""
        return max(0, self._in_flight - self.max_concurrency)

    def retry_after(self) -> int:
        """Seconds a refused client should wait: the waiting line times the recent latency."""
        typical = sum(self._recent) / len(self._recent) if self._recent else 5.0
        rounds = (self.depth + 1) / self.max_concurrency
        return max(1, math.ceil(typical * rounds))

    def record(self, seconds: float) -> None:
        """Remember how long a job took (for ``Retry-After``)."""
        self._recent.append(seconds)

    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        """Admit a job or raise ``QueueFull``; the future resolves in a worker thread."""
        with self._lock:
            if self._in_flight >= self.max_concurrency + self.queue_size:
                raise QueueFull(self.retry_after(), self.depth)
            self._in_flight += 1
        try:
            future = self._pool.submit(fn, *args, **kwargs)
        except RuntimeError:  # shut down
            self._release(None)
            raise
        future.add_done_callback(self._release)
        return future

    def _release(self, _future: Future[Any] | None) -> None:
        with self._lock:
            self._in_flight -= 1

    def shutdown(self) -> None:
        """Drop waiting jobs and wait for running ones."""
        self._pool.shutdown(wait=True, cancel_futures=True)
