"""OpenTelemetry: one answer's span tree, exported over OTLP/HTTP to a real receiver.

The receiver is a small HTTP server in this process that accepts ``POST /v1/traces``
(protobuf) and decodes it with ``opentelemetry-proto``. ``reason serve`` runs as a real
subprocess with ``OTEL_EXPORTER_OTLP_ENDPOINT`` pointing at it and is asked one question
with a ``traceparent``. The span tree is asserted for the ``full`` configuration (recall,
programs first, vote, verify, write-back) held to its first round (``reasoning_paths=3``:
3 programs and a greedy prose path of 24 tokens; the whole budget of 8 took minutes on a
loaded 2-core machine) on the tiny model in-process. The openai backend's propagation is
checked with ``greedy`` (one model call): its model server is this service's own
OpenAI-compatible API on the tiny model (uvicorn in this process), which records the
``traceparent`` each call carries, as vLLM would read it.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from api.http.app import create_app
from service.compose import build_service
from service.settings import Settings
from tests.support.servers import free_port, serving

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


class Receiver(http.server.ThreadingHTTPServer):
    """An OTLP/HTTP trace receiver: every span of every export, decoded."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        self.spans: list[Any] = []
        self.scopes: dict[bytes, str] = {}  # span id -> the instrumentation scope's name
        self.lock = threading.Lock()


class ReceiverHandler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        ok = self.path == "/v1/traces"
        if ok:
            request = ExportTraceServiceRequest.FromString(body)
            with self.server.lock:
                for resource in request.resource_spans:
                    for scope in resource.scope_spans:
                        self.server.spans.extend(scope.spans)
                        for span in scope.spans:
                            self.server.scopes[span.span_id] = scope.scope.name
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def model_server(
    llamacpp_backend: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, list[str]]]:
    """This service's API on the tiny model, as the traced service's model server; yields
    its /v1 URL and the traceparent headers it was sent."""
    settings = Settings(_env_file=None, data_dir=tmp_path_factory.mktemp("model"))  # type: ignore[call-arg]
    service = build_service(settings, memory=False, threads=False, backend=llamacpp_backend)
    app = create_app(settings, service)
    seen: list[str] = []

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/v1/chat/completions":
            headers = dict(scope["headers"])
            seen.append(headers.get(b"traceparent", b"").decode())
        await app(scope, receive, send)

    with serving(recording) as url:
        yield f"{url}/v1", seen
    service.close()


def _wait(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1][-3000:]
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise AssertionError("reason serve did not start")


def _serve_and_ask(
    receiver: Receiver, env: dict[str, str], model: str, **extra: Any
) -> dict[str, list[Any]]:
    """Run ``reason serve`` exporting to ``receiver``, ask one question with a traceparent,
    and return the spans of that trace by name (the health checks' traces left out)."""
    port = free_port()
    full_env = {
        **os.environ,
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.server_address[1]}",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "OTEL_SERVICE_NAME": "reason-test",
        "REASON_RETRIEVAL__EMBEDDING_MODEL": "hashing-64",
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "api", "serve", "--port", str(port)],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait(url, process)
        reply = httpx.post(
            f"{url}/v1/chat/completions",
            json={
                "model": model,
                "messages": [{"role": "user", "content": "What is 17 * 23?"}],
                "max_tokens": 24,
                **extra,
            },
            headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"},
            timeout=240,
        )
        assert reply.status_code == 200, reply.text
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with receiver.lock:
                if _trace_done(receiver.spans):
                    break
            time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(30)
    with receiver.lock:
        spans = list(receiver.spans)
    others = {s.name for s in spans if s.trace_id.hex() != TRACE_ID}
    assert others <= {"GET /healthz", "fastapi.dependencies", "fastapi.endpoint",
                      "fastapi.serialization"}, others  # fmt: skip
    by_name: dict[str, list[Any]] = {}
    for s in spans:
        if s.trace_id.hex() == TRACE_ID:
            by_name.setdefault(s.name, []).append(s)
    return by_name


def _trace_done(spans: list[Any]) -> bool:
    """The run's span is in, and so is the write-back it left pending, if it did."""
    solves = [s for s in spans if s.name == "reason.solve"]
    if not solves:
        return False
    if not _pending(solves[0]):
        return True
    return any(s.name == "reason.write_back.after_answer" for s in spans)


