"""``program``: the budget as programs; with one prompt per analog, round robin."""

from __future__ import annotations

from agent.config import named_config
from agent.programs import PROGRAM_PREFIX
from agent.sampling_modes import program
from tests.support.queue_backend import QueueBackend
from tests.unit.agent.sampling_modes.scripted import EIGHT, SEVEN, prompt, sampler


def test_one_prompt_draws_every_program_in_one_call() -> None:
    backend = QueueBackend([SEVEN, EIGHT, SEVEN])
    s = sampler(backend, named_config("pot-sc@8", n=3, seed=2))
    program.sample(s)
    (call,) = backend.calls
    assert (call["n"], call["seed"], call["prefixes"]) == (3, 2, [PROGRAM_PREFIX] * 3)
    assert [p.answer for p in s.draws.paths] == ["7", "8", "7"]
    assert all(p.kind == "program" for p in s.draws.paths)


def test_analog_prompts_share_the_budget_round_robin_each_counting_its_seeds() -> None:
    backend = QueueBackend([SEVEN, SEVEN, EIGHT])
    s = sampler(backend, named_config("pot-sc@8", n=3, seed=0), [prompt("a"), prompt("b")])
    program.sample(s)
    assert [(c["n"], c["seed"]) for c in backend.calls] == [(2, 0), (1, 0)]
    assert [p.analog for p in s.draws.paths] == ["a", "a", "b"]
