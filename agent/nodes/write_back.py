"""write_back: offer the winning path and its evidence to memory's write-back policy.

Memory decides (memory/writeback.py); this node only assembles the evidence and reports what
the policy did. It runs after verification, so a backend failure earlier in the graph never
reaches memory. The stored path is the winner's prose path when one agrees (a reader follows
prose), else the program's text; the first agreeing program that ran is stored beside it, so
recall can show program paths a worked program.

Without a ground truth (a user's traffic) the evidence also counts the paths that reached
another answer and the agreeing paths that were shown no recalled record: memory must not
vouch for its own recall. When an answer lacks only that independent support (unanimous, but
its agreeing programs all saw analogs, or one agreeing path short), up to ``confirm_draws``
programs are drawn from the plain prompt, which shows no record, and the policy decides
again with them; they never change the answer already given.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from langgraph.runtime import Runtime

from agent.analogs import program_prompts
from agent.checks import check_arithmetic, counts_whole
from agent.deps import AgentDeps
from agent.events import MemoryOutcome
from agent.extract import same_answer
from agent.nodes._timing import timed
from agent.nodes.verify import winning_path
from agent.paths import ReasoningPath
from agent.programs import Execution
from agent.sampling import Sampler
from agent.state import AgentState
from memory import (
    Evidence,
    MemoryNotWritable,
    Rejection,
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


def independence(paths: Sequence[ReasoningPath], answer: str) -> tuple[int, int]:
    """(paths that reached another answer, agreeing programs shown no recalled record).

    A program path's prompt names the analog it showed (``analog``, None for the plain
    prompt). Prose paths are shown every recalled analog, so ``_evidence`` counts them as
    blind only when nothing was recalled.
    """
    dissent = sum(1 for p in paths if p.answer is not None and not same_answer(p.answer, answer))
    blind = sum(
        1 for p in paths if same_answer(p.answer, answer) and p.kind == "program" and not p.analog
    )
    return dissent, blind


def _blind_prose(paths: Sequence[ReasoningPath], answer: str) -> int:
    return sum(1 for p in paths if p.kind == "prose" and same_answer(p.answer, answer))


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
    thresholds = deps.thresholds or WriteBackThresholds()
    recalled = bool(state.get("analogs"))
    evidence = _evidence(state, deps, answer, text, program, paths, recalled)
    decision = decide(evidence, thresholds)
    need = _confirmations_needed(evidence, decision, thresholds, deps)
    confirm: dict[str, Any] = {}
    if need:
        extra, confirm = _confirm(state, deps, need, answer)
        evidence = _evidence(state, deps, answer, text, program, [*paths, *extra], recalled)
        decision = decide(evidence, thresholds)
    usage = _usage(state, confirm)
    t0 = time.perf_counter()
    if not isinstance(decision, VerifiedPath):
        return {"memory": {"stored": False, "reason": decision.reason, **confirm}, **usage}
    try:
        result = deps.memory.add_problem(decision)
    except MemoryNotWritable as ex:
        # The answer is still good; only remembering it failed (full disk, read-only dir).
        logger.warning("write-back skipped: %s", ex)
        return {"memory": {"stored": False, "reason": str(ex)}}
    return {
        "memory": {"stored": True, "id": result.id, "action": result.action, **confirm},
        "timings": {"embed_search": time.perf_counter() - t0},
        **usage,
    }


def _evidence(
    state: AgentState,
    deps: AgentDeps,
    answer: str,
    text: str,
    program: Execution | None,
    paths: Sequence[ReasoningPath],
    recalled: bool,
) -> Evidence:
    ev = state.get("verification") or {}
    truth = state.get("ground_truth")
    checks = ev.get("checks")
    question = state["question"]
    named = {"arithmetic": not checks["failed"]} if checks else {}
    named["whole_count"] = counts_whole(question, answer)
    dissent, blind = independence(paths, answer)
    if not recalled:
        blind += _blind_prose(paths, answer)
    agreement = agreement_of(ev)
    if len(paths) > len(state.get("paths") or []):
        # Confirmation draws joined: they count as agreeing paths of the record.
        agreeing = sum(1 for p in paths if same_answer(p.answer, answer))
        answered = sum(1 for p in paths if p.answer is not None)
        agreement.update(agreeing_paths=agreeing, vote_share=round(agreeing / answered, 4))
    return Evidence(
        question=question,
        answer=answer,
        path=text,
        principle=state.get("principle"),
        domain=deps.config.task,
        **agreement,
        checks=named,
        independent_agreement=bool(ev.get("independent_agreement")),
        dissenting_paths=None if truth is not None else dissent,
        blind_agreeing=None if truth is not None else blind,
        ground_truth=truth,
        ground_truth_match=None if truth is None else same_answer(answer, str(truth)),
        source=deps.source,
        model=deps.backend.model_name,
        program=program.code if program else None,
        program_output=program.stdout if program else None,
    )


def _confirmations_needed(
    evidence: Evidence,
    decision: VerifiedPath | Rejection,
    t: WriteBackThresholds,
    deps: AgentDeps,
) -> int:
    """Blind programs worth drawing before deciding again (0: the decision stands)."""
    budget = deps.config.confirm_draws
    if (
        isinstance(decision, VerifiedPath)
        or not budget
        or evidence.ground_truth is not None
        or deps.sandbox is None
        or deps.config.paths == "prose"
        or evidence.dissenting_paths  # someone disagrees: more draws will not make it unanimous
        or not all(evidence.checks.values())
    ):
        return 0
    short_blind = max(t.min_blind_agreeing - (evidence.blind_agreeing or 0), 0)
    short_agreeing = max(t.min_agreeing_paths - (evidence.agreeing_paths or 0), 0)
    need = max(short_blind, short_agreeing)
    return need if 0 < need <= budget else 0


def _confirm(
    state: AgentState, deps: AgentDeps, count: int, answer: str
) -> tuple[list[ReasoningPath], dict[str, Any]]:
    """Draw ``count`` programs from the plain prompt; seeds continue its own programs'."""
    cfg = deps.config
    (plain,) = program_prompts(state["question"], task=cfg.task, history=state.get("history") or [])
    drawn = state.get("paths") or []
    sampler = Sampler(deps.backend, cfg, [], program_prompts=[plain], sandbox=deps.sandbox)
    # A confirmation continues the plain prompt's own seeds, so it never redraws a path the
    # vote already saw (and the draw cache shares it with any run that drew further).
    start = sum(1 for p in drawn if p.kind == "program" and not p.analog)
    extra = [
        replace(p, index=len(drawn) + i)
        for i, p in enumerate(sampler.more_programs(plain, count, start))
    ]
    draws = sampler.draws
    return extra, {
        "confirmation": {
            "drawn": len(extra),
            "answers": [p.answer for p in extra],
            "agree": sum(1 for p in extra if same_answer(p.answer, answer)),
            "prompt_tokens": draws.prompt_tokens,
            "completion_tokens": draws.completion_tokens,
        }
    }


def _usage(state: AgentState, confirm: dict[str, Any]) -> dict[str, Any]:
    if not confirm:
        return {}
    usage = dict(state.get("usage") or {})
    c = confirm["confirmation"]
    usage["prompt_tokens"] = usage.get("prompt_tokens", 0) + c["prompt_tokens"]
    usage["completion_tokens"] = usage.get("completion_tokens", 0) + c["completion_tokens"]
    return {"usage": usage}
