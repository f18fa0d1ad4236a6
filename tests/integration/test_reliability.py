"""The reliability suite's kill case, short: a real ``reason serve`` SIGKILLed mid-write."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.reliability import kill_during_writeback

pytestmark = pytest.mark.integration


@pytest.mark.timeout(600)
def test_acknowledged_feedback_survives_sigkill(small_model_path: Path, tmp_path: Path) -> None:
    report = kill_during_writeback(
        tmp_path, str(small_model_path), rounds=2, clients=2, on_progress=lambda _: None
    )
    assert report["acknowledged"] >= 1, report["outcomes"]
    assert report["lost"] == 0 and report["duplicate_rows"] == 0
    assert report["integrity_check"] == "ok" and report["index_matches_sqlite"]
