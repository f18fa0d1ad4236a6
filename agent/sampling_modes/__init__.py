"""Sampling modes: how one question's paths are drawn, one mode per module, one registry.

Every mode has the signature ``sample(sampler) -> None``: it draws into ``sampler.draws``
through the sampler's primitives (``draw_prose``, ``draw_programs``, ``past_deadline``) and
notes its decisions in ``sampler.draws.log``. The order of the draws and their seeds belong to
the mode: the draw cache replays by prompt and seed, and an evaluation derives smaller
budgets from a prefix of the draws. Adding a mode means a new module, one line in
``SAMPLING_MODES`` and a test file; ``mode_for`` names the mode a configuration runs.

==============  =====================================================================
fixed           n prose paths in one batched call (an ensemble splits the budget)
adaptive        prose paths in rounds until the vote is decided
program         n programs (round robin over the recalled analogs' prompts)
mixed           half the budget as prose paths, the rest as programs, one vote
program_first   a round of programs, a greedy prose check, then the rest (``full``)
views           a greedy chain of thought, program and bare answer, one vote
cot_decoding    branch on the top-k first tokens, continue each greedily
==============  =====================================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from agent.config import GraphConfig
from agent.sampling_modes import (
    adaptive,
    cot_decoding,
    fixed,
    mixed,
    program,
    program_first,
    views,
)

if TYPE_CHECKING:
    from agent.sampling import Sampler

__all__ = ["SAMPLING_MODES", "SamplingMode", "mode_for"]


class SamplingMode(Protocol):
    """Draws one question's paths with a sampler."""

    def __call__(self, sampler: Sampler, /) -> None:
        """Draw into ``sampler.draws``."""
        ...


SAMPLING_MODES: dict[str, SamplingMode] = {
    "adaptive": adaptive.sample,
    "cot_decoding": cot_decoding.sample,
    "fixed": fixed.sample,
    "mixed": mixed.sample,
    "program": program.sample,
    "program_first": program_first.sample,
    "views": views.sample,
}


def mode_for(config: GraphConfig) -> str:
    """The mode a configuration runs: its ``sampling``, except that fixed or adaptive
    sampling of program or mixed paths is the ``program`` or ``mixed`` mode (their draws
    come in one round)."""
    if config.sampling in ("fixed", "adaptive") and config.paths != "prose":
        return config.paths
    return config.sampling
