"""Programs first (``mixed-adaptive@8``, ``full``): a round of programs, a greedy prose check
when they do not agree, the remaining programs only when nothing agrees."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.analogs import independent_support
from agent.extract import same_answer
from agent.strategies.tally import leader, tally

if TYPE_CHECKING:
    from agent.sampling import Sampler


def sample(sampler: Sampler) -> None:
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
    cfg = sampler.config
    draws = sampler.draws
    log = draws.log
    prompts = len(sampler.program_prompts)
    first = cfg.program_round if prompts == 1 else min(cfg.program_round, prompts)
    sampler.draw_programs(first)
    top = leader(tally(draws.paths))
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
    if sampler.past_deadline():
        return
    prose = sampler.greedy_prose()
    if weak:
        assert top is not None  # support > 0
        if same_answer(prose.answer, top.answer):
            log["stop"] = f"{support} of {first} programs and the prose path agree"
            log["stopped_early"] = True
            return
        log["weak_agreement"] = "the prose path disagrees: drawing the remaining programs"
    elif prose.answer is not None and any(
        same_answer(p.answer, prose.answer) for p in draws.paths if p.kind == "program"
    ):
        log["stop"] = "a program and the prose path agree"
        log["stopped_early"] = True
        return
    remaining = cfg.n - first
    if remaining > 0 and not sampler.past_deadline():
        sampler.draw_programs(remaining)
    log["stop"] = "no agreement: all paths drawn"
    log["stopped_early"] = False
