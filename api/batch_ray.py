"""``reason batch --ray ADDRESS``: the batch runner's questions answered by Ray workers.

The driver (this process) reads the input, skips the ids already written and writes every
output line, through ``api.batch.run_lines``: the same code as the in-process batch, so the
output format, exactly-once per id and resuming are the same. Only the answering moves: each
question goes to one of ``workers`` Ray actors, each of which builds its own service with
``service.compose.build_service`` (the composition root every way in uses) from the
driver's settings, with its own backend:

- ``llamacpp``: every worker loads the model in its own process;
- ``openai``: worker ``i`` talks to ``urls[i % len(urls)]`` (round robin over the model
  servers, fixed per worker, so each server sees the same workers all run).

A worker that dies (killed, out of memory, its node lost) is restarted by Ray, which runs
its questions again there (``max_restarts``, ``max_task_retries``): a line is written only
when its answer reaches the driver, so a retried question is still written once. A question
whose worker is lost past its retries is left unwritten and counted as lost; the next run of
the same command answers it.

Memory: workers open the configured memory. PostgreSQL (``REASON_MEMORY__URL``) is shared by
any number of writers. The SQLite store allows one writing process, so with several workers
a configuration that writes to memory is refused (set ``REASON_MEMORY__URL``, or use one
worker); reading it from several workers is fine.

Ray is optional (``pip install .[ray]``) and imported only here, when a run asks for it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from agent.config import GraphConfig
from agent.errors import ConfigError, ReasonerError
from agent.reasoner import Answer
from api.batch import Item, Unanswered, ask_for
from service.compose import Ask, resolver
from service.queue import Cancellation
from service.settings import Settings

logger = logging.getLogger(__name__)

INSTALL_HINT = "pip install .[ray]"
# A worker is restarted this many times, and each of its questions run again this many times,
# before its questions count as lost.
MAX_RESTARTS = 3
MAX_TASK_RETRIES = 3
# Object store of a local cluster this command starts: it only carries questions and answers.
LOCAL_OBJECT_STORE_BYTES = 256 * 1024 * 1024


class RayWorkersLost(ReasonerError):
    """Every Ray worker died past its restarts; the lines not written are answered on rerun."""


def require_ray() -> ModuleType:
    """Import Ray, or say which extra installs it."""
    try:
        import ray
    except ImportError as ex:
        raise ConfigError(
            f"batch on Ray needs the ray extra, which is not installed: {INSTALL_HINT} "
            "(in this project's folder; or pip install 'reason-agent[ray]')"
        ) from ex
    return ray


def worker_settings(settings: Settings, urls: Sequence[str], index: int, k: int) -> Settings:
    """Settings for worker ``index``: its model server (round robin) and ``k`` in flight.

    Args:
        settings: The driver's settings.
        urls: Model server base URLs for the openai backend (empty: ``backend_url``).
        index: The worker's number, from 0.
        k: Questions the worker answers at once.
    """
    update: dict[str, Any] = {"max_concurrency": k, "queue_size": k}
    if settings.backend == "openai" and urls:
        update["backend_url"] = urls[index % len(urls)]
    # Relative paths would resolve against each worker's working directory.
    update["data_dir"] = settings.data_dir.resolve()
    return settings.model_copy(update=update)


def memory_conflict(settings: Settings, workers: int, cfg: GraphConfig, learn: bool) -> str | None:
    """Why these workers may not write this memory, or None when they may.

    The SQLite store takes one writing process; PostgreSQL takes any number.
    """
    if settings.memory.url or workers == 1:
        return None
    if learn or cfg.write_back:
        return (
            f"{workers} Ray workers would write one SQLite memory from {workers} processes "
            f"(configuration {cfg.name!r}{', --learn' if learn else ''}): set "
            "REASON_MEMORY__URL to a PostgreSQL memory they share, run one worker, or use a "
            "configuration that does not write to memory"
        )
    return None


class BatchWorker:
    """A Ray actor: one service built by the composition root, answering batch lines."""

    def __init__(self, settings: Settings, memory: bool) -> None:
        """Build the service (model, memory) this worker answers with."""
        from service.compose import build_service

        logging.basicConfig(level=logging.WARNING)  # a worker process is a surface of its own
        self.service = build_service(settings, memory=memory, threads=False, source="batch")
        self.running: dict[str, Cancellation] = {}

    def ready(self) -> int:
        """The worker's process id, once its service is built."""
        return os.getpid()

    def answer(self, item: Item, learn: bool) -> tuple[Answer, float]:
        """Answer one line; also return the seconds it took here (for the overhead)."""
        cancel = Cancellation()
        self.running[item.key] = cancel
        t0 = time.perf_counter()
        try:
            answer = self.service.answer(ask_for(item, learn, cancel))
        finally:
            self.running.pop(item.key, None)
        return answer, time.perf_counter() - t0

    def cancel(self, key: str) -> None:
        """Stop the line ``key`` at its next graph event (Ctrl-C in the driver)."""
        cancel = self.running.get(key)
        if cancel is not None:
            cancel.cancel()


@dataclass
class _Slot:
    actor: Any
    in_flight: int = 0
    dead: bool = False


