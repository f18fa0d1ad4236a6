"""``program_first``: a round of programs; a greedy prose check; the rest when nothing agrees."""

from __future__ import annotations

from agent.config import named_config
from agent.sampling_modes import program_first
from tests.support.queue_backend import QueueBackend
from tests.unit.agent.sampling_modes.scripted import (
    EIGHT,
    NINE,
    PROSE_SEVEN,
    PROSE_TEN,
    SEVEN,
    sampler,
)

CONFIG = named_config("mixed-adaptive@8", seed=0)


def test_agreeing_programs_answer_after_the_first_round() -> None:
    backend = QueueBackend([SEVEN, SEVEN, EIGHT])
    s = sampler(backend, CONFIG)
    program_first.sample(s)
    assert [(c["n"], c["seed"]) for c in backend.calls] == [(3, 0)]
    assert s.draws.log["stop"] == "2 of 3 programs agree"
    assert s.draws.log["first_round"] is True


def test_a_greedy_prose_path_agreeing_with_a_program_stops() -> None:
    backend = QueueBackend([SEVEN, EIGHT, NINE, PROSE_SEVEN])
    s = sampler(backend, CONFIG)
    program_first.sample(s)
    prose = backend.calls[1]
    assert (prose["n"], prose["seed"], prose["temperature"]) == (1, 0, 0.0)
    assert s.draws.log["stop"] == "a program and the prose path agree"
    assert len(s.draws.paths) == 4


def test_nothing_agreeing_draws_the_remaining_programs() -> None:
    backend = QueueBackend([SEVEN, EIGHT, NINE, PROSE_TEN] + [SEVEN] * 5)
    s = sampler(backend, CONFIG)
    program_first.sample(s)
    assert [(c["n"], c["seed"]) for c in backend.calls] == [(3, 0), (1, 0), (5, 3)]
    assert s.draws.log["stop"] == "no agreement: all paths drawn"
    assert len(s.draws.paths) == 9
