"""Stateless replicas behind a real load balancer: two ``reason serve`` processes on one
PostgreSQL (memory, conversation threads, answer records), Debian's HAProxy in front running
docker/haproxy.cfg (round robin, the file docker/compose.yaml runs), driven with the official
openai client and httpx.

- A conversation's follow-ups alternate between the replicas and each sees every earlier turn;
  a feedback lands on the replica that did not give the answer, and works.
- One replica SIGKILLed in the middle of answering a turn: the turn is asked again and
  the conversation goes on through the other; nothing is lost (every completed turn is in the
  thread once, every answer given is open to feedback, the killed one's included).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import psycopg
import pytest
from langgraph.checkpoint.postgres import PostgresSaver

from benchmarks.reliability.server import Server
from tests.support.haproxy import haproxy_binary, load_balancer
from tests.support.postgres import PostgresServer, postgres_server  # noqa: F401 (fixture)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.skipif(
        haproxy_binary() is None,
        reason="haproxy not installed (scripts/setup.sh installs Debian's package as root)",
    ),
]

MODEL = "reason-greedy"


@dataclass
class Cluster:
    """The load balancer's URL, the replicas by HAProxy server name, the database URL."""

    url: str
    replicas: dict[str, Server]
    database: str

    def client(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key="none", max_retries=0)


@pytest.fixture(scope="module")
def cluster(
    postgres_server: PostgresServer,  # noqa: F811
    small_model_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Cluster]:
    url = postgres_server.new_database("balanced")
    env = {
        "REASON_MEMORY__URL": url,
        "REASON_GRAPH": "greedy",
        "REASON_MAX_TOKENS": "16",
        # What is tested here is where state lives, not recall: a hashing embedder starts
        # in no time (the sentence-transformers model takes seconds per replica).
        "REASON_RETRIEVAL__EMBEDDING_MODEL": "hashing-64",
    }
    servers = {
        name: Server(tmp_path_factory.mktemp(f"lb-replica-{name}"), str(small_model_path), env)
        for name in ("a", "b")
    }
    try:
        # Started together: both set up the same empty database at once.
        with ThreadPoolExecutor(2) as pool:
            for started in [pool.submit(s.start) for s in servers.values()]:
                started.result()
        log = tmp_path_factory.mktemp("lb") / "haproxy.log"
        a, b = (f"127.0.0.1:{servers[n].port}" for n in ("a", "b"))
        with load_balancer(a, b, log) as lb:
            yield Cluster(lb, servers, url)
    finally:
        for server in servers.values():
            server.stop()


@dataclass(frozen=True)
class Turn:
    served_by: str
    answer_id: str
    history_turns: int
    answer: str | None


def ask(client: openai.OpenAI, thread: str, question: str) -> Turn:
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL,
        messages=[{"role": "user", "content": question}],
        max_tokens=16,
        extra_headers={"X-Thread-Id": thread},
    )
    extra = raw.parse().model_extra or {}
    return Turn(
        raw.headers["x-served-by"],
        extra["x_answer_id"],
        extra["x_trace"]["history_turns"],
        extra["x_trace"].get("answer"),
    )


def feedback(cluster: Cluster, answer_id: str) -> httpx.Response:
    verdict = {"answer_id": answer_id, "correct": True}
    return httpx.post(f"{cluster.url}/v1/feedback", json=verdict, timeout=120)


def thread_history(database: str, thread: str) -> list[dict[str, Any]]:
    """The thread's turns as the checkpointer holds them in PostgreSQL."""
    with PostgresSaver.from_conn_string(database) as saver:
        saved = saver.get_tuple({"configurable": {"thread_id": thread}})
    assert saved is not None
    return list(saved.checkpoint["channel_values"]["history"])


