"""Three greedy views (``full``'s plan for answers in words or yes/no, agent/routing.py).

One greedy path of each kind the service can draw: a chain of thought (the sampling
prompt), a program (the first program prompt), and the bare question without instruction
(the sampling prompt less its system message). Each is the deterministic best guess of a
differently framed model; they vote, and a tie goes to the chain of thought, drawn first.
On syllogisms sampled paths (T = 0.7) voted worse than the one greedy chain of thought;
three greedy views beat it on the development questions (docs/evaluation.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.sampling import Sampler


def sample(sampler: Sampler) -> None:
    """The greedy chain of thought, the greedy program, the greedy bare answer."""
    sampler.greedy_prose()
    if not sampler.past_deadline():
        sampler.draw_programs(1)  # the plan's temperature is 0: greedy
    if not sampler.past_deadline():
        bare = [m for m in sampler.messages if m["role"] != "system"]
        sampler.draw_prose(sampler.backend, 1, 0, temperature=0.0, messages=bare)
    sampler.draws.log["stop"] = "three greedy views drawn"
