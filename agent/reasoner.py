"""The one entry point the ways in (CLI, API, Slack, batch, eval) use to answer a question.

``Reasoner.solve`` runs the graph for a configuration and returns an ``Answer`` with its
trace; ``Reasoner.feedback`` confirms or rejects an answer given earlier. Threads: a
``thread_id`` maps to LangGraph's SQLite checkpointer, so follow-ups see the conversation.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from agent.answers import AnswerLog, AnswerRecord, RecentAnswers
from agent.backends.base import Backend
from agent.config import GraphConfig, configure
from agent.deps import AgentDeps
from agent.errors import ConfigError, InvalidRequest, UnknownAnswer
from agent.events import Event
from agent.extract import same_answer
from agent.feedback import FeedbackContext, FeedbackResult, record_feedback
from agent.graph import build_graph
from agent.nodes.verify import winning_path
from agent.paths import ReasoningPath
from agent.routing import task_of
from agent.sandbox import Sandbox
from agent.state import AgentState
from agent.trace import Trace, build_trace
from memory import WriteBackThresholds

if TYPE_CHECKING:
    from memory import MemoryInterface

logger = logging.getLogger(__name__)

EventSink = Callable[[Event], None]
Later = Callable[[Callable[[], None]], "Future[None] | None"]
"""Runs a job after the answer is returned (a service's work queue); None when refused."""


@dataclass(frozen=True)
class Answer:
    """What the service answers, with the evidence behind it."""

    id: str
    question: str
    answer: str | None
    content: str
    verified: bool
    config: str
    usage: dict[str, int]
    seconds: float
    trace: Trace
    rationale: str = ""


def vouching(paths: Sequence[ReasoningPath], answer: str | None) -> tuple[int, ...]:
    """Ids of the recalled records shown to paths that reached ``answer``, in draw order."""
    ids: dict[int, None] = {}
    for p in paths:
        if answer is not None and p.analog and same_answer(p.answer, answer):
            ids.update((int(i), None) for i in p.analog.split(",") if i.strip().isdigit())
    return tuple(ids)


class Reasoner:
    """Runs the reasoning graph over one backend and (optionally) one memory store."""

    def __init__(
        self,
        backend: Backend,
        *,
        memory: MemoryInterface | None = None,
        thresholds: WriteBackThresholds | None = None,
        checkpointer: BaseCheckpointSaver[str] | None = None,
        backend_factory: Callable[[str], Backend] | None = None,
        default_config: str = "full",
        max_question_chars: int = 8000,
        source: str = "agent",
        sampling_defaults: dict[str, float | int | None] | None = None,
        sandbox: Sandbox | None = None,
        answers: AnswerLog | None = None,
        trust_reviewers: bool = False,
        after_answer: Later | None = None,
    ) -> None:
        """Hold the long-lived objects; graphs are compiled per configuration on first use.

        ``sandbox`` runs the programs of program paths; a default one (``SandboxLimits()``)
        is made on first use when none is given. ``answers`` keeps what feedback needs of
        each answer (default: the last 2000 in this process). ``trust_reviewers``: feedback
        "the right answer is X" stores X even when no program the service writes prints it.
        ``after_answer``: write-back's confirmation draws run there, after the answer is
        returned (None: in the graph, before it; batch and evaluations keep it so).
        """
        self.backend = backend
        self.memory = memory
        self.thresholds = thresholds
        self.checkpointer = checkpointer
        self.backend_factory = backend_factory
        self.default_config = default_config
        self.max_question_chars = max_question_chars
        self.source = source
        self.sampling_defaults = sampling_defaults or {}
        self.sandbox = sandbox
        self._graphs: dict[tuple[str, bool], Any] = {}
        self._extra_backends: dict[str, Backend] = {}
        self.answers: AnswerLog = answers if answers is not None else RecentAnswers()
        self.trust_reviewers = trust_reviewers
        self.after_answer = after_answer
        self._pending: dict[str, Future[None]] = {}  # answer id -> its write-back after it
        self._lock = threading.Lock()

    def config(self, config: GraphConfig | str | None, **overrides: Any) -> GraphConfig:
        """A configuration object from a name (or the default), with the sampling defaults,
        then a request's own ``overrides`` (``agent.config.configure``).

        Raises:
            ConfigError: An unknown configuration name.
            pydantic.ValidationError: An override the configuration refuses.
        """
        return configure(config or self.default_config, self.sampling_defaults, **overrides)

    def _graph(self, config: GraphConfig, threaded: bool) -> Any:
        key = (config.model_dump_json(), threaded)
        with self._lock:
            if key not in self._graphs:
                self._graphs[key] = build_graph(
                    config, checkpointer=self.checkpointer if threaded else None
                )
            return self._graphs[key]

    def _sandbox(self, config: GraphConfig) -> Sandbox | None:
        if config.paths == "prose":
            return None
        with self._lock:
            if self.sandbox is None:
                self.sandbox = Sandbox()
            return self.sandbox

    def _ensemble(self, config: GraphConfig) -> dict[str, Backend]:
        out = {}
        for name in config.ensemble:
            if name not in self._extra_backends:
                if self.backend_factory is None:
                    raise ConfigError(
                        f"configuration {config.name} needs model {name}, "
                        "but no backend factory was given"
                    )
                self._extra_backends[name] = self.backend_factory(name)
            out[name] = self._extra_backends[name]
        return out

    def solve(
        self,
        question: str,
        config: GraphConfig | str | None = None,
        *,
        thread_id: str | None = None,
        ground_truth: str | None = None,
        on_event: EventSink | None = None,
        source: str | None = None,
        history: Sequence[Mapping[str, str]] | None = None,
    ) -> Answer:
        """Answer one question; stream progress events to ``on_event`` as they happen.

        ``history`` (earlier user/assistant turns) gives a conversation without a thread;
        with a ``thread_id`` the checkpointer already holds the earlier turns.

        Raises:
            InvalidRequest: Empty or oversized question.
            BackendError: The model failed (nothing is written to memory then).
        """
        if not isinstance(question, str):
            raise InvalidRequest("the question must be text")
        cfg = self.config(config)
        if thread_id is not None and self.checkpointer is None:
            raise ConfigError("threads need a checkpointer")
        later: list[Callable[[], dict[str, Any]]] = []
        deps = AgentDeps(
            backend=self.backend,
            config=cfg,
            memory=self.memory if (cfg.retrieval or cfg.write_back) else None,
            thresholds=self.thresholds,
            ensemble=self._ensemble(cfg),
            max_question_chars=self.max_question_chars,
            source=source or self.source,
            sandbox=self._sandbox(cfg),
            later=later.append if self.after_answer is not None else None,
        )
        graph = self._graph(cfg, thread_id is not None)
        run_config = {"configurable": {"thread_id": thread_id}} if thread_id else None
        payload: dict[str, Any] = {"question": question, "ground_truth": ground_truth}
        if history:
            payload["history"] = [{"role": m["role"], "content": m["content"]} for m in history]
        t0 = time.perf_counter()
        state: AgentState = {}
        for mode, chunk in graph.stream(
            payload, run_config, context=deps, stream_mode=["custom", "values"]
        ):
            if mode == "custom":
                if on_event is not None:
                    on_event(chunk)
            else:
                state = chunk
        seconds = time.perf_counter() - t0
        answer_id = f"ans-{uuid.uuid4().hex[:16]}"
        trace = build_trace(state, cfg, seconds)
        verdict = state.get("verdict")
        best = winning_path(state.get("paths") or [], verdict) if verdict else None
        answer = Answer(
            id=answer_id,
            question=state.get("question", question),
            answer=state.get("answer"),
            content=state.get("content", ""),
            verified=bool((state.get("verification") or {}).get("verified")),
            config=cfg.name,
            usage=dict(state.get("usage") or {}),
            seconds=seconds,
            trace=trace,
            rationale=best.text if best else "",
        )
        self._remember(answer, state, task_of(cfg, state.get("route")))
        for job in later:
            self._write_back_later(answer_id, job)
        logger.info(
            "answered id=%s config=%s paths=%d answer=%r verified=%s %.1fs",
            answer_id,
            cfg.name,
            len(state.get("paths") or []),
            answer.answer,
            answer.verified,
            seconds,
        )
        return answer

    def _write_back_later(self, answer_id: str, job: Callable[[], dict[str, Any]]) -> None:
        """Hand write-back's remaining work to ``after_answer``; note the record it stores."""
        assert self.after_answer is not None  # jobs exist only then

        def run() -> None:
            try:
                outcome = job()
            except Exception:
                # The answer is out already; only remembering it failed.
                logger.exception("write-back after answer %s failed", answer_id)
                return
            if outcome.get("stored"):
                self.answers.set_memory_id(answer_id, int(outcome["id"]))
            logger.info(
                "write-back after answer id=%s: %s",
                answer_id,
                f"stored as #{outcome['id']}" if outcome.get("stored") else outcome.get("reason"),
            )

        future = self.after_answer(run)
        if future is None:
            logger.warning("write-back after answer %s dropped: no room on the queue", answer_id)
            return
        with self._lock:
            self._pending[answer_id] = future
        future.add_done_callback(lambda _: self._forget_pending(answer_id))

    def _forget_pending(self, answer_id: str) -> None:
        with self._lock:
            self._pending.pop(answer_id, None)

    def settle(self, answer_id: str) -> None:
        """Wait for the write-back still running after answer ``answer_id`` (none: return)."""
        with self._lock:
            pending = self._pending.get(answer_id)
        if pending is not None:
            wait([pending])

    def _remember(self, answer: Answer, state: AgentState, domain: str | None) -> None:
        self.answers.put(
            AnswerRecord(
                id=answer.id,
                question=answer.question,
                answer=answer.answer,
                path=answer.rationale,
                principle=state.get("principle"),
                memory_id=(state.get("memory") or {}).get("id"),
                evidence=dict(state.get("verification") or {}),
                recalled=tuple(int(a["id"]) for a in state.get("analogs") or []),
                vouching=vouching(state.get("paths") or [], answer.answer),
                config=answer.config,
                domain=domain,
            )
        )

    def feedback(
        self, answer_id: str, correct: bool, true_answer: str | None = None
    ) -> FeedbackResult:
        """Apply "Correct", "Wrong" or "the right answer is ..." to memory (``agent.feedback``).

        A correction writes programs for the question, so it runs on the service's queue
        (``Service.feedback``), never beside a run on the same model.

        Raises:
            UnknownAnswer: Unknown answer id.
            InvalidRequest: No memory to record feedback in.
        """
        if self.memory is None:
            raise InvalidRequest("feedback needs memory, and this service runs without it")
        # Its write-back was queued first, so it runs (or ran) before this: wait for the
        # record it may store, which "Wrong" must retire.
        self.settle(answer_id)
        known = self.answers.get(answer_id)
        if known is None:
            raise UnknownAnswer(f"unknown answer id {answer_id!r} (too old, or never given)")
        ctx = FeedbackContext(
            memory=self.memory,
            backend=self.backend,
            sandbox=self._sandbox(self.config("pot")),
            thresholds=self.thresholds or WriteBackThresholds(),
            trust_reviewers=self.trust_reviewers,
        )
        result = record_feedback(ctx, known, correct, true_answer)
        if result.memory_id is not None and result.memory_id != known.memory_id:
            self.answers.set_memory_id(answer_id, result.memory_id)
        logger.info(
            "feedback id=%s correct=%s given=%r: %s", answer_id, correct, true_answer, result.detail
        )
        return result

    def close(self) -> None:
        """Release the backends (the memory store is closed by its owner)."""
        for backend in self._extra_backends.values():
            backend.close()
