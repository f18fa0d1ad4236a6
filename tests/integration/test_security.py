"""The reliability suite's security cases, short form: real ``reason serve`` processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.reliability.security import (
    injection_through_memory,
    keys_and_limits,
    path_traversal,
    secrets_in_logs,
    slack_signatures,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("security")


@pytest.mark.timeout(600)
def test_keys_are_checked_and_every_limit_is_refused_with_its_status(
    small_model_path: Path, work: Path
) -> None:
    report = keys_and_limits(work, str(small_model_path), on_progress=lambda _: None)
    assert report["constant_time_compare"]
    assert report["auth"]["no key"] == report["auth"]["wrong key"] == 401, report["auth"]
    assert report["auth"]["user key on an admin operation"] == 403
    wrong = {name: v for name, v in report["limits"].items() if not v["right"]}
    assert not wrong, wrong
    assert report["ok"]


@pytest.mark.timeout(600)
def test_forged_old_and_replayed_slack_requests_are_refused(
    small_model_path: Path, work: Path
) -> None:
    report = slack_signatures(work, str(small_model_path), on_progress=lambda _: None)
    assert report["ok"], report["statuses"]


@pytest.mark.timeout(600)
def test_names_that_become_paths_cannot_leave_their_folder(
    small_model_path: Path, work: Path
) -> None:
    report = path_traversal(work, str(small_model_path), on_progress=lambda _: None)
    assert report["ok"], report


@pytest.mark.timeout(900)
def test_poisoned_memory_records_do_not_turn_answers_into_theirs(
    small_model_path: Path, work: Path
) -> None:
    report = injection_through_memory(work, str(small_model_path), on_progress=lambda _: None)
    assert report["recalled_poison"] == report["questions"]  # the attack reached the prompt
    assert report["turned_into_42"] == [] and report["ok"], report


def test_no_key_or_secret_reached_a_log(work: Path) -> None:
    # Runs after the cases above in this module (pytest keeps file order).
    report = secrets_in_logs(work)
    assert report["logs_read"] >= 3 and report["found"] == [], report
