"""Drawing reasoning paths from the backend: the ``Sampler`` and its primitives (prose paths,
programs run in the sandbox, the deadline). How a configuration's paths are drawn (fixed n,
adaptive rounds, programs first, CoT-decoding's branches...) is its sampling mode, one module
each in ``agent/sampling_modes/``.

Paths are drawn in a fixed order with seeds ``seed + i``, so that any prefix of the draws is
exactly what a smaller budget would have drawn (the evaluation derives sc@k and adaptive
stopping from the same draws). Each path kind counts its own seeds, so the programs of a
mixed configuration are the very draws of the programs-only one. Multi-model ensembles draw
each model's share in its own call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial

from agent.analogs import ProgramPrompt
from agent.backends.base import Backend, Completion, Message
from agent.config import GraphConfig
from agent.extract import TaskKind, extract_answer
from agent.paths import PathKind, ReasoningPath, from_completion
from agent.programs import PROGRAM_PREFIX, PROGRAM_STOP, program_path
from agent.prompts import STOP_SEQUENCES
from agent.routing import task_of
from agent.sampling_modes import SAMPLING_MODES, mode_for
from agent.sandbox import Sandbox
from agent.trace_parts import SamplingLog

logger = logging.getLogger(__name__)

TOP_LOGPROBS = 5  # alternatives per token: enough for the top-1/top-2 margin


@dataclass
class Draws:
    """Paths drawn so far and what they cost."""

    paths: list[ReasoningPath] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    model_seconds: float = 0.0
    program_seconds: float = 0.0
    log: SamplingLog = field(default_factory=lambda: SamplingLog())

    def record(self, comps: list[Completion], seconds: float) -> None:
        """Count one backend call's tokens and time."""
        self.calls += 1
        self.model_seconds += seconds
        if comps:
            self.prompt_tokens += comps[0].prompt_tokens
        self.completion_tokens += sum(c.completion_tokens for c in comps)


Progress = Callable[[Draws], None]


