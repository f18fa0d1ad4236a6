from __future__ import annotations

import pytest

from agent.checks import CheckReport
from agent.paths import ReasoningPath
from agent.strategies import VoteConfig, decide

PASS = CheckReport(total=2, passed=2)
FAIL = CheckReport(total=2, passed=1, failed=["7 * 8 = 54"])


def path(answer="12", confidence=0.9, finish="stop") -> ReasoningPath:
    return ReasoningPath(0, "text", answer, confidence=confidence, finish_reason=finish)


@pytest.mark.parametrize(
    ("first", "checks", "cfg", "answer_now"),
    [
        (path(), PASS, VoteConfig(), True),
        (path(), None, VoteConfig(), True),
        (path(confidence=0.5), PASS, VoteConfig(), False),
        (path(confidence=0.8), PASS, VoteConfig(think_threshold=0.8), True),
        (path(answer=None), PASS, VoteConfig(), False),
        (path(finish="length"), PASS, VoteConfig(), False),
        (path(), FAIL, VoteConfig(), False),
        (path(), FAIL, VoteConfig(think_require_checks=False), True),
        (path(confidence=None), PASS, VoteConfig(), False),
        (path(confidence=None), PASS, VoteConfig(think_threshold=0.0), True),
    ],
    ids=[
        "confident-and-checked",
        "confident-without-checks",
        "not-confident",
        "threshold-inclusive",
        "no-answer",
        "truncated",
        "failed-check",
        "failed-check-allowed",
        "unknown-confidence",
        "no-threshold",
    ],
)
def test_think_on_demand_decision_table(first, checks, cfg, answer_now):
    decision = decide(first, cfg, checks=checks)
    assert decision.answer_now is answer_now
    assert decision.reason


def test_think_on_demand_explicit_confidence_overrides_the_path():
    decision = decide(path(confidence=0.1), VoteConfig(), confidence=0.95)
    assert decision.answer_now and decision.confidence == 0.95
