"""Slack over HTTP: real signed requests to the running app, outbound calls to a stand-in.

The stand-in is a local HTTP server that plays Slack's Web API (auth.test, chat.postMessage,
chat.update) and response_url endpoints, and records every call; the tests assert on what
the bot posted there. The tiny real model answers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.config import named_config
from agent.reasoner import Reasoner
from api.http.app import create_app
from memory import MemoryConfig, open_store
from retrieval import RetrievalConfig
from service.compose import Service
from service.queue import WorkQueue
from service.settings import Settings
from tests.support.servers import serving

pytestmark = pytest.mark.integration

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


class StandIn:
    """A recording stand-in for slack.com/api and response_url webhooks."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._ts = 0
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                raw = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
                if "json" in (self.headers.get("content-type") or ""):
                    payload = json.loads(raw or "{}")
                else:
                    payload = {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}
                    if isinstance(payload.get("blocks"), str):
                        payload["blocks"] = json.loads(payload["blocks"])
                method = self.path.rstrip("/").rsplit("/", 1)[-1]
                with stand_in._lock:
                    stand_in.calls.append((method, payload))
                    stand_in._ts += 1
                    ts = f"1700000000.{stand_in._ts:06d}"
                body: dict[str, Any] = {"ok": True}
                if method == "auth.test":
                    body.update(
                        user_id="UBOT",
                        bot_id="BBOT",
                        team_id="T1",
                        team="t",
                        user="reason",
                        url="https://t.slack.com/",
                    )
                elif method == "chat.postMessage":
                    body.update(channel=payload.get("channel"), ts=ts)
                elif method == "chat.update":
                    body.update(channel=payload.get("channel"), ts=payload.get("ts"))
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def named(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [p for m, p in self.calls if m == method]

    def wait_for(self, test: Callable[[], Any], timeout: float = 120.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = test()
            if found:
                return found
            time.sleep(0.1)
        raise AssertionError(f"timed out; calls so far: {self.calls}")

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="module")
def stand_in() -> Iterator[StandIn]:
    server = StandIn()
    yield server
    server.close()


@pytest.fixture(scope="module")
def slack_url(
    stand_in: StandIn, llamacpp_backend: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    data = tmp_path_factory.mktemp("slack")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=data,
        slack_signing_secret=SECRET,
        slack_bot_token="xoxb-test",
        slack_api_url=stand_in.url + "/api/",
    )
    store = open_store(Path(data), MemoryConfig(), RetrievalConfig(embedding_model="hashing-64"))
    service = Service(
        Reasoner(llamacpp_backend, memory=store),
        WorkQueue(1, 4),
        named_config("greedy", max_tokens=16),
    )
    with serving(create_app(settings, service)) as url:
        yield f"{url}/slack/events"
    service.queue.shutdown()
    store.close()


def signed(body: str, *, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def event_body(event: dict[str, Any]) -> str:
    return json.dumps(
        {
            "token": "x",
            "team_id": "T1",
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": f"Ev{time.monotonic_ns()}",
            "event_time": int(time.time()),
            "event": event,
        }
    )


def post_event(url: str, event: dict[str, Any]) -> httpx.Response:
    body = event_body(event)
    return httpx.post(
        url, content=body, timeout=10, headers={"content-type": "application/json", **signed(body)}
    )


def answer_update(stand_in: StandIn, ts: str) -> dict[str, Any] | None:
    for update in stand_in.named("chat.update"):
        if update.get("ts") == ts and update.get("blocks"):
            return update
    return None


def test_url_verification_echoes_the_challenge(slack_url: str) -> None:
    body = json.dumps({"token": "x", "challenge": "abc123", "type": "url_verification"})
    r = httpx.post(
        slack_url, content=body, headers={"content-type": "application/json", **signed(body)}
    )
    assert r.status_code == 200 and "abc123" in r.text


def test_mention_gets_thinking_then_answer_with_trace_and_buttons(
    slack_url: str, stand_in: StandIn
) -> None:
    r = post_event(
        slack_url,
        {
            "type": "app_mention",
            "user": "U1",
            "channel": "C1",
            "ts": "1699999999.000100",
            "text": "<@UBOT> What is 2 + 3?",
        },
    )
    assert r.status_code == 200
    thinking = stand_in.wait_for(
        lambda: [
            p
            for p in stand_in.named("chat.postMessage")
            if p.get("thread_ts") == "1699999999.000100"
        ]
    )
    assert thinking[0]["text"].startswith("Thinking")
    posts = stand_in.named("chat.postMessage")
    ts = next(i for i, p in enumerate(posts) if p.get("thread_ts") == "1699999999.000100")
    # The stand-in numbers its answers; find the ts it gave the "Thinking…" post.
    thinking_ts = stand_in.wait_for(
        lambda: [u["ts"] for u in stand_in.named("chat.update") if u.get("blocks")]
    )[0]
    update = answer_update(stand_in, thinking_ts)
    assert update is not None and ts >= 0
    kinds = [b["type"] for b in update["blocks"]]
    assert kinds == ["section", "context", "actions"]
    assert "paths agree" in update["blocks"][1]["elements"][0]["text"]
    actions = [e["action_id"] for e in update["blocks"][2]["elements"]]
    assert actions == ["reason_show", "reason_correct", "reason_wrong"]


def _answer_id(stand_in: StandIn) -> tuple[str, str]:
    update = stand_in.wait_for(
        lambda: [u for u in stand_in.named("chat.update") if u.get("blocks")]
    )[0]
    return update["blocks"][2]["elements"][0]["value"], update["ts"]


def test_buttons_show_reasoning_and_record_feedback(slack_url: str, stand_in: StandIn) -> None:
    answer_id, ts = _answer_id(stand_in)
    for action in ("reason_show", "reason_correct"):
        payload = {
            "type": "block_actions",
            "user": {"id": "U1"},
            "team": {"id": "T1"},
            "api_app_id": "A1",
            "trigger_id": "1.2",
            "channel": {"id": "C1"},
            "container": {"type": "message", "message_ts": ts, "channel_id": "C1"},
            "message": {"ts": ts, "thread_ts": "1699999999.000100", "text": "x"},
            "response_url": stand_in.url + "/actions/1",
            "actions": [
                {
                    "action_id": action,
                    "block_id": "reason_feedback",
                    "value": answer_id,
                    "type": "button",
                    "action_ts": "1.3",
                }
            ],
        }
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        r = httpx.post(
            slack_url,
            content=body,
            headers={"content-type": "application/x-www-form-urlencoded", **signed(body)},
        )
        assert r.status_code == 200
    stand_in.wait_for(
        lambda: [
            p
            for p in stand_in.named("chat.postMessage")
            if p.get("text", "").startswith("Reasoning behind")
        ]
    )
    stand_in.wait_for(
        lambda: [
            p
            for p in stand_in.named("chat.postMessage")
            if "recorded as correct" in p.get("text", "")
        ]
    )


def test_reaction_on_an_answer_is_feedback(slack_url: str, stand_in: StandIn) -> None:
    _, ts = _answer_id(stand_in)
    r = post_event(
        slack_url,
        {
            "type": "reaction_added",
            "user": "U1",
            "reaction": "x",
            "item": {"type": "message", "channel": "C1", "ts": ts},
            "event_ts": "1.4",
        },
    )
    assert r.status_code == 200
    stand_in.wait_for(
        lambda: [
            p
            for p in stand_in.named("chat.postMessage")
            if "recorded as wrong" in p.get("text", "")
        ]
    )


def test_the_right_answer_in_a_thread_is_a_correction(slack_url: str, stand_in: StandIn) -> None:
    _answer_id(stand_in)  # the mention's question in thread 1699999999.000100 is answered
    r = post_event(
        slack_url,
        {
            "type": "app_mention",
            "user": "U1",
            "channel": "C1",
            "ts": "1699999999.000900",
            "thread_ts": "1699999999.000100",
            "text": "<@UBOT> No, the right answer is 987654321.",
        },
    )
    assert r.status_code == 200
    said = stand_in.wait_for(
        lambda: [
            p
            for p in stand_in.named("chat.postMessage")
            if "recorded as a correction (987654321)" in p.get("text", "")
        ]
    )
    # The tiny model's programs do not print 987654321, and reviewers are not trusted here.
    assert "none of 4 programs printed 987654321" in said[0]["text"]
    assert said[0]["thread_ts"] == "1699999999.000100"


def test_direct_message_is_answered_in_its_thread(slack_url: str, stand_in: StandIn) -> None:
    r = post_event(
        slack_url,
        {
            "type": "message",
            "channel_type": "im",
            "user": "U2",
            "channel": "D1",
            "ts": "1699999999.000200",
            "text": "2 + 2?",
        },
    )
    assert r.status_code == 200
    stand_in.wait_for(
        lambda: [
            u for u in stand_in.named("chat.update") if u.get("channel") == "D1" and u.get("blocks")
        ]
    )


def test_slash_command_is_acked_at_once_and_answered_later(
    slack_url: str, stand_in: StandIn
) -> None:
    body = urllib.parse.urlencode(
        {
            "token": "x",
            "team_id": "T1",
            "channel_id": "C1",
            "user_id": "U1",
            "command": "/reason",
            "text": "What is 3 + 4?",
            "trigger_id": "1.5",
            "response_url": stand_in.url + "/commands/1",
            "api_app_id": "A1",
        }
    )
    t0 = time.monotonic()
    r = httpx.post(
        slack_url,
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded", **signed(body)},
    )
    assert r.status_code == 200 and time.monotonic() - t0 < 3
    assert "Thinking about" in r.text
    answer = stand_in.wait_for(lambda: stand_in.named("1"))[0]
    assert answer["response_type"] == "in_channel" and answer["blocks"][0]["type"] == "section"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda b: signed(b, secret="wrong-secret"), id="forged"),
        pytest.param(lambda b: signed(b, timestamp=int(time.time()) - 6 * 60), id="replayed"),
        pytest.param(lambda b: {}, id="unsigned"),
    ],
)
def test_bad_signatures_are_rejected_and_nothing_is_posted(
    slack_url: str, stand_in: StandIn, headers: Callable[[str], dict[str, str]]
) -> None:
    before = len(stand_in.calls)
    body = event_body(
        {
            "type": "app_mention",
            "user": "U1",
            "channel": "C9",
            "ts": "1699999999.000900",
            "text": "<@UBOT> 1 + 1?",
        }
    )
    r = httpx.post(
        slack_url, content=body, headers={"content-type": "application/json", **headers(body)}
    )
    assert r.status_code == 401
    time.sleep(0.5)
    assert [m for m, p in stand_in.calls[before:] if p.get("channel") == "C9"] == []


