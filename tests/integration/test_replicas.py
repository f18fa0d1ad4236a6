"""Replicas that share memory: real PostgreSQL + pgvector, real ``reason serve`` processes.

- A feedback confirmed through one ``reason serve`` is recalled by another at once.
- Two replicas storing the same question at the same moment leave one row.
- Writers in separate processes and threads racing on near-duplicates of one question never
  create a duplicate row (the store's advisory lock, no process lock).
- ``reason memory export`` / ``import`` move a memory from SQLite to PostgreSQL and back.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import psycopg
import pytest
from click.testing import Result
from typer.testing import CliRunner

from api.cli import app
from benchmarks.reliability.server import Server, ask_question
from memory import Evidence, MemoryConfig, VerifiedPath, decide, open_store
from memory.postgres import PostgresMemoryStore
from retrieval import HashingEmbedder, RetrievalConfig
from tests.support.postgres import PostgresServer, postgres_server  # noqa: F401 (fixture)

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
HASHING = "hashing-64"
BASE = (
    "A farmer has 17 cows and buys 25 more at the market on Saturday morning. "
    "How many cows does the farmer have now"
)
#: Near-duplicates of BASE: the same question with a different ending.
VARIANTS = [f"{BASE}{ending}" for ending in ("?", " in total?", " altogether?", ", in all?")]
THRESHOLD = 0.8


def verified(question: str, answer: str = "42", principle: str | None = None) -> VerifiedPath:
    evidence = Evidence(
        question=question,
        answer=answer,
        path=f"... so the answer is {answer}",
        principle=principle,
        vote_share=1.0,
        agreeing_paths=5,
    )
    result = decide(evidence, MemoryConfig().writeback)
    assert isinstance(result, VerifiedPath)
    return result


def rows_for(url: str, answer_norm: str) -> list[tuple[int, int]]:
    with psycopg.connect(url) as conn:
        found = conn.execute(
            "SELECT id, use_count FROM problems WHERE answer_norm = %s ORDER BY id", [answer_norm]
        ).fetchall()
    return [(int(i), int(n)) for i, n in found]


def test_near_duplicate_variants_are_similar_enough_to_merge() -> None:
    vectors = HashingEmbedder(64).embed(VARIANTS)
    assert float(np.min(vectors @ vectors.T)) >= THRESHOLD + 0.05


def test_threads_of_two_replicas_racing_on_near_duplicates_leave_one_row(
    postgres_server: PostgresServer,  # noqa: F811
) -> None:
    url = postgres_server.new_database()
    memory = MemoryConfig(url=url, near_duplicate_cosine=THRESHOLD)
    retrieval = RetrievalConfig(embedding_model=HASHING, min_score=0.0)
    replicas = [open_store(Path("unused"), memory, retrieval) for _ in range(2)]
    assert all(isinstance(r, PostgresMemoryStore) for r in replicas)
    rounds, per_round = 3, 8
    try:
        for round_ in range(rounds):
            answer = str(100 + round_)
            barrier = threading.Barrier(per_round)

            def write(i: int, answer: str = answer, barrier: threading.Barrier = barrier) -> str:
                path = verified(VARIANTS[i % len(VARIANTS)], answer)
                barrier.wait()
                return replicas[i % 2].add_problem(path).action

            with ThreadPoolExecutor(per_round) as pool:
                actions = sorted(pool.map(write, range(per_round)))
            assert actions == ["added"] + ["merged"] * (per_round - 1)
            assert [n for _, n in rows_for(url, answer)] == [per_round]
    finally:
        for replica in replicas:
            replica.close()


WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from memory import Evidence, MemoryConfig, VerifiedPath, decide, open_store
    from retrieval import RetrievalConfig

    url, start, n, first = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    variants = sys.argv[5:]
    store = open_store(Path("unused"), MemoryConfig(url=url, near_duplicate_cosine={threshold}),
                       RetrievalConfig(embedding_model="{model}"))
    paths = []
    for i in range(n):
        ev = Evidence(question=variants[(first + i) % len(variants)], answer="42",
                      path="17 + 25 = 42", vote_share=1.0, agreeing_paths=5)
        paths.append(decide(ev, MemoryConfig().writeback))
    while time.time() < start:
        time.sleep(0.001)
    for path in paths:
        store.add_problem(path)
    store.close()
    """
)


def test_writer_processes_racing_on_near_duplicates_leave_one_row(
    postgres_server: PostgresServer,  # noqa: F811
) -> None:
    url = postgres_server.new_database()
    # The schema exists before the race, as it does once the first replica has started.
    open_store(Path("unused"), MemoryConfig(url=url), RetrievalConfig(embedding_model=HASHING))
    code = WRITER.format(threshold=THRESHOLD, model=HASHING)
    start, n = time.time() + 8.0, 10
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, url, str(start), str(n), str(p), *VARIANTS],
            cwd=ROOT,
            stderr=subprocess.PIPE,
        )
        for p in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()[-2000:]
    assert [count for _, count in rows_for(url, "42")] == [2 * n]


def reason(env: dict[str, str], *args: str) -> Result:
    """Run the ``reason`` CLI in-process; settings come from ``env`` as in a shell."""
    return CliRunner().invoke(app, list(args), env=env)


def read_lines(path: Path) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for line in lines:
        if line["kind"] == "principle":
            line.pop("created_at")  # an imported principle is created when imported
    return lines