@pytest.mark.timeout(600)
def test_follow_ups_and_feedback_move_between_replicas_and_work(cluster: Cluster) -> None:
    questions = [
        "A farmer has 17 cows and buys 25 more. How many cows now?",
        "And if he sells 2 of them?",
        "And doubles what is left?",
    ]
    turns = [ask(cluster.client(), "lb-conversation", q) for q in questions]
    # Round robin: each follow-up is answered by the other replica, and sees every turn.
    served = [t.served_by for t in turns]
    assert served in (["a", "b", "a"], ["b", "a", "b"]), served
    assert [t.history_turns for t in turns] == [1, 2, 3]
    history = thread_history(cluster.database, "lb-conversation")
    assert [m["content"] for m in history if m["role"] == "user"] == questions
    # The next request goes to the replica that did not give the last answer.
    reply = feedback(cluster, turns[-1].answer_id)
    assert reply.status_code == 200, reply.text
    assert reply.headers["x-served-by"] != turns[-1].served_by
    assert reply.json()["answer_id"] == turns[-1].answer_id
    # An id no replica gave is still unknown, wherever it lands.
    assert feedback(cluster, "ans-never-given").status_code == 404


def start_streaming_turn(cluster: Cluster, thread: str, question: str) -> tuple[str, Any]:
    """Start a long streamed turn; return the replica answering it once its run is going."""
    body = {
        "model": "reason-sc",  # 8 paths of up to 256 tokens: seconds of work on 2 cores
        "messages": [{"role": "user", "content": question}],
        "max_tokens": 256,
        "stream": True,
    }
    client = httpx.Client(timeout=120)
    stream = client.stream(
        "POST", f"{cluster.url}/v1/chat/completions", json=body, headers={"X-Thread-Id": thread}
    )
    response = stream.__enter__()
    assert response.status_code == 200
    lines = response.iter_lines()
    for line in lines:
        # The first graph event: the run is under way in the replica's worker.
        if line.startswith("data:") and '"x_event"' in line:
            return response.headers["x-served-by"], (client, stream, lines)
    raise AssertionError("the stream ended before the run started")


@pytest.mark.timeout(600)
def test_a_replica_killed_mid_conversation_the_thread_goes_on_through_the_other(
    cluster: Cluster,
) -> None:
    thread = "lb-killed"
    questions = [
        "A shop has 30 pens and sells 12. How many pens are left?",
        "And if it buys 5 more?",
        "How many pens would two such shops have?",
        "And three shops?",
    ]
    client = cluster.client()
    given = [ask(client, thread, q) for q in questions[:2]]
    assert {t.served_by for t in given} == {"a", "b"}
    # The third turn starts on one replica, which is killed while it answers.
    doomed, (http, stream, lines) = start_streaming_turn(cluster, thread, questions[2])
    killed_at = time.monotonic()
    cluster.replicas[doomed].kill()
    with pytest.raises(httpx.HTTPError):
        for line in lines:
            assert not line.startswith("data: [DONE]"), "the run finished before the kill"
    stream.__exit__(None, None, None)
    http.close()
    survivor = "b" if doomed == "a" else "a"
    # The client asks that turn again; the load balancer sends it (and the rest) to the other.
    later = [ask(client, thread, q) for q in questions[2:]]
    assert [t.served_by for t in later] == [survivor, survivor]
    assert [t.history_turns for t in later] == [3, 4]
    assert time.monotonic() - killed_at < 120
    # Nothing lost: each completed turn once, in order; the killed run left no half turn.
    history = thread_history(cluster.database, thread)
    assert [m["content"] for m in history if m["role"] == "user"] == questions
    assert len(history) == 2 * len(questions)
    # Every answer given is open to feedback, the one the killed replica gave included.
    ids = [t.answer_id for t in given + later]
    with psycopg.connect(cluster.database) as conn:
        kept = conn.execute("SELECT id FROM answer_records WHERE id = ANY(%s)", [ids]).fetchall()
    assert sorted(r[0] for r in kept) == sorted(ids)
    by_doomed = next(t for t in given if t.served_by == doomed)
    reply = feedback(cluster, by_doomed.answer_id)
    assert reply.status_code == 200, reply.text
    assert reply.headers["x-served-by"] == survivor
    assert json.loads(reply.text)["answer_id"] == by_doomed.answer_id
