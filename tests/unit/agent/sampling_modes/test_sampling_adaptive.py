"""``adaptive``: ``min_n`` paths, then one round at a time until the stop rule holds."""

from __future__ import annotations

from agent.config import named_config
from agent.sampling import Sampler
from agent.sampling_modes import adaptive
from tests.support.queue_backend import QueueBackend
from tests.unit.agent.sampling_modes.scripted import PROSE_SEVEN, PROSE_TEN, sampler


def test_agreeing_first_round_stops_early() -> None:
    backend = QueueBackend([PROSE_SEVEN] * 8)
    s = adaptive_sampler(backend)
    adaptive.sample(s)
    assert [(c["n"], c["seed"]) for c in backend.calls][0] == (3, 0)
    assert len(s.draws.paths) < 8
    assert s.draws.log["stopped_early"] is True


def test_rounds_continue_the_seeds_until_the_budget() -> None:
    backend = QueueBackend([PROSE_SEVEN, PROSE_TEN] * 4)
    s = adaptive_sampler(backend)
    adaptive.sample(s)
    seeds = [c["seed"] for c in backend.calls]
    assert seeds == sorted(seeds) and seeds[0] == 0
    assert [p.seed for p in s.draws.paths] == list(range(len(s.draws.paths)))
    assert s.draws.log["rounds"] == len(backend.calls)


def adaptive_sampler(backend: QueueBackend) -> Sampler:
    return sampler(backend, named_config("adaptive@8", seed=0))