def test_memory_export_and_import_move_a_memory_between_sqlite_and_postgres(
    postgres_server: PostgresServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    sqlite_env = {"REASON_DATA_DIR": str(tmp_path / "sqlite"),
                  "REASON_RETRIEVAL__EMBEDDING_MODEL": HASHING}  # fmt: skip
    pg_env = {**sqlite_env, "REASON_DATA_DIR": str(tmp_path / "pg"),
              "REASON_MEMORY__URL": postgres_server.new_database()}  # fmt: skip
    with open_store(
        tmp_path / "sqlite", MemoryConfig(), RetrievalConfig(embedding_model=HASHING)
    ) as store:
        store.add_principle("Totals add up.", "arithmetic", "test")
        store.add_problem(verified("What is 17 + 25?", "42", principle="Counts add up."))
        rejected = store.add_problem(verified("How many legs do 10 spiders have?", "81"))
        store.confirm(rejected.id, correct=False, true_answer="80")
    exported = tmp_path / "sqlite.jsonl"
    steps = [
        (sqlite_env, ["memory", "export", str(exported)]),
        (pg_env, ["memory", "import", str(exported)]),
        (pg_env, ["memory", "export", str(tmp_path / "pg.jsonl")]),
        ({**sqlite_env, "REASON_DATA_DIR": str(tmp_path / "back")},
         ["memory", "import", str(tmp_path / "pg.jsonl")]),
        ({**sqlite_env, "REASON_DATA_DIR": str(tmp_path / "back")},
         ["memory", "export", str(tmp_path / "back.jsonl")]),
    ]  # fmt: skip
    for env, args in steps:
        done = reason(env, *args)
        assert done.exit_code == 0, done.output
    first, second, third = (
        read_lines(tmp_path / name) for name in ("sqlite.jsonl", "pg.jsonl", "back.jsonl")
    )
    assert first == second == third
    assert [line.get("verified") for line in second if line["kind"] == "problem"] == [True, False]
    stats = reason(pg_env, "memory", "stats", "--json")
    assert json.loads(stats.stdout)["index_kind"] == "pgvector-hnsw"


# ------------------------------------------------------------ two reason serve replicas


@pytest.fixture(scope="module")
def two_replicas(
    postgres_server: PostgresServer,  # noqa: F811
    small_model_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Server, Server, str]]:
    """Two ``reason serve`` processes on the tiny model, one PostgreSQL memory (shared by
    this module's tests, which use questions of their own: starting them takes a while)."""
    url = postgres_server.new_database()
    env = {"REASON_MEMORY__URL": url, "REASON_GRAPH": "greedy", "REASON_MAX_TOKENS": "16"}
    servers = [
        Server(tmp_path_factory.mktemp(f"replica-{name}"), str(small_model_path), env)
        for name in ("a", "b")
    ]
    try:
        # Started together: both migrate the same empty database at once.
        with ThreadPoolExecutor(2) as pool:
            for started in [pool.submit(s.start) for s in servers]:
                started.result()
        for server in servers:
            ready = httpx.get(f"{server.url}/readyz", timeout=30)
            assert ready.status_code == 200, ready.text
        yield servers[0], servers[1], url
    finally:
        for server in servers:
            server.stop()


def answered(client: httpx.Client, server: Server, question: str) -> dict[str, object]:
    reply = ask_question(client, server.url, question, "reason-greedy")
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def feedback(client: httpx.Client, server: Server, answer_id: object) -> dict[str, object]:
    verdict = {"answer_id": answer_id, "correct": True}
    reply = client.post(f"{server.url}/v1/feedback", json=verdict, timeout=120)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


@pytest.mark.timeout(900)
def test_feedback_through_one_replica_is_recalled_by_the_other_at_once(
    two_replicas: tuple[Server, Server, str],
) -> None:
    a, b, _ = two_replicas
    with httpx.Client() as client:
        stored = None
        # The tiny model sometimes gives no extractable answer ("noted"); ask again.
        for n in range(6):
            question = f"Replica check {n}: a farmer has {17 + n} cows and buys 25 more. How many?"
            result = feedback(client, a, answered(client, a, question)["x_answer_id"])
            if result["memory_id"] is not None:
                stored = (question, result["memory_id"])
                break
        assert stored is not None, "no answer of the tiny model could be stored"
        question, memory_id = stored
        hits = client.get(f"{b.url}/v1/memory/search", params={"q": question, "k": 5}).json()
        assert memory_id in [hit["id"] for hit in hits["data"]]
        record = client.get(f"{b.url}/v1/memory/{memory_id}").json()
        assert record["question"] == question and record["verified"] is True


@pytest.mark.timeout(900)
def test_two_replicas_storing_the_same_question_at_once_leave_one_row(
    two_replicas: tuple[Server, Server, str],
) -> None:
    a, b, url = two_replicas
    with httpx.Client() as client:
        for n in range(6):
            question = f"Race {n}: a shop sells {30 + n} pens and then 12 more. How many pens?"
            # Greedy decoding of one model: both replicas give the same answer.
            ids = [answered(client, s, question)["x_answer_id"] for s in (a, b)]
            barrier = threading.Barrier(2)

            def confirm(
                server: Server, answer_id: object, barrier: threading.Barrier = barrier
            ) -> dict[str, object]:
                with httpx.Client() as own:
                    barrier.wait()
                    return feedback(own, server, answer_id)

            with ThreadPoolExecutor(2) as pool:
                results = list(pool.map(confirm, (a, b), ids))
            memory_ids = {r["memory_id"] for r in results}
            if None in memory_ids:
                continue  # no extractable answer this time; try another question
            assert len(results) == 2 and len(memory_ids) == 1, results
            with psycopg.connect(url) as conn:
                rows = conn.execute(
                    "SELECT id, use_count FROM problems WHERE question = %s", [question]
                ).fetchall()
            assert [(int(i), int(c)) for i, c in rows] == [(memory_ids.pop(), 2)]
            return
    pytest.fail("no answer of the tiny model could be stored")
