"""Answer records and conversation threads in PostgreSQL (service/pg_state.py), on a real
server: what lets any replica take a follow-up or a feedback. With SQLite nothing changes."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb

from agent.answers import AnswerRecord, RecentAnswers
from service import build_service
from service.compose import Service
from service.pg_state import (
    ANSWERS_TABLE,
    PostgresAnswers,
    StatePool,
    open_pg_checkpointer,
    open_state_pool,
)
from service.settings import load_settings
from tests.support.postgres import PostgresServer, postgres_server  # noqa: F401 (fixture)
from tests.support.queue_backend import QueueBackend

HASHING = "hashing-64"


@pytest.fixture
def pool(postgres_server: PostgresServer) -> Iterator[StatePool]:  # noqa: F811
    state = open_state_pool(postgres_server.new_database("state"))
    yield state
    state.close()


def record(answer_id: str = "ans-1", **kw: object) -> AnswerRecord:
    fields: dict[str, object] = {"question": "What is 17 + 25?", "answer": "42", **kw}
    return AnswerRecord(answer_id, **fields)  # type: ignore[arg-type]


@pytest.mark.postgres
def test_answer_records_are_kept_whole_and_their_memory_id_updates(pool: StatePool) -> None:
    answers = PostgresAnswers(pool, retention_days=7)
    given = record(path="17 + 25 = 42", evidence={"vote_share": 1.0}, recalled=(3, 5))
    answers.put(given)
    assert answers.get("ans-1") == given
    answers.set_memory_id("ans-1", 12)
    assert answers.get("ans-1") == record(
        path="17 + 25 = 42", evidence={"vote_share": 1.0}, recalled=(3, 5), memory_id=12
    )
    answers.set_memory_id("ans-1", None)
    assert answers.get("ans-1") == given
    assert answers.get("ans-unknown") is None
    answers.set_memory_id("ans-unknown", 3)  # no-op, as in process
    assert answers.count() == 1


@pytest.mark.postgres
def test_records_older_than_the_retention_are_never_returned_and_are_pruned(
    pool: StatePool,
) -> None:
    answers = PostgresAnswers(pool, retention_days=1)
    answers.put(record("ans-old"))
    answers.put(record("ans-new"))
    with pool.connection() as conn:
        conn.execute(
            f"UPDATE {ANSWERS_TABLE} SET created_at = now() - interval '25 hours' WHERE id = %s",
            ["ans-old"],
        )
    assert answers.get("ans-old") is None
    assert answers.get("ans-new") is not None
    assert answers.prune() == 1
    assert answers.count() == 1


@pytest.mark.postgres
def test_a_record_with_fields_this_version_does_not_know_still_reads(pool: StatePool) -> None:
    answers = PostgresAnswers(pool, retention_days=7)
    newer = {**record("ans-2").to_json(), "demoted": [4], "correction": "43"}
    del newer["domain"]  # and one it knows but the document lacks: its default
    with pool.connection() as conn:
        conn.execute(
            f"INSERT INTO {ANSWERS_TABLE} (id, record) VALUES (%s, %s)", ["ans-2", Jsonb(newer)]
        )
    assert answers.get("ans-2") == record("ans-2")


@pytest.mark.postgres
def test_replicas_starting_together_create_the_tables_once(
    postgres_server: PostgresServer,  # noqa: F811
) -> None:
    url = postgres_server.new_database("state")

    def start(_: int) -> int:
        state = open_state_pool(url)
        try:
            PostgresAnswers(state, retention_days=7)
            open_pg_checkpointer(state)
        finally:
            state.close()
        return 1

    with ThreadPoolExecutor(4) as workers:
        assert sum(workers.map(start, range(4))) == 4
    with psycopg.connect(url) as conn:
        tables = {
            str(r[0])
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        }
    assert {ANSWERS_TABLE, "checkpoints", "checkpoint_writes", "checkpoint_migrations"} <= tables


def replica(data_dir: Path, url: str | None, texts: list[str]) -> Service:
    memory = {"url": url} if url else {}
    settings = load_settings(
        data_dir=data_dir,
        graph="greedy",
        memory=memory,
        retrieval={"embedding_model": HASHING, "min_score": 0.0},
    )
    return build_service(settings, backend=QueueBackend(texts))


@pytest.mark.postgres
def test_two_services_on_one_database_share_conversations_and_answer_records(
    postgres_server: PostgresServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    url = postgres_server.new_database("replicas")
    a = replica(tmp_path / "a", url, ["The answer is 42."] * 4)
    b = replica(tmp_path / "b", url, ["The answer is 43."] * 4)
    try:
        first = a.reasoner.solve("What is 17 + 25?", thread_id="t-1")
        second = b.reasoner.solve("And plus one?", thread_id="t-1")
        third = a.reasoner.solve("And again?", thread_id="t-1")
        turns = [x.trace["history_turns"] for x in (first, second, third)]
        assert turns == [1, 2, 3]
        # The answer given by one service is known to the other (feedback by id).
        assert b.reasoner.answers.get(first.id) == a.reasoner.answers.get(first.id)
        assert b.reasoner.feedback(first.id, correct=True).answer_id == first.id
        assert not (tmp_path / "a" / "threads.db").exists()
    finally:
        a.close()
        b.close()


def test_without_postgres_threads_stay_in_threads_db_and_answers_in_process(
    tmp_path: Path,
) -> None:
    service = replica(tmp_path, None, ["The answer is 42."])
    try:
        assert isinstance(service.reasoner.answers, RecentAnswers)
        assert type(service.reasoner.checkpointer).__name__ == "SqliteSaver"
        assert (tmp_path / "threads.db").exists()
    finally:
        service.close()
