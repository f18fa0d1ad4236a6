"""verify: gather evidence about the verdict; decide whether it counts as verified.

Evidence, not self-praise: vote share, number of independent agreeing paths, answer
confidence from log-probs, deterministic arithmetic checks of the winning prose path, and,
when programs were drawn, how many ran and whether an executed program and a chain of
thought reached the answer independently. The optional generative verifier adds P("Yes")
for each distinct candidate (best-of-n).
"""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from agent.checks import check_arithmetic
from agent.deps import AgentDeps
from agent.events import Verified
from agent.nodes._timing import timed
from agent.paths import ReasoningPath, Verdict
from agent.routing import routed
from agent.state import AgentState
from agent.strategies.mixed import independent_agreement
from agent.trace_parts import Verification
from agent.verifier import p_yes

# An answer is "verified" when most voting paths, at least three, agree on it and its
# arithmetic holds; or when a program and a prose path agree. Two paths of one kind are not
# enough: on held-out word problems 2 agreeing programs of 3 were right 64% of the time.
MIN_SHARE = 0.5
MIN_AGREEING = 3


def winning_path(paths: list[ReasoningPath], verdict: Verdict) -> ReasoningPath | None:
    """The path shown as the rationale: the strategy's choice, else the first agreeing one."""
    by_index = {p.index: p for p in paths}
    if verdict.chosen is not None and verdict.chosen in by_index:
        return by_index[verdict.chosen]
    for i in verdict.agreeing:
        if i in by_index:
            return by_index[i]
    return None


@timed("verify")
def verify(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    """Collect evidence for the verdict and decide ``verified``; send it as an event."""
    update = _evidence(state, runtime)
    runtime.stream_writer(Verified(update["verification"]))
    return update


def _evidence(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    deps = runtime.context
    cfg = routed(deps.config, state.get("route"))
    verdict = state.get("verdict")
    paths = state.get("paths") or []
    if verdict is None or verdict.answer is None:
        return {"verification": {"verified": False, "reason": "no path produced an answer"}}
    best = winning_path(paths, verdict)
    agreeing = [p for p in paths if p.index in set(verdict.agreeing)]
    confidences = [p.confidence for p in agreeing if p.confidence is not None]
    evidence: Verification = {
        "vote_share": round(verdict.share, 4),
        "agreeing_paths": len(agreeing),
        "total_paths": verdict.n_paths,
        "abstentions": verdict.abstentions,
        "confidence": round(sum(confidences) / len(confidences), 4) if confidences else None,
        "winning_path": best.index if best else None,
    }
    programs = [p for p in paths if p.kind == "program"]
    independent = independent_agreement(agreeing)
    if programs:
        evidence["programs"] = {
            "ran": sum(1 for p in programs if p.execution and p.execution.status == "ok"),
            "answered": sum(1 for p in programs if p.answer is not None),
            "total": len(programs),
            "agreeing": sum(1 for p in agreeing if p.kind == "program"),
        }
        # An executed program and a chain of thought that agree: a check, not self-praise.
        evidence["independent_agreement"] = independent
    timings: dict[str, float] = {}
    checks_ok = True
    if cfg.checks and best is not None and best.kind == "prose":
        report = check_arithmetic(best.text)
        checks_ok = report.ok
        evidence["checks"] = {
            "total": report.total,
            "passed": report.passed,
            "failed": list(report.failed),
        }
    if cfg.verifier and best is not None:
        t0 = time.perf_counter()
        scores: dict[str, float | None] = {}
        for answer in verdict.votes:
            rep = next((p for p in paths if p.answer == answer), best)
            scores[answer], _ = p_yes(deps.backend, state["question"], rep.text, answer)
        timings["model"] = time.perf_counter() - t0
        evidence["verifier_p_yes"] = scores
        scored = {a: v for a, v in scores.items() if v is not None}
        if scored:
            # Best-of-n: the candidate the verifier likes most (ties: vote order).
            evidence["answer"] = max(scored, key=lambda a: scored[a])
    consensus = verdict.share > MIN_SHARE and len(agreeing) >= MIN_AGREEING
    evidence["verified"] = bool(checks_ok and (consensus or independent))
    evidence["reason"] = (
        "a program and a prose path agree and checks pass"
        if evidence["verified"] and independent
        else "paths agree and checks pass"
        if evidence["verified"]
        else "too little agreement"
        if checks_ok
        else "an arithmetic claim failed"
    )
    return {"verification": evidence, "timings": timings}
