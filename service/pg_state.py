"""What a replica would otherwise keep to itself, kept in PostgreSQL: answer records, threads.

With ``REASON_MEMORY__URL`` pointing at PostgreSQL, ``build_service`` (service/compose.py)
opens one small connection pool (``open_state_pool``) and keeps there

- the answer records that feedback needs (``PostgresAnswers``, an ``agent.answers.AnswerLog``):
  table ``answer_records``, one JSONB document per answer written by
  ``AnswerRecord.to_json``, so fields added to the record need no migration; records older than
  the retention are never returned and are deleted now and then;
- the conversation threads, through ``langgraph-checkpoint-postgres``'s ``PostgresSaver``
  (``open_pg_checkpointer``), its own tables and migrations.

So a follow-up or a feedback may reach any replica. Replicas starting together create the
tables once: both set-ups run under one session-level advisory lock (the checkpointer's
migrations build indexes ``CONCURRENTLY``, which cannot run inside a transaction).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from agent.answers import AnswerRecord

logger = logging.getLogger(__name__)

#: Advisory lock (namespace "RSVC", key 1) held while the service's tables are set up; the
#: memory store's locks use another namespace.
LOCK_NAMESPACE = 0x52535643
SETUP_LOCK = 1
SETUP_POLL_S = 0.1
#: Connections per replica for answer records and threads (the memory store has its own pool;
#: the checkpointer runs one statement at a time per process anyway).
POOL_SIZE = 4
CONNECT_TIMEOUT_S = 10
#: Delete expired answer records at most this often per process.
PRUNE_EVERY_S = 600.0

ANSWERS_TABLE = "answer_records"
ANSWERS_DDL = (
    f"""CREATE TABLE IF NOT EXISTS {ANSWERS_TABLE} (
        id text PRIMARY KEY,
        record jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    )""",
    f"CREATE INDEX IF NOT EXISTS {ANSWERS_TABLE}_created_at_idx ON {ANSWERS_TABLE} (created_at)",
)

_RECORD_FIELDS = frozenset(f.name for f in dataclasses.fields(AnswerRecord))

StatePool = ConnectionPool[psycopg.Connection[DictRow]]


def open_state_pool(url: str) -> StatePool:
    """A pool of autocommit connections returning dict rows (what ``PostgresSaver`` needs).

    Raises:
        psycopg_pool.PoolTimeout: The database cannot be reached.
    """
    pool = StatePool(
        url,
        connection_class=psycopg.Connection[DictRow],
        min_size=1,
        max_size=POOL_SIZE,
        open=False,
        # A connection broken by a server restart is replaced at checkout, not failed on.
        check=ConnectionPool.check_connection,
        kwargs={
            "autocommit": True,
            "prepare_threshold": 0,
            "row_factory": dict_row,
            "connect_timeout": CONNECT_TIMEOUT_S,
        },
        timeout=30.0,
    )
    try:
        pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
    except BaseException:
        pool.close()
        raise
    return pool


@contextmanager
def setup_lock(pool: StatePool) -> Iterator[None]:
    """Hold the service's set-up lock (session level) for the block.

    Polled rather than waited for: ``CREATE INDEX CONCURRENTLY`` in the holder's set-up waits
    for every running statement to end, a waiting ``pg_advisory_lock`` included, and that
    one waits for the holder: a cycle through the client that the server cannot see.
    """
    with pool.connection() as conn:
        while True:
            row = conn.execute(
                "SELECT pg_try_advisory_lock(%s, %s) AS got", [LOCK_NAMESPACE, SETUP_LOCK]
            ).fetchone()
            if row is not None and row["got"]:
                break
            time.sleep(SETUP_POLL_S)
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, SETUP_LOCK])


def open_pg_checkpointer(pool: StatePool) -> Any:
    """LangGraph's ``PostgresSaver`` on ``pool``, its tables created or migrated once."""
    from langgraph.checkpoint.postgres import PostgresSaver

    saver = PostgresSaver(pool)
    with setup_lock(pool):
        saver.setup()
    return saver


def _record(data: dict[str, Any]) -> AnswerRecord:
    # Fields this version does not know (written by a newer replica during a rolling update)
    # are left out; fields it knows but the document lacks take their defaults.
    return AnswerRecord.from_json({k: v for k, v in data.items() if k in _RECORD_FIELDS})


class PostgresAnswers:
    """Answer records in PostgreSQL, shared by every replica on the database.

    Implements ``agent.answers.AnswerLog``. A record is kept ``retention_days`` after it was
    given; ``get`` never returns an older one, and expired rows are deleted at most every
    ``PRUNE_EVERY_S`` seconds by whichever replica stores an answer.
    """

    def __init__(self, pool: StatePool, retention_days: float) -> None:
        """Create the table if needed (idempotent, safe for replicas starting together)."""
        self._pool = pool
        self.retention_s = retention_days * 86400.0
        self._last_prune = 0.0
        self._prune_lock = threading.Lock()
        with setup_lock(pool), pool.connection() as conn:
            for statement in ANSWERS_DDL:
                conn.execute(statement)
        self.prune()

    def put(self, record: AnswerRecord) -> None:
        """Keep a record (replacing one with the same id), then prune if it is time."""
        with self._pool.connection() as conn:
            conn.execute(
                f"INSERT INTO {ANSWERS_TABLE} (id, record) VALUES (%s, %s) "
                "ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record, created_at = now()",
                [record.id, Jsonb(record.to_json())],
            )
        if time.monotonic() - self._last_prune >= PRUNE_EVERY_S:
            self.prune()

    def get(self, answer_id: str) -> AnswerRecord | None:
        """The record of an answer id, or None when unknown or older than the retention."""
        with self._pool.connection() as conn:
            row = conn.execute(
                f"SELECT record FROM {ANSWERS_TABLE} WHERE id = %s "
                "AND created_at >= now() - make_interval(secs => %s)",
                [answer_id, self.retention_s],
            ).fetchone()
        return None if row is None else _record(row["record"])

    def set_memory_id(self, answer_id: str, memory_id: int | None) -> None:
        """Note the memory record an answer is now stored as (no-op when unknown)."""
        with self._pool.connection() as conn:
            conn.execute(
                f"UPDATE {ANSWERS_TABLE} SET record = jsonb_set(record, '{{memory_id}}', %s) "
                "WHERE id = %s",
                [Jsonb(memory_id), answer_id],
            )

    def prune(self) -> int:
        """Delete the records older than the retention; return how many went."""
        with self._prune_lock:
            self._last_prune = time.monotonic()
            try:
                with self._pool.connection() as conn:
                    cur = conn.execute(
                        f"DELETE FROM {ANSWERS_TABLE} "
                        "WHERE created_at < now() - make_interval(secs => %s)",
                        [self.retention_s],
                    )
                    deleted = cur.rowcount
            except psycopg.Error as ex:
                # Pruning is housekeeping: an answer already given must not fail over it.
                logger.warning("could not prune expired answer records: %s", ex)
                return 0
        if deleted:
            logger.info("pruned %d answer records older than the retention", deleted)
        return deleted

    def count(self) -> int:
        """Records in the table (expired ones not yet pruned included)."""
        with self._pool.connection() as conn:
            row = conn.execute(f"SELECT count(*) AS n FROM {ANSWERS_TABLE}").fetchone()
        return int(row["n"]) if row else 0
