"""sample: draw reasoning paths (fixed n in one batch, adaptive rounds, or CoT-decoding)."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from agent.deps import AgentDeps
from agent.events import PathDone, PathsProgress, Sampled
from agent.nodes._timing import timed
from agent.paths import ReasoningPath
from agent.routing import routed
from agent.sampling import Draws, Sampler
from agent.state import AgentState
from agent.trace_parts import SamplingState


def path_event(path: ReasoningPath) -> PathDone:
    """The event announcing one finished path (with its program's output or error)."""
    run = path.execution
    return PathDone(
        index=path.index,
        answer=path.answer,
        path_kind=path.kind,
        completion_tokens=path.completion_tokens,
        program_output=run.stdout if run else None,
        program_error=run.error if run else None,
        analog=path.analog,
    )


@timed("sample")
def sample(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    """Draw paths and extract each one's final answer.

    Extraction happens here, per path, because adaptive stopping needs the answers between
    rounds; the DESIGN's separate "extract" step is folded into sampling for that reason.
    """
    deps = runtime.context
    cfg = routed(deps.config, state.get("route"))
    sampling: SamplingState = {**(state.get("sampling") or {})}
    started = sampling.get("started", time.monotonic())
    deadline = started + cfg.deadline_s if cfg.deadline_s else None

    sent = 0  # paths already announced

    def progress(draws: Draws) -> None:
        nonlocal sent
        for p in draws.paths[sent:]:
            runtime.stream_writer(path_event(p))
        sent = len(draws.paths)
        runtime.stream_writer(
            PathsProgress(
                done=len(draws.paths),
                # program_first's budget is n programs plus its one greedy prose path.
                of=cfg.n + (cfg.sampling == "program_first"),
                answers=[p.answer for p in draws.paths],
                kinds=[p.kind for p in draws.paths],
            )
        )

    draws = Sampler(
        deps.backend,
        cfg,
        state["prompt"],
        ensemble=deps.ensemble,
        deadline=deadline,
        progress=progress,
        program_prompts=state.get("program_prompts") or (),
        sandbox=deps.sandbox,
    ).run()
    runtime.stream_writer(
        Sampled(
            paths=len(draws.paths),
            stopped_early=bool(draws.log.get("stopped_early")),
            reason=draws.log.get("stop"),
        )
    )
    usage = dict(state.get("usage") or {})
    usage["prompt_tokens"] = usage.get("prompt_tokens", 0) + draws.prompt_tokens
    usage["completion_tokens"] = usage.get("completion_tokens", 0) + draws.completion_tokens
    sampling = {**sampling, **draws.log, "paths": len(draws.paths), "calls": draws.calls}
    if deps.sandbox is not None and any(p.kind == "program" for p in draws.paths):
        # Which layers held the programs, so that a trace shows a sandbox without namespaces.
        sampling["sandbox"] = deps.sandbox.describe()
    return {
        "paths": draws.paths,
        "sampling": sampling,
        "usage": usage,
        "timings": {"model": draws.model_seconds, "sandbox": draws.program_seconds},
    }
