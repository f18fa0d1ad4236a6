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


def test_agreeing_program_and_bare_answer_stop_before_the_chain_of_thought() -> None:
    backend = QueueBackend([SEVEN, "7"])
    s = _sampler(backend)
    views.sample(s)
    assert [p.kind for p in s.draws.paths] == ["program", "prose"]
    assert [p.answer for p in s.draws.paths] == ["7", "7"]
    assert (
        len(backend.calls) == 2 and s.draws.log["stop"] == "the bare answer and the program agree"
    )
    program, bare = backend.calls
    assert program["prefixes"] and program["messages"] == prompt().messages
    assert bare["messages"] == COT[1:]  # no instruction
    assert all(c["temperature"] == 0.0 and c["n"] == 1 and c["seed"] == 0 for c in backend.calls)
    verdict = get_strategy(CONFIG.vote.strategy)(s.draws.paths, CONFIG.vote)
    assert verdict.answer == "7" and verdict.chosen == 0  # the program is the rationale


def test_disagreement_draws_the_chain_of_thought_listed_first() -> None:
    backend = QueueBackend([EIGHT, "9", PROSE_SEVEN])
    s = _sampler(backend)
    views.sample(s)
    assert backend.calls[2]["messages"] == COT and backend.calls[2]["temperature"] == 0.0
    assert [p.kind for p in s.draws.paths] == ["prose", "program", "prose"]
    assert [p.index for p in s.draws.paths] == [2, 0, 1]  # plan order; draw indices kept
    assert s.draws.log["stop"] == "three greedy views drawn"


def test_two_views_outvote_the_third_and_a_tie_goes_to_the_chain_of_thought() -> None:
    vote = get_strategy(CONFIG.vote.strategy)
    s = _sampler(QueueBackend([EIGHT, "7", PROSE_SEVEN]))
    views.sample(s)
    verdict = vote(s.draws.paths, CONFIG.vote)
    assert verdict.answer == "7" and verdict.chosen == 2  # the chain of thought is shown
    s = _sampler(QueueBackend([EIGHT, "9", PROSE_SEVEN]))
    views.sample(s)
    assert vote(s.draws.paths, CONFIG.vote).answer == "7"
    s = _sampler(QueueBackend([EIGHT, "", PROSE_SEVEN]))  # the bare answer abstains
    views.sample(s)
    assert vote(s.draws.paths, CONFIG.vote).answer == "7"
