"""write_back: offer the winning path and its evidence to memory's write-back policy.

Memory decides (memory/writeback.py); this node only assembles the evidence and reports what
the policy did. It runs after verification, so a backend failure earlier in the graph never
reaches memory.
"""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from agent.deps import AgentDeps
from agent.extract import same_answer
from agent.nodes._timing import timed
from agent.nodes.verify import winning_path
from agent.state import AgentState
from memory import Evidence, VerifiedPath, WriteBackThresholds, decide


@timed("write_back")
def write_back(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    """Store the answer when the policy accepts the evidence."""
    deps = runtime.context
    verdict = state.get("verdict")
    ev = state.get("verification") or {}
    answer = ev.get("answer", verdict.answer if verdict else None)
    if deps.memory is None or verdict is None or answer is None:
        return {"memory": {"stored": False, "reason": "nothing to store"}}
    best = winning_path(state.get("paths") or [], verdict)
    if best is None:
        return {"memory": {"stored": False, "reason": "no winning path"}}
    truth = state.get("ground_truth")
    checks = ev.get("checks")
    evidence = Evidence(
        question=state["question"],
        answer=answer,
        path=best.text,
        principle=state.get("principle"),
        domain=deps.config.task,
        vote_share=ev.get("vote_share"),
        agreeing_paths=ev.get("agreeing_paths"),
        total_paths=ev.get("total_paths"),
        confidence=ev.get("confidence"),
        checks={"arithmetic": not checks["failed"]} if checks else {},
        independent_agreement=bool(ev.get("independent_agreement")),
        ground_truth=truth,
        ground_truth_match=None if truth is None else same_answer(answer, str(truth)),
        source=deps.source,
        model=deps.backend.model_name,
    )
    t0 = time.perf_counter()
    decision = decide(evidence, deps.thresholds or WriteBackThresholds())
    if not isinstance(decision, VerifiedPath):
        return {"memory": {"stored": False, "reason": decision.reason}}
    result = deps.memory.add_problem(decision)
    runtime.stream_writer({"type": "stored", "id": result.id, "action": result.action})
    return {
        "memory": {"stored": True, "id": result.id, "action": result.action},
        "timings": {"embed_search": time.perf_counter() - t0},
    }
