"""``fixed``: the budget in one batched call, seeds from ``seed``; an ensemble splits it."""

from __future__ import annotations

from agent.config import named_config
from agent.sampling_modes import fixed
from tests.support.queue_backend import QueueBackend
from tests.unit.agent.sampling_modes.scripted import PROSE_SEVEN, sampler


def test_draws_the_budget_in_one_call_with_seeds_from_the_configured_seed() -> None:
    backend = QueueBackend([PROSE_SEVEN] * 4)
    s = sampler(backend, named_config("sc@8", n=4, seed=5))
    fixed.sample(s)
    (call,) = backend.calls
    assert (call["n"], call["seed"]) == (4, 5)
    assert [p.seed for p in s.draws.paths] == [5, 6, 7, 8]
    assert [p.answer for p in s.draws.paths] == ["7"] * 4


def test_an_ensemble_gives_each_model_its_share_with_seeds_continuing() -> None:
    main, other = QueueBackend([PROSE_SEVEN] * 3), QueueBackend([PROSE_SEVEN] * 2, name="other")
    cfg = named_config("sc@8", n=5, seed=0, ensemble={"other": 0.5}, vote={"strategy": "ensemble"})
    s = sampler(main, cfg, ensemble={"other": other})
    fixed.sample(s)
    assert [(c["n"], c["seed"]) for c in main.calls] == [(3, 0)]
    assert [(c["n"], c["seed"]) for c in other.calls] == [(2, 3)]
    assert [p.weight for p in s.draws.paths] == [1.0, 1.0, 1.0, 0.5, 0.5]


def test_think_first_on_a_one_path_budget_draws_only_that_path() -> None:
    backend = QueueBackend([PROSE_SEVEN])
    s = sampler(backend, named_config("cot", think_first=True))
    fixed.sample(s)
    assert len(backend.calls) == 1 and len(s.draws.paths) == 1
    assert "think" in s.draws.log