def _pending(solve: Any) -> bool:
    """Whether the run's write-back went on after its answer (``reason.memory.pending``)."""
    value = _attributes(solve).get("reason.memory.pending")
    return value is not None and value.bool_value


def _attributes(span: Any) -> dict[str, Any]:
    return {a.key: a.value for a in span.attributes}


def _ours(receiver: Receiver, spans: list[Any]) -> Any:
    """The one span of a name that this service made (FastAPI adds its own of some names)."""
    mine = [s for s in spans if receiver.scopes[s.span_id] == "reason.api"]
    assert len(mine) == 1, [receiver.scopes[s.span_id] for s in spans]
    return mine[0]


@pytest.mark.timeout(300)
def test_one_full_answer_exports_its_span_tree_over_otlp(
    receiver: Receiver, small_model_path: Path, tmp_path: Path
) -> None:
    by_name = _serve_and_ask(
        receiver,
        {
            "REASON_MODEL": str(small_model_path),
            "REASON_DATA_DIR": str(tmp_path),
            "REASON_N_CTX": "2048",
        },  # fmt: skip
        "reason-full",
        reasoning_paths=3,  # full's first round only: 3 programs in one batch
    )
    names = sorted(by_name)
    request = _ours(receiver, by_name["POST /v1/chat/completions"])
    assert request.parent_span_id.hex() == PARENT_ID  # the caller's traceparent, continued
    (solve,) = by_name["reason.solve"]
    by_id = {s.span_id: s for spans in by_name.values() for s in spans}
    ancestors, up = [], solve.parent_span_id
    while up in by_id:  # FastAPI's own request spans may stand between the two
        ancestors.append(up)
        up = by_id[up].parent_span_id
    assert request.span_id in ancestors

    attributes = _attributes(solve)
    assert attributes["reason.configuration"].string_value == "full"
    assert attributes["reason.paths"].int_value >= 3
    assert attributes["reason.tokens.completion"].int_value > 0
    assert {"reason.vote.share", "reason.verified", "reason.early_stop"} <= set(attributes)
    assert "reason.memory.stored" in attributes

    # One span per graph step of full, each a child of the run's span.
    nodes = {n.removeprefix("node "): by_name[n] for n in names if n.startswith("node ")}
    assert set(nodes) >= {"retrieve", "build_prompt", "sample", "aggregate", "verify",
                          "write_back", "respond"}, names  # fmt: skip
    for spans_of_node in nodes.values():
        assert all(s.parent_span_id == solve.span_id for s in spans_of_node)
    (sample,) = nodes["sample"]
    assert {"reason.paths", "reason.paths.tokens", "reason.early_stop"} <= set(_attributes(sample))
    (verify,) = nodes["verify"]
    assert "reason.verified" in _attributes(verify)
    (write_back,) = nodes["write_back"]
    assert "reason.memory.stored" in _attributes(write_back)

    # The programs ran in the sandbox, each a child span of the sampling step, or of the
    # write-back that went on after the answer: that continues this trace, under the run.
    runs = by_name["sandbox.run"]
    later = by_name.get("reason.write_back.after_answer", [])
    if _pending(solve):
        assert len(later) == 1, names
    assert all(s.parent_span_id == solve.span_id for s in later)
    sampled = [r for r in runs if r.parent_span_id == sample.span_id]
    assert len(sampled) >= 3
    assert all(r.parent_span_id in {s.span_id for s in later} for r in runs if r not in sampled)
    assert all("reason.program.status" in _attributes(r) for r in runs)


@pytest.mark.timeout(300)
def test_the_openai_backend_passes_the_trace_to_the_model_server(
    receiver: Receiver, model_server: tuple[str, list[str]], tmp_path: Path
) -> None:
    model_url, traceparents = model_server
    by_name = _serve_and_ask(
        receiver,
        {
            "REASON_BACKEND": "openai",
            "REASON_BACKEND_URL": model_url,
            "REASON_MODEL": "reason-greedy",
            "REASON_DATA_DIR": str(tmp_path),
        },  # fmt: skip
        "reason-greedy",
    )
    (sample,) = by_name["node sample"]
    # The model server saw the trace, with the sampling step as the calling span: a vLLM
    # server's own spans join the request's trace there.
    assert traceparents == [f"00-{TRACE_ID}-{sample.span_id.hex()}-01"]
