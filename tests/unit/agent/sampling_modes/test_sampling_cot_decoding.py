"""``cot_decoding``: the top-k first tokens, each continued greedily in one batch."""

from __future__ import annotations

import math

from agent.backends.base import Completion, TokenLogprob
from agent.config import named_config
from agent.sampling_modes import cot_decoding
from tests.support.queue_backend import QueueBackend
from tests.unit.agent.sampling_modes.scripted import sampler


def test_branches_on_the_top_first_tokens_and_continues_each_in_one_call() -> None:
    top = (("3", math.log(0.5)), ("The", math.log(0.3)), ("So", math.log(0.2)))
    first = Completion("3", "stop", 10, 1, None, (TokenLogprob("3", math.log(0.5), top),), "q")
    backend = QueueBackend([first, " + 4 = 7. \\boxed{7}", " sum is 7", " it is 8"])
    s = sampler(backend, named_config("cot-decoding@8", n=3))
    cot_decoding.sample(s)
    probe, branches = backend.calls
    assert (probe["n"], probe["max_tokens"], probe["logprobs"]) == (1, 1, 3)
    assert branches["prefixes"] == ["3", "The", "So"] and branches["temperature"] == 0.0
    assert s.draws.log["branches"] == ["3", "The", "So"]
    assert [p.text for p in s.draws.paths][0] == "3 + 4 = 7. \\boxed{7}"
    assert [p.answer for p in s.draws.paths] == ["7", "7", "8"]
