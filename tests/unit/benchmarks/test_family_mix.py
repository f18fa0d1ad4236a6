"""The mix-of-kinds report: rows per configuration over its own answers, the mix pooled,
full against the best other paired, and the README's cells."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.family_mix import markdown, mix_report


def _rec(correct: bool) -> dict[str, Any]:
    return {"correct": correct, "n_paths": 3, "completion_tokens": 100, "model_seconds": 2.0}


def _file(tmp: Path, name: str, results: dict[str, dict[str, bool]]) -> Path:
    data = {
        "meta": {"dataset": name, "seed": 42},
        "results": {q: {c: _rec(ok) for c, ok in r.items()} for q, r in results.items()},
    }
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


def test_rows_pool_and_pair(tmp_path: Path) -> None:
    legs = _file(tmp_path, "legs", {
        "20": {"full": True, "cot": False}, "21": {"full": True, "cot": True},
        "22": {"full": False, "cot": True}, "23": {"full": True},
    })  # fmt: skip
    sums = _file(tmp_path, "sums", {"20": {"full": True, "cot": True}})
    report = mix_report([legs, sums], ("cot", "full"))
    fam = report["families"][0]
    assert fam["rows"]["full"]["questions"] == 4 and fam["rows"]["cot"]["questions"] == 3
    assert fam["full_vs_best"] == {"best_other": "cot", "questions": 3, "won": 1, "lost": 1}
    assert report["mix"]["full"]["right"] == 4 and report["mix"]["full"]["questions"] == 5
    table = markdown(report, ("cot", "full"))
    assert "| legs (4) | 67% (21%–94%), 3 q | 75% (30%–95%) |" in table
    assert table.splitlines()[-1].startswith("| **mix** (5) |")


def test_a_configuration_missing_a_family_has_no_mix_row(tmp_path: Path) -> None:
    a = _file(tmp_path, "a", {"20": {"full": True, "pot": True}})
    b = _file(tmp_path, "b", {"20": {"full": False}})
    report = mix_report([a, b], ("pot", "full"))
    assert set(report["mix"]) == {"full"}
    assert "| **mix** (2) | — | 50%" in markdown(report, ("pot", "full"))
