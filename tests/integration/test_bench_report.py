"""``reason bench report`` plumbing on the tiny real model: files written, parsed, resumable."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from benchmarks.report import PARTS, SUITES, DatasetSpec, run_report
from service.settings import Settings

pytestmark = pytest.mark.integration


OPTILLM = Path(__file__).resolve().parents[2] / ".venv-optillm" / "bin" / "optillm"


@pytest.mark.timeout(1200)  # ~2 min idle; a shared 2-core box is far slower
def test_quick_like_report_writes_results_report_and_plots(
    small_model_path: Path, tmp_path: Path
) -> None:
    suite = replace(
        SUITES["quick"],
        datasets=(DatasetSpec("gsm_symbolic", "math", 3),
                  DatasetSpec("family_relationships", "text", 1, ("cot",))),
        configs=("cot", "sc@8", "adaptive@8"),
        max_tokens=24,
        lc_sizes=(0, 2),
        lc_eval_size=2,
        lc_configs=("retrieval+sc",),
        peer_approaches=("cot_reflection",),
        peer_size=1,
        throughput_size=1,
        concurrencies=(1, 2),
    )  # fmt: skip
    settings = Settings(model=str(small_model_path), data_dir=tmp_path / "data", n_ctx=2048)
    run_dir = tmp_path / "run"
    parts = PARTS if OPTILLM.exists() else tuple(p for p in PARTS if p != "peers")
    results = run_report(settings, suite, run_dir, parts=parts)

    data = json.loads((run_dir / "results.json").read_text())
    assert data["meta"]["eval_seed"] == 42 and 42 in data["meta"]["reserved_eval_seeds"]
    gsm = data["datasets"]["gsm_symbolic"]
    assert len(gsm["results"]) == 3
    for record in gsm["results"].values():
        assert {"cot", "sc@8", "adaptive@8"} <= set(record)
        assert len(record["sc@8"]["paths"]) == 8
        assert record["cot"]["completion_tokens"] > 0
    family = data["datasets"]["family_relationships"]
    assert family["task"] == "text"
    assert [set(r) for r in family["results"].values()] == [{"cot"}]  # its own configurations
    assert [r["config"] for r in family["summary"]] == ["cot"]
    assert {r["size"] for r in data["learning_curve"]["rows"]} == {0, 2}
    assert data["frontier"]["gsm_symbolic"]
    assert "sample" in data["time"]["nodes"]["cot"]
    assert [r["concurrency"] for r in data["throughput"]["batch"]] == [1, 2]
    assert data["throughput"]["paths"]["batched"]["completion_tokens"] > 0

    if OPTILLM.exists():  # the peer's tokens are counted at the model server
        peers = data["peers"]
        assert peers["rows"], peers.get("unavailable")
        answered = [r for recs in peers["results"].values() for r in recs.values()
                    if "error" not in r]  # fmt: skip
        assert answered
        assert all(r["model_requests"] >= 1 and r["completion_tokens"] > 0 for r in answered)

    report = (run_dir / "report.md").read_text()
    assert "### gsm_symbolic (math)" in report and "## Memory learning curve" in report
    for name in ("frontier.png", "paths.png", "learning_curve.png", "time.png"):
        assert name in data["plots"] and f"]({name})" in report
        with Image.open(run_dir / name) as img:
            assert img.format == "PNG" and img.size[0] > 100

    # Resume one part on what a fresh clone has (no memories: they are git-ignored): nothing
    # new is drawn, the same answers come back, and the parts not run this time are read
    # back from the committed work files of the first run.
    shutil.rmtree(run_dir / "work" / "memory")
    again = run_report(settings, suite, run_dir, parts=("eval",))
    assert again["meta"]["draw_cache"]["misses"] == 0
    assert again["learning_curve"]["rows"] == results["learning_curve"]["rows"]
    assert again["throughput"] == results["throughput"]
    assert (
        again["datasets"]["gsm_symbolic"]["results"]
        == results["datasets"]["gsm_symbolic"]["results"]
    )
