"""The long-lived objects behind every way in, built once from ``Settings``.

``Service`` holds the ``Reasoner`` (backend + memory + thread checkpointer + answer log) and
the ``WorkQueue`` that admits work to the model. With a PostgreSQL memory the threads and the
answer records live in that database too (service/pg_state.py), so replicas hold no
conversation or answer of their own; otherwise threads are in ``threads.db`` and answers in
process. Every way in (REST, SSE, Slack, batch, MCP, the CLI's
ask/eval/learn) hands it an ``Ask`` (a configuration name and the request's overrides)
through ``submit`` (or its waiting wrappers ``answer`` and ``answer_async``) and gets an
``Answer``; the service resolves the configuration. ``reason serve``, ``reason slack``, ``reason
batch`` and the CLI build one with ``build_service``; tests build one around their own
backend with ``Service(reasoner, ...)``.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from agent import telemetry
from agent.answers import AnswerLog
from agent.backends import Backend, build_backend, cancel
from agent.backends.caching import CachingBackend
from agent.backends.config import BackendConfig
from agent.config import GraphConfig, configure, named_config
from agent.events import Event
from agent.feedback import FeedbackResult
from agent.reasoner import Answer, EventSink, Reasoner
from agent.sandbox import Sandbox
from service.queue import Cancellation, Cancelled, QueueFull, WorkQueue
from service.settings import Settings
from service.tracing import flush_tracing, setup_tracing

if TYPE_CHECKING:
    from memory import MemoryInterface

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

THREADS_DB = "threads.db"


class Observer(Protocol):
    """What the service reports each run to (the HTTP way in's Prometheus metrics)."""

    def observe(self, answer: Answer, budget: int) -> None:
        """A run answered; ``budget`` is its configuration's path budget."""

    def observe_failure(self, config: str, outcome: str) -> None:
        """A run failed (``error``) or was cancelled (``cancelled``)."""


@dataclass(frozen=True)
class Ask:
    """One question, as every way in hands it to the service.

    Attributes:
        question: The question (the last user message).
        config: Graph configuration by name (None: the service's default), or an object
            already resolved (evaluation's variants); the service resolves a name with its
            sampling defaults (``Service.resolve``).
        overrides: The request's own configuration fields (``n``, ``temperature``...),
            applied last; a None value is left out.
        thread_id: Conversation id; the checkpointer holds the earlier turns.
        history: Earlier user/assistant turns, for a conversation without a thread.
        source: Recorded with what the run writes to memory (api, slack, batch, cli, eval).
        ground_truth: A known right answer (evaluation, learning, labelled batches).
        cancellation: Set it to stop the run at its next graph step.
        on_event: Called with each progress event, in the worker thread.
    """

    question: str
    config: GraphConfig | str | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    thread_id: str | None = None
    history: Sequence[Mapping[str, str]] | None = None
    source: str = "api"
    ground_truth: str | None = None
    cancellation: Cancellation = field(default_factory=Cancellation)
    on_event: EventSink | None = None


@dataclass
class Service:
    """What every way in shares: the reasoner and the queue that admits work to it."""

    reasoner: Reasoner
    queue: WorkQueue = field(default_factory=WorkQueue)
    default_graph: str | GraphConfig = "full"
    _closers: list[Any] = field(default_factory=list)
    metrics: Observer | None = None

    @property
    def memory(self) -> MemoryInterface | None:
        """The memory store, when the service runs with one."""
        return self.reasoner.memory

    @property
    def backend(self) -> Backend:
        """The main model backend."""
        return self.reasoner.backend

    @property
    def sandbox(self) -> Sandbox | None:
        """The sandbox that runs program paths' programs (None until a configuration needs it)."""
        return self.reasoner.sandbox

    def backend_healthy(self) -> bool:
        """Whether the backend answers (a backend without ``health`` counts as healthy)."""
        health = getattr(self.backend, "health", None)
        return bool(health()) if callable(health) else True

    def resolve(self, ask: Ask) -> GraphConfig:
        """The configuration ``ask`` runs: its name (or the service's default) with the
        sampling defaults, then its overrides.

        Raises:
            ConfigError: An unknown configuration name.
            pydantic.ValidationError: An override the configuration refuses.
        """
        return self.reasoner.config(ask.config or self.default_graph, **ask.overrides)

    def submit(self, ask: Ask) -> Future[Answer]:
        """Admit one question to the work queue: the one route from a way in to the model.

        The configuration is resolved first, so a refused one never takes a place in the queue.

        Raises:
            ConfigError: An unknown configuration name.
            pydantic.ValidationError: An override the configuration refuses (HTTP 422).
            QueueFull: Every worker is busy and the waiting line is full (HTTP 429).
        """
        cfg = self.resolve(ask)
        return self._submit_traced(self._run, ask, cfg)

    def _submit_traced(self, fn: Callable[..., _T], *args: Any) -> Future[_T]:
        """Queue ``fn(*args)``; with tracing on, the worker runs in the caller's context, so
        its spans continue the caller's trace (a question's under the way in's span, an HTTP
        request continuing a traceparent; write-back after an answer under ``reason.solve``)."""
        if telemetry.enabled():
            return self.queue.submit(contextvars.copy_context().run, fn, *args)
        return self.queue.submit(fn, *args)

    def answer(self, ask: Ask) -> Answer:
        """Submit and wait for the answer (CLI, Slack, evaluation); Ctrl-C cancels the run."""
        future = self.submit(ask)
        try:
            return future.result()
        except KeyboardInterrupt:
            if not future.cancel():
                ask.cancellation.cancel()
            raise

    async def answer_async(self, ask: Ask) -> Answer:
        """Answer from async code (REST); if the awaiting task is cancelled, so is the run."""
        future = self.submit(ask)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            if not future.cancel():
                ask.cancellation.cancel()
            raise

    def feedback(
        self, answer_id: str, correct: bool, true_answer: str | None = None
    ) -> Future[FeedbackResult]:
        """Admit feedback to the work queue: a correction writes programs with the model.

        Raises:
            QueueFull: The queue is full (HTTP 429), as for a question.
        """
        return self.queue.submit(self.reasoner.feedback, answer_id, correct, true_answer)

    def _run(self, ask: Ask, cfg: GraphConfig) -> Answer:
        """``Reasoner.solve`` in a worker thread, stopping at an event once cancelled."""
        cancellation = ask.cancellation

        def forward(event: Event) -> None:
            cancellation.check()
            if ask.on_event is not None:
                ask.on_event(event)

        cancellation.check()
        try:
            with (
                telemetry.span(
                    "reason.solve",
                    **{"reason.configuration": cfg.name, "reason.source": ask.source},
                ) as span,
                cancel.checking(cancellation.check),
            ):
                # Decoders call the check between tokens: a cancelled run frees the model at
                # once, not at the end of its sampling step.
                answer = self.reasoner.solve(
                    ask.question,
                    cfg,
                    on_event=forward,
                    thread_id=ask.thread_id,
                    history=ask.history,
                    ground_truth=ask.ground_truth,
                    source=ask.source,
                )
                if span is not None:
                    span.set_attributes(telemetry.answer_attributes(answer.trace))
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

    def later(self, job: Callable[[], None]) -> Future[None] | None:
        """Queue work that follows an answer (write-back's confirmation draws) behind the
        questions already admitted; None when the queue is full (memory skips that answer)."""

        def traced() -> None:
            with telemetry.span("reason.write_back.after_answer"):
                job()

        try:
            return self._submit_traced(traced)
        except (QueueFull, RuntimeError):  # full, or shut down
            return None

    def write_back_after_answers(self) -> None:
        """Return answers before write-back's confirmation draws (REST, Slack, MCP)."""
        self.reasoner.after_answer = self.later

    def own(self, close: Callable[[], object]) -> None:
        """Close this too when the service closes (after what was opened before it)."""
        self._closers.insert(0, close)

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
            return CachingBackend(extra, main.path, owns_inner=True)
        return extra

    return build


def resolver(settings: Settings) -> Callable[[Ask], GraphConfig]:
    """``Service.resolve`` of the service ``build_service(settings)`` builds, without building
    one: the Ray batch driver checks its lines with it, and its workers' services, built from
    the same settings, resolve them again.
    """
    defaults = settings.sampling_defaults()

    def resolve(ask: Ask) -> GraphConfig:
        return configure(ask.config or settings.graph, defaults, **ask.overrides)

    return resolve


def build_service(
    settings: Settings,
    *,
    memory: bool = True,
    threads: bool = True,
    backend: Backend | None = None,
    source: str = "api",
    memory_dir: Path | None = None,
    write_back_after_answer: bool = False,
) -> Service:
    """Open the backend, memory and checkpointer described by the settings.

    Args:
        settings: The service settings.
        memory: Open the memory store (retrieval, write-back, feedback).
        threads: Open the conversation checkpointer (in the memory's PostgreSQL database when
            it has one, else ``threads.db`` in the data directory).
        backend: Use this backend instead of building the configured one.
        source: Recorded with paths written back to memory.
        memory_dir: Open the memory there instead of in the data directory (an evaluation
            against a memory learned by the benchmark report).
        write_back_after_answer: Answer before write-back's confirmation draws (serving:
            pass ``settings.write_back_after_answer``); off, they run before the answer.
    """
    closers: list[Any] = []
    if setup_tracing():  # OTEL_EXPORTER_OTLP_ENDPOINT set: export spans (off otherwise)
        closers.append(flush_tracing)
    backend_config = settings.backend_config()
    main = backend if backend is not None else build_backend(backend_config)
    store = None
    if memory:
        from memory import open_store

        store = open_store(memory_dir or settings.data_dir, settings.memory, settings.retrieval)
        closers.append(store.close)
        if not store.read_only:
            # Every memory holds the principles we ship (idempotent: only new ones are
            # added), so step-back and principle recall match from the first question.
            added = store.seed_principles()
            if added:
                logger.info("seeded %d shipped principles into the memory", added)
        if named_config(settings.graph).retrieval:
            # Load the embedding model now, not inside the first request (~3-9 s here).
            store.embedder.embed(["warm-up"])
    checkpointer = None
    answers: AnswerLog | None = None  # None: the Reasoner keeps its last answers in process
    shared = settings.memory.url if store is not None else None
    if shared and store is not None and store.read_only:
        # A hot standby: nothing can be written there, so answer records stay in process
        # and conversations have no thread (a local file would tie them to this replica).
        logger.warning("read-only memory database: answer records in process, no threads")
        shared, threads = None, False
    if shared:
        # Stateless replicas: answer records and threads in the memory's database.
        from service.pg_state import PostgresAnswers, open_pg_checkpointer, open_state_pool

        pool = open_state_pool(shared)
        closers.append(pool.close)
        answers = PostgresAnswers(pool, settings.answers_retention_days)
        if threads:
            checkpointer = open_pg_checkpointer(pool)
    elif threads:
        try:
            checkpointer, conn = open_checkpointer(settings.data_dir)
            closers.append(conn.close)
        except (sqlite3.Error, OSError) as ex:
            # A read-only data directory: answer without conversation threads.
            logger.warning("conversation threads are off: cannot open %s (%s)", THREADS_DB, ex)
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
        answers=answers,
        trust_reviewers=settings.feedback_trusts_reviewers,
    )
    logger.info(
        "service ready: model=%s memory=%s threads=%s answers=%s graph=%s",
        main.model_name,
        store is not None,
        "postgres" if shared and checkpointer is not None else checkpointer is not None,
        "postgres" if answers is not None else "in process",
        settings.graph,
    )
    service = Service(
        reasoner,
        WorkQueue(settings.max_concurrency, settings.queue_size),
        settings.graph,
        closers,
    )
    if write_back_after_answer:
        service.write_back_after_answers()
    return service
