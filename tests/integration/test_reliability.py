"""The reliability suite's kill case, short: a real ``reason serve`` SIGKILLed mid-write."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.reliability import disk_full_and_read_only, kill_during_writeback, model_server_dies

pytestmark = pytest.mark.integration


@pytest.mark.timeout(600)
def test_acknowledged_feedback_survives_sigkill(small_model_path: Path, tmp_path: Path) -> None:
    report = kill_during_writeback(
        tmp_path, str(small_model_path), rounds=2, clients=2, on_progress=lambda _: None
    )
    assert report["acknowledged"] >= 1, report["outcomes"]
    assert report["lost"] == 0 and report["duplicate_rows"] == 0
    assert report["integrity_check"] == "ok" and report["index_matches_sqlite"]


@pytest.mark.timeout(600)
def test_a_model_server_killed_mid_answer_is_a_503_and_the_service_recovers(
    small_model_path: Path, tmp_path: Path
) -> None:
    report = model_server_dies(tmp_path, str(small_model_path), on_progress=lambda _: None)
    flight = report["in_flight"]
    assert flight["status"] in (502, 503, 504) and flight["openai_shape"], flight
    assert flight["seconds_after_kill"] <= report["backend_timeout_s"] + 5
    assert report["healthz"] == 200 and report["readyz_while_down"]["status"] == 503
    assert report["after_restart"] == 200 and report["readyz_after"] == 200


@pytest.mark.timeout(600)
def test_a_full_or_read_only_data_dir_still_answers_and_says_why(
    small_model_path: Path, tmp_path: Path
) -> None:
    report = disk_full_and_read_only(tmp_path, str(small_model_path), on_progress=lambda _: None)
    if "not_run" in report:
        pytest.skip(report["not_run"])  # no right to mount a tmpfs here
    assert report["ok"], report
