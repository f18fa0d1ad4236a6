"""The evaluation table compares configurations on the same questions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.evaluate import Evaluation

META = {"dataset": "gsm_symbolic", "seed": 42, "model": "m"}


def _rec(correct: bool, paths: int = 1) -> dict[str, object]:
    return {"correct": correct, "n_paths": paths, "completion_tokens": 10 * paths,
            "prompt_tokens": 5, "model_seconds": 1.0}  # fmt: skip


def test_rows_cover_only_questions_every_listed_configuration_answered(tmp_path: Path) -> None:
    results = {
        "0": {"cot": _rec(True), "sc@8": _rec(True, 8)},
        "1": {"cot": _rec(False), "sc@8": _rec(True, 8)},
        "2": {"cot": _rec(False)},  # sc@8 has not reached question 2 yet
    }
    path = tmp_path / "eval.json"
    path.write_text(json.dumps({"meta": META, "results": results}))
    rows = {r["config"]: r for r in Evaluation(path, META).summary(["cot", "sc@8"])}
    assert rows["cot"]["questions"] == rows["sc@8"]["questions"] == 2
    assert (rows["cot"]["accuracy"], rows["sc@8"]["accuracy"]) == (0.5, 1.0)
    # A configuration with no records yet does not empty the table.
    rows = {r["config"]: r for r in Evaluation(path, META).summary(["cot", "full"])}
    assert rows["cot"]["questions"] == 3 and "full" not in rows


def test_adaptive_rows_are_derived_from_the_fixed_n_draws() -> None:
    from agent.config import named_config
    from evaluation.evaluate import derived_records

    answers = ["5", "9", "7", "5", "5", "5", "5", "5"]
    record = {
        "config": "sc@8", "prompt_tokens": 100,
        "paths": [{"answer": a, "tokens": 10, "confidence": None, "model": "m"} for a in answers],
    }  # fmt: skip
    votes = {c: named_config(c).vote for c in ("adaptive@8", "adaptive-giveup@8")}
    rows = derived_records(record, lambda a: a == "5", 8, votes)
    assert [rows[f"sc@{k}"]["answer"] for k in (1, 2, 3, 4)] == ["5", "5", "5", "5"]
    assert rows["sc@3"]["completion_tokens"] == 30
    # three different answers after three draws: the give-up rule answers with the first
    assert (rows["adaptive-giveup@8"]["n_paths"], rows["adaptive-giveup@8"]["correct"]) == (3, True)
    assert rows["adaptive@8"]["n_paths"] > 3


def test_yes_no_answers_score_against_the_data_sets_capitalized_gold() -> None:
    from evaluation.evaluate import load_questions

    questions, score = load_questions("syllogism", 4, 42)
    for q in questions:
        assert score(q.answer.lower(), q.entry) == 1.0  # extraction gives "yes" for "Yes"
        wrong = "no" if q.answer.lower() == "yes" else "yes"
        assert score(wrong, q.entry) < 1.0


def test_paired_counts_use_the_common_questions(tmp_path: Path) -> None:
    results = {
        "0": {"cot": _rec(False), "sc@8": _rec(True, 8)},
        "1": {"cot": _rec(True), "sc@8": _rec(False, 8)},
        "2": {"cot": _rec(False), "sc@8": _rec(True, 8), "full": _rec(True)},
    }
    path = tmp_path / "eval.json"
    path.write_text(json.dumps({"meta": META, "results": results}))
    ev = Evaluation(path, META)
    assert ev.paired("sc@8", "cot") == (2, 1)
    assert ev.paired("sc@8", "cot", ["cot", "sc@8", "full"]) == (1, 0)  # question 2 only
    assert ev.summary(["cot"])[0]["median_seconds"] == 1.0


def test_an_unknown_data_set_is_a_config_error_naming_some_known_ones() -> None:
    from agent.errors import ConfigError
    from evaluation.datasets import open_dataset

    with pytest.raises(ConfigError, match=r"unknown data set '\.\./\.\./etc/passwd'"):
        open_dataset("../../etc/passwd", size=1, seed=42)
    assert len(open_dataset("gsm_symbolic", size=2, seed=42)) == 2
