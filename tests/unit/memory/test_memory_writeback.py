from __future__ import annotations

import pytest

from memory import Evidence, Rejection, VerifiedPath, WriteBackThresholds, decide

THRESHOLDS = WriteBackThresholds(min_vote_share=0.6, min_agreeing_paths=3, min_confidence=0.5)


def evidence(**changes: object) -> Evidence:
    base: dict[str, object] = {
        "question": "What is 2 + 2?",
        "answer": "4",
        "path": "2 + 2 = 4",
        "vote_share": 0.8,
        "agreeing_paths": 4,
        "confidence": 0.9,
    }
    base.update(changes)
    return Evidence(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "accepted", "by"),
    [
        ({}, True, "consensus"),
        ({"confidence": None}, True, "consensus"),
        (
            {"ground_truth_match": True, "vote_share": 0.1, "agreeing_paths": 1},
            True,
            "ground_truth",
        ),
        ({"ground_truth_match": False}, False, None),
        ({"vote_share": 0.5}, False, None),
        ({"vote_share": None}, False, None),
        ({"agreeing_paths": 2}, False, None),
        ({"confidence": 0.4}, False, None),
        ({"checks": {"units": True, "arithmetic": False}}, False, None),
        ({"answer": "  "}, False, None),
        ({"path": ""}, False, None),
        (
            {"dissenting_paths": 0, "blind_agreeing": 1, "independent_agreement": True},
            True,
            "execution",
        ),
        ({"dissenting_paths": 0, "blind_agreeing": 3}, False, None),
        ({"dissenting_paths": 1, "blind_agreeing": 3}, False, None),
        ({"dissenting_paths": 0, "blind_agreeing": 0}, False, None),
        ({"independent_agreement": True}, True, "execution"),
        ({"independent_agreement": True, "agreeing_paths": 2}, False, None),
        (
            {"ground_truth_match": True, "dissenting_paths": 5, "blind_agreeing": 0},
            True,
            "ground_truth",
        ),
    ],
    ids=[
        "all-thresholds-met",
        "confidence-unknown-is-skipped",
        "ground-truth-match-decides-alone",
        "ground-truth-mismatch-rejects",
        "low-vote-share",
        "no-vote-share",
        "too-few-agreeing-paths",
        "low-confidence",
        "failed-check",
        "empty-answer",
        "empty-path",
        "unanimous-with-a-blind-path",
        "traffic-unanimous-programs-without-prose",
        "one-path-dissents",
        "only-paths-shown-recalled-records",
        "program-and-prose-named-execution",
        "program-and-prose-alone-no-longer-enough",
        "ground-truth-ignores-traffic-rules",
    ],
)
def test_decide_applies_policy(changes: dict[str, object], accepted: bool, by: str | None) -> None:
    result = decide(evidence(**changes), THRESHOLDS)
    if accepted:
        assert isinstance(result, VerifiedPath)
        assert result.verified_by == by
    else:
        assert isinstance(result, Rejection)
        assert result.reason


def test_decide_rejects_missing_confidence_when_required() -> None:
    strict = THRESHOLDS.model_copy(update={"require_confidence": True})
    result = decide(evidence(confidence=None), strict)
    assert isinstance(result, Rejection)
    assert "confidence" in result.reason


def test_rejection_names_the_failed_check() -> None:
    result = decide(evidence(checks={"units": False}), THRESHOLDS)
    assert isinstance(result, Rejection)
    assert "units" in result.reason


def test_verified_path_cannot_be_constructed_outside_the_policy() -> None:
    with pytest.raises(TypeError, match="decide"):
        VerifiedPath(evidence=evidence(), verified_by="consensus")


def test_dissent_rule_can_be_turned_off() -> None:
    lenient = THRESHOLDS.model_copy(update={"max_dissenting_paths": None})
    split = evidence(dissenting_paths=2, blind_agreeing=1, independent_agreement=True)
    assert isinstance(decide(split, lenient), VerifiedPath)


def test_rejection_says_why_recall_cannot_vouch() -> None:
    result = decide(evidence(dissenting_paths=0, blind_agreeing=0), THRESHOLDS)
    assert isinstance(result, Rejection)
    assert "independent of recalled records" in result.reason


def test_traffic_needs_a_program_and_a_prose_path_unless_turned_off() -> None:
    unanimous_programs = evidence(dissenting_paths=0, blind_agreeing=3)
    result = decide(unanimous_programs, THRESHOLDS)
    assert isinstance(result, Rejection)
    assert "program and prose" in result.reason
    lenient = THRESHOLDS.model_copy(update={"require_program_and_prose": False})
    accepted = decide(unanimous_programs, lenient)
    assert isinstance(accepted, VerifiedPath)
    assert accepted.verified_by == "consensus"
