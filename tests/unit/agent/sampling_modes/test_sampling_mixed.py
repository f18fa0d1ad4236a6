"""``mixed``: half prose, half programs, each kind counting its own seeds."""

from __future__ import annotations

from agent.config import named_config
from agent.prompts import STOP_SEQUENCES
from agent.sampling_modes import mixed
from tests.support.queue_backend import QueueBackend
from tests.unit.agent.sampling_modes.scripted import EIGHT, PROSE_SEVEN, SEVEN, sampler


def test_prose_first_then_programs_both_from_the_configured_seed() -> None:
    backend = QueueBackend([PROSE_SEVEN, PROSE_SEVEN, SEVEN, EIGHT, SEVEN])
    s = sampler(backend, named_config("mixed@8", n=5, seed=3))
    mixed.sample(s)
    prose, programs = backend.calls
    assert (prose["n"], prose["seed"], prose["stop"]) == (2, 3, STOP_SEQUENCES)
    assert (programs["n"], programs["seed"]) == (3, 3)
    assert [p.kind for p in s.draws.paths] == ["prose"] * 2 + ["program"] * 3