def test_a_replayed_signed_request_is_refused_and_answered_once(
    slack_url: str, stand_in: StandIn
) -> None:
    # An attacker who captured one signed request resends it, byte for byte, inside Slack's
    # five-minute timestamp window: the signature still verifies, so Bolt alone would answer
    # it again. The first is answered; the copy is refused.
    body = event_body(
        {
            "type": "app_mention",
            "user": "U1",
            "channel": "C77",
            "ts": "1699999999.007700",
            "text": "<@UBOT> 2 + 2?",
        }
    )
    headers = {"content-type": "application/json", **signed(body)}
    first = httpx.post(slack_url, content=body, headers=headers, timeout=10)
    again = httpx.post(slack_url, content=body, headers=headers, timeout=10)
    assert first.status_code == 200
    assert again.status_code == 401 and "replayed" in again.text
    stand_in.wait_for(lambda: any(p.get("channel") == "C77" for _, p in stand_in.calls))
    time.sleep(1.0)
    thinking = [
        p for m, p in stand_in.calls if m == "chat.postMessage" and p.get("channel") == "C77"
    ]
    assert len(thinking) == 1, thinking


def test_slack_unreachable_at_start_keeps_the_rest_api_up_and_retries(
    llamacpp_backend: Any, tmp_path: Path
) -> None:
    """Slack's API down at start-up: the app starts, REST answers, /readyz says why Slack is
    not ready, and once Slack is back the background check connects."""
    down = StandIn()
    address = down.url
    down.close()
    down.server.server_close()  # the port now refuses connections
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=tmp_path,
        slack_signing_secret=SECRET,
        slack_bot_token="xoxb-test",
        slack_api_url=address + "/api/",
    )
    service = Service(
        Reasoner(llamacpp_backend), WorkQueue(1, 4), named_config("greedy", max_tokens=16)
    )
    app = create_app(settings, service)  # Bolt used to raise here (its token check)
    with serving(app) as url:
        ready = down.wait_for(
            lambda: (
                (r := httpx.get(f"{url}/readyz").json())["checks"]["slack"].endswith(
                    "Connection refused>"
                )
                and r
            ),
            timeout=10,
        )
        assert ready["status"] == "ready"  # the REST API is ready whatever Slack does
        assert ready["checks"]["slack"].startswith("not ready: URLError")
        ask = {
            "model": "greedy",
            "max_tokens": 16,
            "messages": [{"role": "user", "content": "2+2?"}],
        }
        assert httpx.post(f"{url}/v1/chat/completions", json=ask, timeout=120).status_code == 200
        # Slack comes back: point the bot at a live stand-in and let the next retry connect.
        live = StandIn()
        try:
            app.state.slack.client.base_url = live.url + "/api/"
            app.state.slack.first_delay = 0.1
            assert live.wait_for(lambda: app.state.slack.check(), timeout=10)
            assert httpx.get(f"{url}/readyz").json()["checks"]["slack"].startswith("connected")
        finally:
            live.close()
    service.queue.shutdown()
