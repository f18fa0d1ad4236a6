"""write_back: offer the winning path and its evidence to memory's write-back policy.

Memory decides (memory/writeback.py); this node only assembles the evidence and reports what
the policy did. It runs after verification, so a backend failure earlier in the graph never
reaches memory. The stored path is the winner's prose path when one agrees (a reader follows
prose), else the program's text; the first agreeing program that ran is stored beside it, so
recall can show program paths a worked program.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from langgraph.runtime import Runtime

from agent.checks import check_arithmetic
from agent.deps import AgentDeps
from agent.events import MemoryOutcome
from agent.extract import same_answer
from agent.nodes._timing import timed
from agent.nodes.verify import winning_path
from agent.paths import ReasoningPath
from agent.programs import Execution
from agent.state import AgentState
from memory import (
    Evidence,
    MemoryNotWritable,
    VerifiedPath,
    WriteBackThresholds,
    agreement_of,
    decide,
)

logger = logging.getLogger(__name__)


def stored_paths(
    paths: Sequence[ReasoningPath], best: ReasoningPath, answer: str, *, checks: bool
) -> tuple[str, Execution | None]:
    """The reasoning text and the program memory keeps for ``answer``.

    Args:
        paths: Every path of the run, in draw order.
        best: The winning path (verification checked it).
        answer: The final answer.
        checks: Whether arithmetic checks are on; an agreeing prose path other than ``best``
            is stored only when its arithmetic holds, since verification did not check it.

    Returns:
        The text (``best`` when it is prose, else the first agreeing prose path, else
        ``best``'s text) and the first agreeing program that ran, or None.
    """
    agreeing = [p for p in paths if same_answer(p.answer, answer)]
    program = next(
        (
            p.execution
            for p in agreeing
            if p.kind == "program" and p.execution is not None and p.execution.status == "ok"
        ),
        None,
    )
    if best.kind == "prose":
        return best.text, program
    prose = (
        p.text
        for p in agreeing
        if p.kind == "prose" and (not checks or check_arithmetic(p.text).ok)
    )
    return next(prose, best.text), program


@timed("write_back")
def write_back(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    """Store the answer when the policy accepts the evidence; say what happened."""
    update = _store(state, runtime)
    runtime.stream_writer(MemoryOutcome(**update["memory"]))
    return update


def _store(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    deps = runtime.context
    verdict = state.get("verdict")
    ev = state.get("verification") or {}
    answer = ev.get("answer", verdict.answer if verdict else None)
    if deps.memory is None or verdict is None or answer is None:
        return {"memory": {"stored": False, "reason": "nothing to store"}}
    paths = state.get("paths") or []
    best = winning_path(paths, verdict)
    if best is None:
        return {"memory": {"stored": False, "reason": "no winning path"}}
    text, program = stored_paths(paths, best, answer, checks=deps.config.checks)
    truth = state.get("ground_truth")
    checks = ev.get("checks")
    evidence = Evidence(
        question=state["question"],
        answer=answer,
        path=text,
        principle=state.get("principle"),
        domain=deps.config.task,
        **agreement_of(ev),
        checks={"arithmetic": not checks["failed"]} if checks else {},
        independent_agreement=bool(ev.get("independent_agreement")),
        ground_truth=truth,
        ground_truth_match=None if truth is None else same_answer(answer, str(truth)),
        source=deps.source,
        model=deps.backend.model_name,
        program=program.code if program else None,
        program_output=program.stdout if program else None,
    )
    t0 = time.perf_counter()
    decision = decide(evidence, deps.thresholds or WriteBackThresholds())
    if not isinstance(decision, VerifiedPath):
        return {"memory": {"stored": False, "reason": decision.reason}}
    try:
        result = deps.memory.add_problem(decision)
    except MemoryNotWritable as ex:
        # The answer is still good; only remembering it failed (full disk, read-only dir).
        logger.warning("write-back skipped: %s", ex)
        return {"memory": {"stored": False, "reason": str(ex)}}
    return {
        "memory": {"stored": True, "id": result.id, "action": result.action},
        "timings": {"embed_search": time.perf_counter() - t0},
    }
