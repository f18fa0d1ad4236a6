"""The long-lived objects behind every way in, built once from ``Settings``.

``Service`` holds the ``Reasoner`` (backend + memory + thread checkpointer) and the
``WorkQueue`` that admits work to the model. ``reason serve``, ``reason slack`` and
``reason batch`` each build one with ``build_service``; tests build one around their own
backend with ``Service(reasoner, ...)``.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.backends import Backend, build_backend
from agent.backends.config import BackendConfig
from agent.config import GraphConfig, named_config
from agent.draw_cache import CachingBackend
from agent.reasoner import Answer, EventSink, Reasoner
from agent.sandbox import Sandbox
from api.queue import Cancellation, Cancelled, WorkQueue
from api.settings import Settings

if TYPE_CHECKING:
    from api.metrics import ReasonMetrics
    from memory import MemoryStore

logger = logging.getLogger(__name__)

THREADS_DB = "threads.db"


@dataclass
class Service:
    """What the API, the Slack bot and the batch runner share."""

    reasoner: Reasoner
    queue: WorkQueue = field(default_factory=WorkQueue)
    default_graph: str | GraphConfig = "full"
    _closers: list[Any] = field(default_factory=list)
    metrics: ReasonMetrics | None = None

    @property
    def memory(self) -> MemoryStore | None:
        """The memory store, when the service runs with one."""
        return self.reasoner.memory

    @property
    def backend(self) -> Backend:
        """The main model backend."""
        return self.reasoner.backend

    def backend_healthy(self) -> bool:
        """Whether the backend answers (a backend without ``health`` counts as healthy)."""
        health = getattr(self.backend, "health", None)
        return bool(health()) if callable(health) else True

    def solve(
        self,
        question: str,
        config: GraphConfig | str | None = None,
        *,
        cancellation: Cancellation | None = None,
        on_event: EventSink | None = None,
        **kwargs: Any,
    ) -> Answer:
        """Run ``Reasoner.solve`` (in a worker thread), stopping at an event once cancelled.

        Extra keyword arguments (``thread_id``, ``history``, ``ground_truth``, ``source``)
        go to ``Reasoner.solve``. Metrics and the queue's latency estimate are updated.
        """
        cfg = self.reasoner.config(config or self.default_graph)

        def forward(event: dict[str, Any]) -> None:
            if cancellation is not None:
                cancellation.check()
            if on_event is not None:
                on_event(event)

        if cancellation is not None:
            cancellation.check()
        try:
            answer = self.reasoner.solve(question, cfg, on_event=forward, **kwargs)
        except Cancelled:
            logger.info("cancelled a %s run", cfg.name)
            if self.metrics is not None:
                self.metrics.observe_failure(cfg.name, "cancelled")
            raise
        except Exception:
            if self.metrics is not None:
                self.metrics.observe_failure(cfg.name, "error")
            raise
        self.queue.record(answer.seconds)
        if self.metrics is not None:
            self.metrics.observe(answer, cfg.n)
        return answer

    def close(self) -> None:
        """Stop the workers and release the model, memory and checkpointer."""
        self.queue.shutdown()
        self.reasoner.close()
        for closer in reversed(self._closers):
            closer()
        self._closers.clear()


def open_checkpointer(data_dir: Path) -> tuple[Any, sqlite3.Connection]:
    """LangGraph's SQLite checkpointer on ``data_dir/threads.db`` (shared across threads)."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    data_dir.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(data_dir / THREADS_DB, check_same_thread=False)
    saver = SqliteSaver(conn)
    saver.setup()
    return saver, conn


def ensemble_backends(config: BackendConfig, main: Backend) -> Callable[[str], Backend]:
    """A factory for the other models of an ensemble: ``config`` with another model name.

    Behind a draw cache, the members draw through the same cache, so an evaluation caches
    every model's draws.
    """

    def build(name: str) -> Backend:
        extra = build_backend(config.model_copy(update={"model": name}))
        if isinstance(main, CachingBackend):
            return CachingBackend(extra, main.path, owns_inner=True)  # type: ignore[return-value]
        return extra

    return build


def build_service(
    settings: Settings,
    *,
    memory: bool = True,
    threads: bool = True,
    backend: Backend | None = None,
    source: str = "api",
    memory_dir: Path | None = None,
) -> Service:
    """Open the backend, memory and checkpointer described by the settings.

    Args:
        settings: The service settings.
        memory: Open the memory store (retrieval, write-back, feedback).
        threads: Open the conversation checkpointer.
        backend: Use this backend instead of building the configured one.
        source: Recorded with paths written back to memory.
        memory_dir: Open the memory there instead of in the data directory (an evaluation
            against a memory learned by the benchmark report).
    """
    closers: list[Any] = []
    backend_config = settings.backend_config()
    main = backend if backend is not None else build_backend(backend_config)
    store = None
    if memory:
        from memory import open_store

        store = open_store(memory_dir or settings.data_dir, settings.memory, settings.retrieval)
        closers.append(store.close)
        if store.stats().principles == 0:
            # A new memory starts with the principles we ship, so step-back has something
            # to match on the very first question.
            logger.info("seeded %d principles into a new memory", store.seed_principles())
        if named_config(settings.graph).retrieval:
            # Load the embedding model now, not inside the first request (~3-9 s here).
            store.embedder.embed(["warm-up"])
    checkpointer = None
    if threads:
        checkpointer, conn = open_checkpointer(settings.data_dir)
        closers.append(conn.close)
    if backend is None:
        closers.append(main.close)

    reasoner = Reasoner(
        main,
        memory=store,
        thresholds=settings.memory.writeback,
        checkpointer=checkpointer,
        backend_factory=ensemble_backends(backend_config, main),
        default_config=settings.graph,
        source=source,
        sampling_defaults=settings.sampling_defaults(),
        sandbox=Sandbox(settings.sandbox),
    )
    logger.info(
        "service ready: model=%s memory=%s threads=%s graph=%s",
        main.model_name,
        store is not None,
        checkpointer is not None,
        settings.graph,
    )
    return Service(
        reasoner,
        WorkQueue(settings.max_concurrency, settings.queue_size),
        settings.graph,
        closers,
    )
