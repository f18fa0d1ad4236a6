from __future__ import annotations

import json
from types import SimpleNamespace

from agent.extract import canonical_key, same_answer
from benchmarks.normalization_votes import group, recount, votes_in, winner


def _exact_key(answer: str) -> str:
    return answer


def _exact_same(a: str | None, b: str | None) -> bool:
    return a is not None and a == b


# The old normalisation as the benchmark sees it: keys compared as written.
EXACT = SimpleNamespace(canonical_key=_exact_key, same_answer=_exact_same)

RECORD = {
    "meta": {"dataset": "gsm_symbolic", "overrides": {}},
    "results": {
        "3": {
            "pot-sc@8": {
                "truth": "32",
                "paths": [
                    {"answer": "0.6844444444444444", "kind": "program"},
                    {"answer": "31.999999999999996", "kind": "program"},
                    {"answer": "32", "kind": "program"},
                    {"answer": None, "kind": "program"},
                ],
            }
        }
    },
}


def test_group_mirrors_tally_order_and_weights():
    groups = group(["31.999999999999996", "7", "32"], [1.0, 1.0, 2.0], canonical_key, same_answer)
    assert [(g.answer, g.members, g.weight) for g in groups] == [
        ("31.999999999999996", [0, 2], 3.0),
        ("7", [1], 1.0),
    ]
    assert winner(groups) is groups[0]


def test_votes_in_reads_records_with_their_dataset_and_task():
    (vote,) = votes_in(json.loads(json.dumps(RECORD)), "f.json")
    assert (vote.dataset, vote.task, vote.question, vote.config, vote.truth) == (
        "gsm_symbolic",
        "math",
        "3",
        "pot-sc@8",
        "32",
    )
    assert vote.kinds == ("program",) * 4


def test_recount_finds_the_float_noise_winner_change_and_that_it_became_right():
    out = recount(list(votes_in(RECORD, "f.json")), EXACT)
    assert (out["tally_changed"], out["winner_changed"]) == (1, 1)
    assert (out["became_right"], out["became_wrong"], out["tally_mirror_mismatches"]) == (1, 0, 0)
    (change,) = out["changes"]
    assert (change["shown_before"], change["shown_after"]) == ("0.6844444444444444", "32")
