"""Pure logic of the benchmark report: the cost/accuracy frontier, timings, run directories."""

from __future__ import annotations

from pathlib import Path

from benchmarks.report import cost_timings, find_run_dir, frontier, time_breakdown


def _row(config: str, accuracy: float, tokens: float | None) -> dict[str, object]:
    return {"config": config, "accuracy": accuracy, "completion_tokens": tokens}


def test_frontier_keeps_only_configurations_nothing_beats_on_both_axes() -> None:
    rows = [
        _row("greedy", 0.35, 300),
        _row("cot", 0.40, 300),  # same cost, more accurate: greedy is dominated
        _row("sc@8", 0.60, 2400),
        _row("adaptive@8", 0.60, 1900),  # same accuracy, cheaper: sc@8 is dominated
        _row("peer", 0.30, 5000),
        _row("no-tokens", 0.9, None),  # no token count: not placed
    ]
    assert frontier(rows) == ["cot", "adaptive@8"]


def test_cached_draws_are_charged_at_what_they_cost_when_drawn() -> None:
    rec = {"timings": {"model": 0.0, "sample": 0.01, "verify": 0.02}, "model_seconds": 30.0}
    assert cost_timings(rec) == {"model": 30.0, "sample": 30.01, "verify": 0.02}


def test_overhead_is_node_time_outside_model_calls_and_embedding() -> None:
    rec = {
        "timings": {"model": 9.0, "sample": 9.5, "embed_search": 0.4, "retrieve": 0.5},
        "model_seconds": 9.0, "paths": [{"tokens": 100}], "completion_tokens": 120,
        "prompt_tokens": 50,
    }  # fmt: skip
    out = time_breakdown({"ds": {"results": {"0": {"full": rec}}}})
    # node wall 10.0 s, of which 9.4 s model + embedding: 0.6 s (6%) is the graph's own
    assert out["configs"]["full"]["overhead_percent"] == 6.0
    assert out["configs"]["full"]["other_completion_tokens"] == 20.0
    assert set(out["nodes"]["full"]) == {"sample", "retrieve"}


def test_a_run_started_on_an_earlier_day_is_found(tmp_path: Path) -> None:
    assert find_run_dir(tmp_path, "full") is None
    for d in ("2026-11-20-full", "2026-11-23-full", "2026-11-24-fullish", "2026-11-25-quick"):
        (tmp_path / d).mkdir()
    assert find_run_dir(tmp_path, "full") == tmp_path / "2026-11-23-full"


def test_an_unlabelled_stream_says_what_was_stored_demoted_and_why_not() -> None:
    from benchmarks.report_md import _stream_section

    learned = {
        "0": {"attempted": 0, "stored": 0},
        "100": {
            "attempted": 94, "requests": 98, "poisoned": 19, "correct": 60,
            "answers_stored": 28, "stored_precision": 1.0, "demoted": 2,
            "not_stored_because": {"N path(s) reached another answer": 59},
        },
    }  # fmt: skip
    misses = {"wrong": 27, "same_template_served": 76, "right_stored": 2,
              "right_not_stored": 18, "wrong_stored": 0, "wrong_not_stored": 56}  # fmt: skip
    table = "\n".join(_stream_section(learned, {"100": {"misses_in_stream": misses}}))
    assert "| 100 | 98 | 19 | 60/98 (61%) | 28 | 100.0% | 2 | — | N path(s) reached" in table
    assert (
        "27 wrong; their templates served 76x: right 20 (stored 2), wrong 56 (stored 0) |" in table
    )
    assert "| 0 |" not in table  # nothing served: no row
    assert _stream_section({"0": learned["0"]}, {}) == []


def test_an_unlabelled_curve_is_plotted_with_what_it_stored(tmp_path: Path) -> None:
    from benchmarks.plots import learning_curve_plot

    row = {"config": "full", "questions": 100, "ci95": [0.64, 0.81], "avg_paths": 4.3,
           "completion_tokens": 540.0, "prompt_tokens": 300.0}  # fmt: skip
    curve = {
        "dataset": "gsm_symbolic", "labels": False, "configs": ["full"],
        "rows": [
            {**row, "size": 0, "accuracy": 0.73, "stored": 0, "stored_precision": None},
            {**row, "size": 100, "accuracy": 0.74, "stored": 27, "stored_precision": 26 / 27},
        ],
    }  # fmt: skip
    out = tmp_path / "curve.png"
    assert learning_curve_plot(curve, out) and out.stat().st_size > 10_000
    assert not learning_curve_plot({**curve, "rows": []}, tmp_path / "none.png")


def test_misses_in_stream_count_how_the_stream_answered_their_templates() -> None:
    from benchmarks.memory_analysis import misses_in_stream
    from evaluation.evaluate import Evaluation

    ev = Evaluation.__new__(Evaluation)
    ev.data = {"results": {
        "1": {"full": {"correct": False}}, "2": {"full": {"correct": True}},
        "3": {"full": {"correct": False}},
    }}  # fmt: skip
    templates = {"1": ("a",), "2": ("b",), "3": None}
    out = misses_in_stream(ev, "full", templates, [("a",), ("b",), ("a",), ("a",)], "Srww")
    assert out == {"wrong": 2, "same_template_served": 3, "right_stored": 1,
                   "right_not_stored": 0, "wrong_stored": 0, "wrong_not_stored": 2,
                   "corrected": 0}  # fmt: skip