class Sampler:
    """Draws paths for one question according to a ``GraphConfig``."""

    def __init__(
        self,
        backend: Backend,
        config: GraphConfig,
        messages: list[Message],
        *,
        ensemble: dict[str, Backend] | None = None,
        deadline: float | None = None,
        progress: Progress | None = None,
        program_prompts: Sequence[ProgramPrompt] = (),
        sandbox: Sandbox | None = None,
    ) -> None:
        """Prepare to sample ``messages``; ``deadline`` is a ``time.monotonic()`` instant.

        Program paths (``config.paths`` "program" or "mixed") are drawn from
        ``program_prompts`` (program ``i`` from prompt ``i mod len``) and run in ``sandbox``;
        both are required then.
        """
        if config.paths != "prose" and (not program_prompts or sandbox is None):
            raise ValueError("program paths need program prompts and a sandbox")
        self.backend = backend
        self.config = config
        self.messages = messages
        self.program_prompts = list(program_prompts)
        self.sandbox = sandbox
        self.ensemble = ensemble or {}
        self.deadline = deadline
        self.progress = progress or (lambda d: None)
        # The graph hands over a routed configuration (agent/routing.py): task is concrete.
        self.task: TaskKind = task_of(config, None)
        self.extractor = partial(extract_answer, kind=self.task)
        self.draws = Draws()

    def _drawn(self, kind: PathKind) -> int:
        return sum(1 for p in self.draws.paths if p.kind == kind)

    def draw_prose(
        self,
        backend: Backend,
        count: int,
        start: int,
        weight: float = 1.0,
        *,
        temperature: float | None = None,
        messages: list[Message] | None = None,
    ) -> None:
        """Draw ``count`` prose paths with seeds from ``seed + start`` (from ``messages``
        instead of the sampling prompt when given)."""
        cfg = self.config
        t0 = time.perf_counter()
        comps = backend.generate(
            self.messages if messages is None else messages,
            n=count,
            temperature=cfg.temperature if temperature is None else temperature,
            top_p=cfg.top_p,
            max_tokens=cfg.max_tokens,
            stop=STOP_SEQUENCES,
            seed=cfg.seed + start,
            logprobs=TOP_LOGPROBS if cfg.confidence else None,
        )
        self.draws.record(comps, time.perf_counter() - t0)
        base = len(self.draws.paths)
        self.draws.paths.extend(
            from_completion(c, base + i, self.extractor, weight=weight, model=backend.model_name)
            for i, c in enumerate(comps)
        )
        self.progress(self.draws)

    def draw_programs(self, count: int) -> None:
        """Draw ``count`` programs and run them; seeds continue each prompt's programs.

        With one prompt the programs are one batched call with seeds ``seed + i``. With one
        prompt per analog the next ``count`` programs go round-robin over the prompts, and
        each prompt's share is one batched call whose seeds continue that prompt's own
        count (the prompts differ, so equal seeds still draw different programs).
        """
        prompts = self.program_prompts
        if len(prompts) == 1:
            self._program_call(prompts[0], count, self._drawn("program"))
            return
        drawn = self._drawn("program")
        shares = [0] * len(prompts)
        for i in range(drawn, drawn + count):
            shares[i % len(prompts)] += 1
        for prompt, share in zip(prompts, shares, strict=True):
            if not share:
                continue
            if self.draws.paths and self.past_deadline():
                return
            done = sum(
                1 for p in self.draws.paths if p.kind == "program" and p.analog == prompt.analog
            )
            self._program_call(prompt, share, done)

    def _program_call(self, prompt: ProgramPrompt, count: int, start: int) -> None:
        cfg = self.config
        assert self.sandbox is not None  # checked in __init__
        t0 = time.perf_counter()
        comps = self.backend.generate(
            prompt.messages,
            n=count,
            temperature=cfg.temperature,
            top_p=cfg.top_p,
            max_tokens=min(cfg.program_max_tokens, cfg.max_tokens),
            stop=PROGRAM_STOP,
            seed=cfg.seed + start,
            prefixes=[PROGRAM_PREFIX] * count,
        )
        self.draws.record(comps, time.perf_counter() - t0)
        base = len(self.draws.paths)
        for i, c in enumerate(comps):
            path = program_path(
                c, base + i, self.sandbox, task=self.task, model=self.backend.model_name
            )
            if prompt.analog is not None:
                code = path.execution.code if path.execution else ""
                copied = prompt.copied(code)
                path = replace(path, analog=prompt.analog, copied=copied)
                if copied:
                    # A program using a number only the example's question has answers the
                    # example (or obeys text planted in a stored record), not this question:
                    # it abstains from the vote. On the learning curve's questions 1 path in
                    # 167 did this; shown a poisoned record, the 1.5B model did it 3 times in 6.
                    path = replace(path, answer=None)
            self.draws.program_seconds += path.execution.seconds if path.execution else 0.0
            self.draws.paths.append(path)
        self.progress(self.draws)

    def more_programs(self, prompt: ProgramPrompt, count: int, start: int) -> list[ReasoningPath]:
        """Draw and run ``count`` programs from ``prompt`` with seeds from ``seed + start``.

        For a caller outside the sampling rounds (write-back's confirmation draws).
        """
        before = len(self.draws.paths)
        self._program_call(prompt, count, start)
        return self.draws.paths[before:]

    def greedy_prose(self) -> ReasoningPath:
        """Draw the greedy prose path ``program_first`` draws (seed ``seed + 0``, T = 0)."""
        self.draw_prose(self.backend, 1, 0, temperature=0.0)
        return self.draws.paths[-1]

    def past_deadline(self) -> bool:
        """Whether the deadline has passed (noted in the log); never before the first draw."""
        # The first draw always happens: a deadline answers with what exists, never nothing.
        if not self.draws.paths:
            return False
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.draws.log["deadline_hit"] = True
            return True
        return False

    def run(self) -> Draws:
        """Draw paths with the configuration's mode (``agent.sampling_modes``); return them
        with their cost and a log of the decisions taken."""
        SAMPLING_MODES[mode_for(self.config)](self)
        return self.draws
