"""The batch runner on a scripted backend: shapes, bad lines, resume after a partial line."""

from __future__ import annotations

import json
from pathlib import Path

from agent.config import named_config
from api.batch import done_keys, run_batch
from service.compose import Service

GREEDY = named_config("greedy", max_tokens=16)


def write(path: Path, *lines: object) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_simple_and_bad_lines_each_get_one_record(tmp_path: Path, service: Service) -> None:
    source = write(
        tmp_path / "in.jsonl",
        {"id": "a", "question": "6 * 7?", "answer": "42"},
        "{not json",
        {"id": "b"},
        {"id": "a", "question": "again?"},
        {"id": "c", "question": "6 * 7?", "answer": "41"},
    )
    report = run_batch(service, source, tmp_path / "out.jsonl", GREEDY)
    out = {r["id"]: r for r in records(tmp_path / "out.jsonl")}
    assert set(out) == {"a", "c", "line-2", "b", "line-4"}
    assert out["a"]["correct"] is True and out["c"]["correct"] is False
    assert out["line-2"]["error"]["code"] == "invalid_json"  # type: ignore[index]
    assert out["line-4"]["error"]["code"] == "duplicate_id"  # type: ignore[index]
    assert (report.labelled, report.correct, report.errors) == (2, 1, 3)


def test_openai_batch_lines_get_openai_batch_output(tmp_path: Path, service: Service) -> None:
    body = {"model": "reason-greedy", "messages": [{"role": "user", "content": "6 * 7?"}]}
    source = write(
        tmp_path / "in.jsonl",
        {"custom_id": "r1", "method": "POST", "url": "/v1/chat/completions", "body": body},
        {
            "custom_id": "r2",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {**body, "model": "nope"},
        },
        {"custom_id": "r3", "method": "POST", "url": "/v1/embeddings", "body": {}},
    )
    run_batch(service, source, tmp_path / "out.jsonl", GREEDY)
    out = {r["custom_id"]: r for r in records(tmp_path / "out.jsonl")}
    ok = out["r1"]["response"]
    assert ok["status_code"] == 200  # type: ignore[index]
    assert ok["body"]["choices"][0]["message"]["content"] == "42"  # type: ignore[index]
    assert out["r2"]["response"]["status_code"] == 404  # type: ignore[index]
    assert out["r3"]["response"]["status_code"] == 400  # type: ignore[index]


def test_rerun_cuts_a_partial_line_and_skips_done_ids(tmp_path: Path, service: Service) -> None:
    source = write(tmp_path / "in.jsonl", *[{"id": f"q{i}", "question": f"{i}?"} for i in range(4)])
    output = tmp_path / "out.jsonl"
    output.write_text(json.dumps({"id": "q0", "answer": "1"}) + "\n" + '{"id": "q1", "ans')
    assert done_keys(output) == {"q0"}
    report = run_batch(service, source, output, GREEDY)
    assert report.skipped == 1 and report.answered == 3
    assert sorted(r["id"] for r in records(output)) == ["q0", "q1", "q2", "q3"]
