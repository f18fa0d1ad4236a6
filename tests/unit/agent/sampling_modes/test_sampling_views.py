"""``views``: a greedy chain of thought, a greedy program and the greedy bare answer."""

from __future__ import annotations

from agent.backends.base import Message
from agent.config import named_config
from agent.routing import routed
from agent.sampling import Sampler
from agent.sampling_modes import views
from agent.strategies import get_strategy
from tests.support.queue_backend import QueueBackend
from tests.unit.agent.sampling_modes.scripted import EIGHT, PROSE_SEVEN, SANDBOX, SEVEN, prompt

COT: list[Message] = [
    {"role": "system", "content": "Reason step by step."},
    {"role": "user", "content": "What is 3 + 4?"},
]
CONFIG = routed(named_config("full"), {"task": "math", "plan": "greedy views"})


def _sampler(backend: QueueBackend) -> Sampler:
    return Sampler(backend, CONFIG, COT, program_prompts=[prompt()], sandbox=SANDBOX)


def test_three_greedy_paths_of_three_kinds_in_order() -> None:
    backend = QueueBackend([PROSE_SEVEN, SEVEN, "7"])
    s = _sampler(backend)
    views.sample(s)
    assert [p.kind for p in s.draws.paths] == ["prose", "program", "prose"]
    assert [p.answer for p in s.draws.paths] == ["7", "7", "7"]
    assert all(c["temperature"] == 0.0 and c["n"] == 1 and c["seed"] == 0 for c in backend.calls)
    cot, program, bare = backend.calls
    assert cot["messages"] == COT and bare["messages"] == COT[1:]  # no instruction
    assert program["prefixes"] and program["messages"] == prompt().messages
    assert s.draws.log["stop"] == "three greedy views drawn"


def test_two_views_outvote_the_third_and_a_tie_goes_to_the_chain_of_thought() -> None:
    vote = get_strategy(CONFIG.vote.strategy)
    s = _sampler(QueueBackend([PROSE_SEVEN, EIGHT, "8"]))
    views.sample(s)
    assert vote(s.draws.paths, CONFIG.vote).answer == "8"
    s = _sampler(QueueBackend([PROSE_SEVEN, EIGHT, "9"]))
    views.sample(s)
    assert vote(s.draws.paths, CONFIG.vote).answer == "7"