@dataclass
class RayDispatch:
    """``api.batch.Dispatch`` over Ray actors, ``k`` questions at once in each.

    Each question goes to the live worker with the fewest in flight (the first on ties).
    ``timings`` collects (seconds from submit to answer in the driver, seconds in the
    worker) per answered line: their difference is what going through Ray costs.
    """

    ray: ModuleType
    slots: list[_Slot]
    k: int
    resolver: Callable[[Ask], GraphConfig]
    memory_guard: Callable[[GraphConfig], str | None] = lambda cfg: None
    timings: list[tuple[float, float]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def capacity(self) -> int:
        """k per live worker."""
        return self.k * sum(not s.dead for s in self.slots)

    def resolve(self, ask: Ask) -> GraphConfig:
        """What the workers' services resolve (their settings are the driver's)."""
        return self.resolver(ask)

    def submit(self, item: Item, learn: bool) -> tuple[Future[Answer], Callable[[], None]]:
        """Send ``item`` to a worker; the future holds its answer or its error."""
        result: Future[Answer] = Future()
        conflict = self.memory_guard(self.resolve(ask_for(item, learn))) if not learn else None
        if conflict is not None:
            result.set_exception(ConfigError(conflict))
            return result, lambda: None
        with self._lock:
            live = [s for s in self.slots if not s.dead]
            if not live:
                raise RayWorkersLost(
                    "every Ray worker died; run the same command again to answer the rest"
                )
            slot = min(live, key=lambda s: s.in_flight)
            slot.in_flight += 1
        t0 = time.perf_counter()
        ref = slot.actor.answer.remote(item, learn)
        ray = self.ray

        def settle(done: Future[tuple[Answer, float]]) -> None:
            with self._lock:
                slot.in_flight -= 1
            try:
                answer, worker_s = done.result()
            except ray.exceptions.RayTaskError as ex:  # the question failed in the worker
                result.set_exception(ex.cause if isinstance(ex.cause, Exception) else ex)
            except ray.exceptions.RayActorError as ex:  # the worker is gone past retries
                with self._lock:
                    slot.dead = True
                logger.warning("a Ray worker was lost with line %r: %s", item.key, ex)
                result.set_exception(Unanswered(str(ex)))
            except BaseException as ex:  # noqa: BLE001 - cancelled, or Ray's own errors
                result.set_exception(ex if isinstance(ex, Exception) else Unanswered(str(ex)))
            else:
                self.timings.append((time.perf_counter() - t0, worker_s))
                result.set_result(answer)

        ref.future().add_done_callback(settle)

        def cancel() -> None:
            slot.actor.cancel.remote(item.key)
            ray.cancel(ref)  # one still waiting in the worker never starts

        return result, cancel


@dataclass
class RayBatch:
    """A Ray cluster connection and its batch workers, for ``reason batch --ray``.

    Use as a context manager: entering connects (or starts a local cluster) and waits until
    every worker has built its service; leaving stops the workers and disconnects.
    """

    settings: Settings
    config: GraphConfig
    address: str
    workers: int = 2
    concurrency: int = 1
    urls: Sequence[str] = ()
    worker_cpus: float = 1.0
    learn: bool = False
    dispatch: RayDispatch | None = None
    start_seconds: float = 0.0
    pids: list[int] = field(default_factory=list)
    _ray: ModuleType | None = None

    def __enter__(self) -> RayDispatch:
        """Connect, start the workers and return the dispatch that feeds them."""
        memory = self.learn or self.config.retrieval
        conflict = memory_conflict(self.settings, self.workers, self.config, self.learn)
        if memory and conflict is not None:
            raise ConfigError(conflict)
        ray = require_ray()
        if memory:
            self._prepare_memory()
        t0 = time.perf_counter()
        self._connect(ray)
        self._ray = ray
        remote = ray.remote(
            num_cpus=self.worker_cpus,
            max_restarts=MAX_RESTARTS,
            max_task_retries=MAX_TASK_RETRIES,
            max_concurrency=self.concurrency + 1,  # one more thread for cancel()
        )(BatchWorker)
        actors = [
            remote.remote(
                worker_settings(self.settings, self.urls, i, self.concurrency), bool(memory)
            )
            for i in range(self.workers)
        ]
        try:
            self.pids = ray.get([a.ready.remote() for a in actors])
        except ray.exceptions.RayActorError as ex:
            self.__exit__(None, None, None)
            raise ConfigError(f"a Ray worker could not build its service: {ex}") from ex
        self.start_seconds = time.perf_counter() - t0

        def guard(cfg: GraphConfig) -> str | None:
            return memory_conflict(self.settings, self.workers, cfg, False) if memory else None

        self.dispatch = RayDispatch(
            ray,
            [_Slot(a) for a in actors],
            self.concurrency,
            resolver(self.settings),
            memory_guard=guard,
        )
        logger.info(
            "%d Ray workers ready in %.1f s (pids %s)", self.workers, self.start_seconds, self.pids
        )
        return self.dispatch

    def __exit__(self, *exc: object) -> None:
        """Stop the workers; a local cluster this run started stops with them."""
        if self._ray is not None:
            self._ray.shutdown()
            self._ray = None

    def _connect(self, ray: ModuleType) -> None:
        need = self.workers * self.worker_cpus
        if self.address == "local":
            ray.init(
                address="local",
                num_cpus=max(os.cpu_count() or 1, int(need + 0.999)),
                include_dashboard=False,
                object_store_memory=LOCAL_OBJECT_STORE_BYTES,
            )
        else:  # "auto": RAY_ADDRESS, the cluster running on this machine, or a new local one
            ray.init(address=None if self.address == "auto" else self.address)
        have = ray.cluster_resources().get("CPU", 0)
        if have < need:
            ray.shutdown()
            raise ConfigError(
                f"the Ray cluster has {have:g} CPUs; {self.workers} workers of "
                f"{self.worker_cpus:g} need {need:g} (lower --workers or --worker-cpus)"
            )

    def _prepare_memory(self) -> None:
        """Open the memory once here, so its migrations and shipped principles are written by
        one process, before the workers open it."""
        from memory import open_store

        settings = self.settings
        store = open_store(settings.data_dir, settings.memory, settings.retrieval)
        try:
            if not store.read_only:
                store.seed_principles()
        finally:
            store.close()
