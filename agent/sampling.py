"""Drawing reasoning paths from the backend: fixed n, adaptive rounds, CoT-decoding branches,
programs and prose together.

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

from agent.analogs import ProgramPrompt, independent_support
from agent.backends.base import Backend, Completion, Message
from agent.checks import check_arithmetic
from agent.config import GraphConfig
from agent.extract import extract_answer, same_answer
from agent.paths import PathKind, ReasoningPath, from_completion
from agent.programs import PROGRAM_PREFIX, PROGRAM_STOP, program_path
from agent.prompts import STOP_SEQUENCES
from agent.sandbox import Sandbox
from agent.strategies import decide
from agent.strategies.adaptive import should_stop
from agent.strategies.tally import leader, tally
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
        self.extractor = partial(extract_answer, kind=config.task)
        self.draws = Draws()

    def _drawn(self, kind: PathKind) -> int:
        return sum(1 for p in self.draws.paths if p.kind == kind)

    def _call(
        self,
        backend: Backend,
        count: int,
        start: int,
        weight: float = 1.0,
        *,
        temperature: float | None = None,
    ) -> None:
        """Draw ``count`` prose paths with seeds from ``seed + start``."""
        cfg = self.config
        t0 = time.perf_counter()
        comps = backend.generate(
            self.messages,
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

    def _programs(self, count: int) -> None:
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
            if self.draws.paths and self._past_deadline():
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
                c, base + i, self.sandbox, task=cfg.task, model=self.backend.model_name
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
        self._call(self.backend, 1, 0, temperature=0.0)
        return self.draws.paths[-1]

    def _past_deadline(self) -> bool:
        # The first draw always happens: a deadline answers with what exists, never nothing.
        if not self.draws.paths:
            return False
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.draws.log["deadline_hit"] = True
            return True
        return False

    def run(self) -> Draws:
        """Draw paths; return them with their cost and a log of the decisions taken."""
        cfg = self.config
        if cfg.sampling == "cot_decoding":
            self._cot_decoding()
            return self.draws
        if cfg.sampling == "program_first":
            self._program_first()
            return self.draws
        if cfg.paths == "program":
            self._programs(cfg.n)
            return self.draws
        if cfg.paths == "mixed":
            self._mixed(cfg.n)
            return self.draws
        budget = cfg.n
        if cfg.think_first:
            self._call(self.backend, 1, 0)
            first = self.draws.paths[0]
            decision = decide(first, cfg.vote, checks=check_arithmetic(first.text))
            self.draws.log["think"] = {"answer_now": decision.answer_now, "reason": decision.reason}
            if decision.answer_now or budget == 1:
                return self.draws
        if cfg.sampling == "adaptive":
            self._adaptive(budget)
        else:
            self._fixed(budget)
        return self.draws

    def _fixed(self, budget: int) -> None:
        remaining = budget - len(self.draws.paths)
        if remaining <= 0 or self._past_deadline():
            return
        # An ensemble splits the budget: the main model keeps the larger share.
        extras = list(self.config.ensemble.items())
        shares = {name: remaining // (len(extras) + 1) for name, _ in extras}
        main = remaining - sum(shares.values())
        self._call(self.backend, main, len(self.draws.paths))
        for name, weight in extras:
            if shares[name] and not self._past_deadline():
                self._call(self.ensemble[name], shares[name], len(self.draws.paths), weight)

    def _mixed(self, budget: int) -> None:
        """Half the budget as sampled prose paths, the rest as programs, all in one vote."""
        prose = budget // 2
        if prose:
            self._call(self.backend, prose, 0)
        if budget - prose and not self._past_deadline():
            self._programs(budget - prose)

    def _program_first(self) -> None:
        """Programs first; prose when they do not all agree; the rest only when nothing agrees.

        1. ``program_round`` sampled programs (one per recalled analog when each program is
           shown its own, at most ``program_round``): when ``program_agree`` of them print the
           same answer (and saw different analogs, if any), that answer stands (cheap: ~70
           tokens each). With ``weak_check`` (off by default) only all of them do, and:
        2. Else one greedy prose path. With ``weak_check``, ``program_agree`` programs short
           of all stand only if the prose path agrees with them. With fewer agreeing, the
           prose path agreeing with any program is enough: a chain of thought and executed
           code reached it independently.
        3. Else the remaining programs up to ``n``; the mixed vote decides.
        """
        cfg = self.config
        log = self.draws.log
        prompts = len(self.program_prompts)
        first = cfg.program_round if prompts == 1 else min(cfg.program_round, prompts)
        self._programs(first)
        top = leader(tally(self.draws.paths))
        # Programs shown the same analog count once: they may share its mistake.
        support = independent_support(top.members) if top is not None else 0
        agree = min(cfg.program_agree, first)
        # On held-out word problems 2 of 3 programs were right 64% of the time, 3 of 3 95%;
        # drawing the prose path to check them did not pay on development questions (config).
        weak = support >= agree and support < first and cfg.weak_check
        if support >= agree and not weak:
            log["stop"] = f"{support} of {first} programs agree"
            log["first_round"] = True
            log["stopped_early"] = cfg.n > first
            return
        if self._past_deadline():
            return
        self._call(self.backend, 1, 0, temperature=0.0)
        prose = self.draws.paths[-1]
        if weak:
            assert top is not None  # support > 0
            if same_answer(prose.answer, top.answer):
                log["stop"] = f"{support} of {first} programs and the prose path agree"
                log["stopped_early"] = True
                return
            log["weak_agreement"] = "the prose path disagrees: drawing the remaining programs"
        elif prose.answer is not None and any(
            same_answer(p.answer, prose.answer) for p in self.draws.paths if p.kind == "program"
        ):
            log["stop"] = "a program and the prose path agree"
            log["stopped_early"] = True
            return
        remaining = cfg.n - first
        if remaining > 0 and not self._past_deadline():
            self._programs(remaining)
        log["stop"] = "no agreement: all paths drawn"
        log["stopped_early"] = False

    def _adaptive(self, budget: int) -> None:
        vote = self.config.vote
        rounds = 0
        while not should_stop(
            self.draws.paths,
            budget,
            vote.stop_rule,
            threshold=vote.beta_threshold,
            min_n=vote.min_n,
            give_up_after=vote.give_up_after,
        ):
            if self._past_deadline():
                break
            drawn = len(self.draws.paths)
            size = max(vote.min_n - drawn, vote.round_size) if rounds == 0 else vote.round_size
            self._call(self.backend, min(size, budget - drawn), drawn)
            rounds += 1
        self.draws.log["rounds"] = rounds
        self.draws.log["stopped_early"] = len(self.draws.paths) < budget

    def _cot_decoding(self) -> None:
        """Branch on the top-k first tokens, continue each greedily, all k in one batch."""
        cfg = self.config
        k = cfg.n
        t0 = time.perf_counter()
        (first,) = self.backend.generate(
            self.messages,
            n=1,
            temperature=0.0,
            max_tokens=1,
            logprobs=k,
        )
        self.draws.record([first], time.perf_counter() - t0)
        top = first.logprobs[0].top if first.logprobs else ()
        prefixes = [tok for tok, _ in top if tok.strip() or tok][:k] or [first.text]
        self.draws.log["branches"] = prefixes
        t0 = time.perf_counter()
        comps = self.backend.generate(
            self.messages,
            n=len(prefixes),
            temperature=0.0,
            max_tokens=cfg.max_tokens,
            stop=STOP_SEQUENCES,
            logprobs=2,
            prefixes=prefixes,
        )
        self.draws.record(comps, time.perf_counter() - t0)
        self.draws.paths.extend(
            from_completion(c, i, self.extractor, model=self.backend.model_name)
            for i, c in enumerate(comps)
        )
        self.progress(self.draws)
