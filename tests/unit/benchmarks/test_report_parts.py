"""The CLI names the report's parts without importing benchmarks/report.py (benchmarks/cli.py)."""

from benchmarks.cli import REPORT_PARTS
from benchmarks.report import PARTS


def test_the_cli_lists_the_report_parts_benchmarks_run() -> None:
    assert REPORT_PARTS == PARTS
