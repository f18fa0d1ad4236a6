"""write_back: offer the winning path and its evidence to memory's write-back policy.

Memory decides (memory/writeback.py); this node only assembles the evidence and reports what
the policy did. It runs after verification, so a backend failure earlier in the graph never
reaches memory. The stored path is the winner's prose path when one agrees (a reader follows
prose), else the program's text; the first agreeing program that ran is stored beside it, so
recall can show program paths a worked program.

Without a ground truth (a user's traffic) the evidence also counts the paths that reached
another answer and the agreeing paths that were shown no recalled record: memory must not
vouch for its own recall. When an unanimous answer lacks independent support (its agreeing
programs all saw analogs, it is an agreeing path short, or no prose path agrees with a
program), up to ``confirm_draws`` programs are drawn from the plain prompt, which shows no
record, then the greedy prose path, and the policy decides again with them; they never change
the answer already given. A service hands those draws to ``deps.later``, so the answer is
returned first and the trace says the decision is pending.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from langgraph.runtime import Runtime

from agent.analogs import program_prompts, recall_outcomes
from agent.checks import (
    check_arithmetic,
    counts_whole,
    states_answer,
    unread_numbers,
    unused_numbers,
)
from agent.deps import AgentDeps
from agent.events import MemoryOutcome
from agent.extract import same_answer
from agent.nodes._timing import timed
from agent.nodes.verify import winning_path
from agent.paths import ReasoningPath
from agent.programs import Execution
from agent.routing import routed, task_of
from agent.sampling import Sampler
from agent.state import AgentState
from agent.trace_parts import RecallLog
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


def independence(paths: Sequence[ReasoningPath], answer: str, *, recalled: bool) -> tuple[int, int]:
    """(paths that reached another answer, agreeing paths shown no recalled record).

    A program path's prompt names the analog it showed (``analog``, None for the plain
    prompt). Prose paths are shown every recalled analog, so they are blind only when
    nothing was recalled.
    """
    dissent = sum(1 for p in paths if p.answer is not None and not same_answer(p.answer, answer))
    blind = sum(
        1
        for p in paths
        if same_answer(p.answer, answer) and (not p.analog if p.kind == "program" else not recalled)
    )
    return dissent, blind


@timed("write_back")
def write_back(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    """Store the answer when the policy accepts the evidence; say what happened."""
    update = _store(state, runtime)
    runtime.stream_writer(MemoryOutcome(**update["memory"]))
    recalls = _count_recalls(state, runtime.context)
    if recalls is not None:
        update["memory"] = {**update["memory"], "recalls": recalls}
    return update


def _count_recalls(state: AgentState, deps: AgentDeps) -> RecallLog | None:
    """Count each recalled record's recall as won or lost against the verified answer (or the
    ground truth), demoting records that keep leading paths astray (``demote_after_lost``)."""
    verdict = state.get("verdict")
    ev = state.get("verification") or {}
    truth = state.get("ground_truth")
    answer = ev.get("answer", verdict.answer if verdict else None)
    target = str(truth) if truth is not None else (answer if ev.get("verified") else None)
    if deps.memory is None or target is None or not state.get("analogs"):
        return None
    outcomes = recall_outcomes(state.get("paths") or [], target)
    if not outcomes:
        return None
    thresholds = deps.thresholds or WriteBackThresholds()
    try:
        demoted = deps.memory.record_recalls(
            outcomes, demote_after_lost=thresholds.demote_after_lost
        )
    except MemoryNotWritable as ex:
        logger.warning("recall counts skipped: %s", ex)
        return None
    return {
        "won": [i for i, won in outcomes if won],
        "lost": [i for i, won in outcomes if not won],
        "demoted": demoted,
    }


def _store(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    # The question's own answer kind and paths (agent/routing.py) for everything below.
    deps = replace(runtime.context, config=routed(runtime.context.config, state.get("route")))
    verdict = state.get("verdict")
    ev = state.get("verification") or {}
    answer = ev.get("answer", verdict.answer if verdict else None)
    if deps.memory is None or verdict is None or answer is None:
        return {"memory": {"stored": False, "reason": "nothing to store"}}
    paths = state.get("paths") or []
    best = winning_path(paths, verdict)
    if best is None:
        return {"memory": {"stored": False, "reason": "no winning path"}}
    thresholds = deps.thresholds or WriteBackThresholds()
    evidence = _evidence(state, deps, answer, best, paths)
    decision = decide(evidence, thresholds)
    if not _worth_confirming(evidence, decision, deps):
        return _apply(decision, deps, {}, {})
    if deps.later is not None:
        # The draws cost more than the answer did (a prose path, ~290 tokens, after ~3
        # programs): the user gets the answer now, and memory decides when they are drawn.
        deps.later(lambda: _confirm_and_store(state, deps, evidence, best, answer)["memory"])
        return {"memory": {"stored": False, "pending": True, "reason": PENDING}}
    return _confirm_and_store(state, deps, evidence, best, answer)


PENDING = "confirming after the answer: more paths are drawn before it may be stored"


def _confirm_and_store(
    state: AgentState, deps: AgentDeps, evidence: Evidence, best: ReasoningPath, answer: str
) -> dict[str, Any]:
    """Draw what ``evidence`` lacks, decide again with it, store when the policy accepts."""
    thresholds = deps.thresholds or WriteBackThresholds()
    paths = state.get("paths") or []
    extra, confirm = _confirm(state, deps, evidence, thresholds, answer)
    evidence = _evidence(state, deps, answer, best, [*paths, *extra])
    decision = decide(evidence, thresholds)
    return _apply(decision, deps, confirm, _usage(state, confirm))


def _apply(
    decision: VerifiedPath | Rejection,
    deps: AgentDeps,
    confirm: dict[str, Any],
    usage: dict[str, Any],
) -> dict[str, Any]:
    """Store an accepted path; the state update that says what happened."""
    assert deps.memory is not None  # checked by _store
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
    best: ReasoningPath,
    paths: Sequence[ReasoningPath],
) -> Evidence:
    """The evidence of ``paths`` (the run's, and any confirmation draws after them)."""
    ev = state.get("verification") or {}
    truth = state.get("ground_truth")
    checks = ev.get("checks")
    question = state["question"]
    text, program = stored_paths(paths, best, answer, checks=deps.config.checks)
    named = {"arithmetic": not checks["failed"]} if checks else {}
    named["whole_count"] = counts_whole(question, answer)
    if program is not None and truth is None:
        # The stored program must read every number the question gives and use what it
        # reads (a shared misreading drops one).
        named["numbers_read"] = not unread_numbers(question, program.code) and not (
            unused_numbers(question, program.code)
        )
        if (deps.thresholds or WriteBackThresholds()).require_computed_program:
            # One that prints its answer as a literal is the prose path's reading again.
            named["program_computes"] = not states_answer(question, program.code, answer)
    dissent, blind = independence(paths, answer, recalled=bool(state.get("analogs")))
    agreement = agreement_of(ev)
    if len(paths) > len(state.get("paths") or []):
        # Confirmation draws joined: they count as paths of the record.
        agreeing = sum(1 for p in paths if same_answer(p.answer, answer))
        answered = sum(1 for p in paths if p.answer is not None)
        agreement.update(
            agreeing_paths=agreeing, total_paths=answered, vote_share=round(agreeing / answered, 4)
        )
    return Evidence(
        question=question,
        answer=answer,
        path=text,
        principle=state.get("principle"),
        domain=deps.config.task,
        **agreement,
        checks=named,
        independent_agreement=_program_and_prose(paths, answer, checks=deps.config.checks),
        dissenting_paths=None if truth is not None else dissent,
        blind_agreeing=None if truth is not None else blind,
        ground_truth=truth,
        ground_truth_match=None if truth is None else same_answer(answer, str(truth)),
        source=deps.source,
        model=deps.backend.model_name,
        program=program.code if program else None,
        program_output=program.stdout if program else None,
    )


def _program_and_prose(paths: Sequence[ReasoningPath], answer: str, *, checks: bool) -> bool:
    """A program that ran and a prose path (whose arithmetic holds) both reached ``answer``."""
    agreeing = [p for p in paths if same_answer(p.answer, answer)]
    ran = any(
        p.kind == "program" and p.execution is not None and p.execution.status == "ok"
        for p in agreeing
    )
    prose = any(p.kind == "prose" and (not checks or check_arithmetic(p.text).ok) for p in agreeing)
    return ran and prose


def _worth_confirming(
    evidence: Evidence, decision: VerifiedPath | Rejection, deps: AgentDeps
) -> bool:
    """Whether more draws could change a rejection: unanimous so far, checks holding, no truth."""
    return not (
        isinstance(decision, VerifiedPath)
        or not deps.config.confirm_draws
        or evidence.ground_truth is not None
        or deps.sandbox is None
        or deps.config.paths == "prose"
        or evidence.dissenting_paths  # someone disagrees: more draws will not make it unanimous
        or not all(evidence.checks.values())
    )


def _confirm(
    state: AgentState,
    deps: AgentDeps,
    evidence: Evidence,
    t: WriteBackThresholds,
    answer: str,
) -> tuple[list[ReasoningPath], dict[str, Any]]:
    """Draw what the evidence lacks: blind programs, then the greedy prose path.

    Programs come from the plain prompt and continue its own seeds; the prose path is the one
    ``program_first`` draws (greedy, from the run's prompt), so neither redraws a path the vote
    saw and the draw cache shares both with runs that drew further.
    """
    cfg = deps.config
    drawn = state.get("paths") or []
    (plain,) = program_prompts(
        state["question"], task=task_of(cfg, state.get("route")), history=state.get("history") or []
    )
    sampler = Sampler(
        deps.backend, cfg, state.get("prompt") or [], program_prompts=[plain], sandbox=deps.sandbox
    )
    short_blind = t.min_blind_agreeing - (evidence.blind_agreeing or 0)
    short_agreeing = t.min_agreeing_paths - (evidence.agreeing_paths or 0)
    count = min(max(short_blind, short_agreeing, 0), cfg.confirm_draws)
    extra: list[ReasoningPath] = []
    if count:
        start = sum(1 for p in drawn if p.kind == "program" and not p.analog)
        extra += sampler.more_programs(plain, count, start)
    unanimous = all(p.answer is None or same_answer(p.answer, answer) for p in extra)
    prose_drawn = any(p.kind == "prose" for p in drawn)
    if unanimous and t.require_program_and_prose and not prose_drawn and state.get("prompt"):
        extra.append(sampler.greedy_prose())
    extra = [replace(p, index=len(drawn) + i) for i, p in enumerate(extra)]
    draws = sampler.draws
    return extra, {
        "confirmation": {
            "drawn": len(extra),
            "kinds": [p.kind for p in extra],
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
