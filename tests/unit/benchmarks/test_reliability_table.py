"""RELIABILITY.md says FAILS when a case did not hold (pure rendering, no server)."""

from benchmarks.reliability import OTHER_CASES, render_table

KILL = {
    "rounds": 2, "clients": 2, "acknowledged": 5, "lost": 0, "merged_into_an_earlier_record": 0,
    "integrity_check": "ok", "indexed_problems": 5, "index_matches_sqlite": True,
    "duplicate_rows": 0, "ok": True,
}  # fmt: skip


def test_a_case_that_held_says_so_and_every_other_case_has_a_row() -> None:
    table = render_table({"date": "2026-11-29", "model": "/m/small.gguf", "kill": KILL})
    assert "| kill during write-back |" in table and "holds: 5 feedbacks" in table
    assert all(f"| {name} |" in table for name, _, _ in OTHER_CASES)


def test_a_lost_record_or_a_429_without_retry_after_is_a_failure() -> None:
    overload = {
        "clients": 4, "statuses": {"200": 1, "429": 3}, "only_200_or_429": True,
        "429_without_retry_after": 1, "admitted_p50_s": 1.0, "admitted_p99_s": 1.0,
        "rss_mb_before": 1, "rss_mb_after": 1,
    }  # fmt: skip
    table = render_table({"kill": {**KILL, "lost": 1, "ok": False}, "overload": [overload]})
    assert table.count("**FAILS**") == 2


def test_soak_growth_beyond_its_bound_is_a_failure_and_unrun_cases_say_so() -> None:
    level = {"rss_mb": 800.0, "fds": 20, "threads": 17}
    soak = {
        "clients": 8, "minutes": 2, "requests": 100, "statuses": {"200": 100},
        "after_warmup": level, "end": {**level, "rss_mb": 900.0},
        "growth_after_warmup": {"rss_mb": 100.0, "fds": 0, "threads": 0},
        "bounds": {"rss_mb": 64.0, "fds": 8, "threads": 4}, "p50_s": 1.0, "p99_s": 2.0,
        "per_minute": [{"p99_s": 2.0}, {"p99_s": 1.5}], "ok": False,
    }  # fmt: skip
    table = render_table({"soak": soak})
    assert "| soak | 8 clients, 2 minutes" in table and "**FAILS**" in table
    assert "+100.0 MB, bound 64" in table
    assert "| security | keys, limits" in table and "not run yet" in table
