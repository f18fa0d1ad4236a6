"""Three greedy views (``full``'s plan for answers in words or yes/no, agent/routing.py).

One greedy path of each kind the service can draw: a chain of thought (the sampling
prompt), a program (the first program prompt), and the bare question without instruction
(the sampling prompt less its system message). Each is the deterministic best guess of a
differently framed model; they vote, and a tie goes to the chain of thought.
On syllogisms sampled paths (T = 0.7) voted worse than the one greedy chain of thought;
three greedy views beat it on the development questions (docs/evaluation.md).

The chain of thought is the longest view (about 300 tokens on a syllogism, against ~110 for
the program and a few for the bare answer), so it is drawn last and only when needed: when
the bare answer and the program agree, two of three votes are cast and the chain of thought
cannot change the answer. Otherwise it decides (it either joins one of the two or wins the
tie). The paths are listed, and vote, in the plan's order, the chain of thought first, so
ties go to it though it was drawn last; each path keeps its draw index. When the chain of
thought is not drawn, the program is listed first: it is the rationale shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.strategies.tally import tally

if TYPE_CHECKING:
    from agent.sampling import Sampler


def sample(sampler: Sampler) -> None:
    """The greedy program and bare answer; the greedy chain of thought when they differ."""
    sampler.draw_programs(1)  # the plan's temperature is 0: greedy
    if not sampler.past_deadline():
        bare = [m for m in sampler.messages if m["role"] != "system"]
        # Seed 0 like the chain of thought's: greedy draws ignore it, and the cache keys it.
        sampler.draw_prose(sampler.backend, 1, 0, temperature=0.0, messages=bare)
    paths = sampler.draws.paths
    if len(paths) == 2 and len(tally(paths)) == 1 and all(p.answer for p in paths):
        sampler.draws.log["stop"] = "the bare answer and the program agree"
        return
    if sampler.past_deadline():
        return
    cot = sampler.greedy_prose()
    # Plan order: the chain of thought first (ties go to it, and it is the rationale shown
    # when it is among the winners), then the program, then the bare answer.
    paths[:] = [cot, *paths[:-1]]
    sampler.draws.log["stop"] = "three greedy views drawn"
