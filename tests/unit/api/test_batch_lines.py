"""The batch runner on a scripted backend: shapes, bad lines, resume after a partial line."""

from __future__ import annotations

import json
from pathlib import Path

from agent.config import named_config
from agent.reasoner import Reasoner
from api.batch import CHAT_URL, done_keys, run_batch
from service.compose import Ask, Service, resolver
from service.queue import WorkQueue
from service.settings import Settings
from tests.unit.api.conftest import ScriptedBackend

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


def test_an_openai_line_is_resolved_by_the_service_as_the_endpoint_is(
    tmp_path: Path, backend: ScriptedBackend
) -> None:
    # The service's sampling defaults, then the line's own fields (reasoning_paths, seed).
    service = Service(Reasoner(backend, sampling_defaults={"n": 3}), WorkQueue(2, 2), "sc@8")
    body = {"model": "reason-sc", "messages": [{"role": "user", "content": "6 * 7?"}]}
    source = write(
        tmp_path / "in.jsonl",
        {"custom_id": "d", "url": "/v1/chat/completions", "body": body},
        {"custom_id": "o", "url": "/v1/chat/completions", "body": {**body, "reasoning_paths": 2}},
    )
    try:
        run_batch(service, source, tmp_path / "out.jsonl", GREEDY)
    finally:
        service.close()
    out = {r["custom_id"]: r["response"]["body"] for r in records(tmp_path / "out.jsonl")}  # type: ignore[index]
    assert len(out["d"]["x_trace"]["paths"]) == 3  # type: ignore[index]
    assert len(out["o"]["x_trace"]["paths"]) == 2  # type: ignore[index]
    assert out["o"]["model"] == "reason-sc"  # type: ignore[index]


def test_a_line_without_a_user_turn_gets_the_endpoints_400(
    tmp_path: Path, service: Service
) -> None:
    body = {"model": "reason-greedy", "messages": [{"role": "system", "content": "hi"}]}
    source = write(tmp_path / "in.jsonl", {"custom_id": "s", "url": CHAT_URL, "body": body})
    run_batch(service, source, tmp_path / "out.jsonl", GREEDY)
    (line,) = records(tmp_path / "out.jsonl")
    response = line["response"]
    assert response["status_code"] == 400  # type: ignore[index]
    error = response["body"]["error"]  # type: ignore[index]
    assert error["message"] == "the conversation has no user message"


def test_the_ray_drivers_resolution_is_the_services(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, graph="sc@8", n=3, max_tokens=64, _env_file=None)  # type: ignore[call-arg]
    built = Service(
        Reasoner(ScriptedBackend(), sampling_defaults=settings.sampling_defaults()),
        WorkQueue(1, 1),
        settings.graph,
    )
    resolve = resolver(settings)
    try:
        for ask in (
            Ask("q"),
            Ask("q", "greedy"),
            Ask("q", "pot-sc@8", overrides={"n": 2, "seed": 5}),
            Ask("q", GREEDY),
        ):
            assert resolve(ask) == built.resolve(ask)
    finally:
        built.close()
