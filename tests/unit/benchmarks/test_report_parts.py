"""The CLI names the report's parts without importing benchmarks/ (see api/cli/bench.py)."""

from api.cli.bench import REPORT_PARTS
from benchmarks.report import PARTS


def test_the_cli_lists_the_report_parts_benchmarks_run() -> None:
    assert REPORT_PARTS == PARTS
