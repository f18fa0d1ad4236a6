"""What only the PostgreSQL store has: migrations, its HNSW index, read-only servers,
re-embedding, and errors when the server is unreachable (the shared contract runs in
test_memory_store_ops.py and test_memory_transfer.py against both stores)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from memory import (
    EmbeddingMismatch,
    MemoryConfig,
    MemoryNotWritable,
    MemoryStoreError,
    VerifiedPath,
    open_store,
)
from memory.postgres import PostgresMemoryStore, redact
from memory.postgres import rows as pg_rows
from memory.postgres.migrations import PG_MIGRATIONS, applied, vector_index_name
from memory.ranking import Search
from memory.rows import PROBLEM_COLUMNS
from retrieval import HashingEmbedder, RetrievalConfig
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.postgres

MakePath = Callable[..., VerifiedPath]
RETRIEVAL = RetrievalConfig(embedding_model="hashing-64", min_score=0.0)


def open_pg(url: str, embedder: HashingEmbedder | None = None, **kw: bool) -> PostgresMemoryStore:
    store = open_store(
        Path("unused"),
        MemoryConfig(url=url),
        RETRIEVAL,
        embedder=embedder or HashingEmbedder(64),
        **kw,
    )
    assert isinstance(store, PostgresMemoryStore)
    return store


def index_names(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%hnsw%'")
        return {str(r[0]) for r in rows}


@pytest.fixture
def one_problem_url(postgres_server: PostgresServer, make_path: MakePath) -> str:
    """The URL of a new database that holds one stored problem (6 times 7 is 42)."""
    url = postgres_server.new_database()
    with open_pg(url) as store:
        store.add_problem(make_path("What is 6 times 7?", "42"))
    return url


def test_a_new_database_is_migrated_once_and_gets_hnsw_indexes(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.new_database()
    open_pg(url).close()
    open_pg(url).close()  # a second open finds nothing pending
    with psycopg.connect(url) as conn:
        assert applied(conn) == [fn.__name__ for fn in PG_MIGRATIONS]
    assert index_names(url) == {vector_index_name(t, 64) for t in ("problems", "principles")}


def test_search_of_a_large_table_is_answered_by_the_hnsw_index(one_problem_url: str) -> None:
    url = one_problem_url
    with psycopg.connect(url) as conn:
        conn.execute("SET enable_seqscan = off")  # what the planner picks once rows are many
        plan = conn.execute(
            "EXPLAIN SELECT id FROM problems ORDER BY "
            "(embedding::vector(64)) <=> (SELECT embedding FROM problems LIMIT 1)::vector(64) "
            "LIMIT 5"
        ).fetchall()
    assert "problems_embedding_hnsw_64" in " ".join(str(r[0]) for r in plan)


def test_a_read_only_database_serves_searches_and_refuses_writes(
    postgres_server: PostgresServer, make_path: MakePath, one_problem_url: str
) -> None:
    url = one_problem_url
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    with open_pg(url) as store:
        assert store.read_only and store.writable() == "read-only"
        assert [h.record.answer for h in store.search_problems("What is 6 times 7?")] == ["42"]
        with pytest.raises(MemoryNotWritable, match="read-only"):
            store.add_problem(make_path("What is 5 times 5?", "25"))


def test_another_embedder_is_refused_until_the_memory_is_reembedded(one_problem_url: str) -> None:
    url = one_problem_url
    with pytest.raises(EmbeddingMismatch, match="rebuild-index"):
        open_pg(url, HashingEmbedder(32))
    with open_pg(url, HashingEmbedder(32), reembed=True) as store:
        assert store.stats().dim == 32
        assert store.search_problems("What is 6 times 7?")[0].record.answer == "42"
    assert index_names(url) == {vector_index_name(t, 32) for t in ("problems", "principles")}


def test_an_unreachable_server_is_a_memory_store_error_without_the_password() -> None:
    from benchmarks.net import free_port

    url = f"postgresql://reason:secret@127.0.0.1:{free_port()}/memory"
    with pytest.raises(MemoryStoreError, match="cannot reach") as caught:
        open_pg(url)
    assert "secret" not in str(caught.value)
    assert redact(url) == url.replace("secret", "***")


def test_a_filtered_search_answered_by_the_hnsw_index_still_fills_k(
    postgres_server: PostgresServer, make_path: MakePath
) -> None:
    # 1 row in 30 passes the filter: an HNSW scan of ef_search candidates alone would find
    # about 2 of them; pgvector's iterative scan (set per pooled connection) keeps going.
    url = postgres_server.new_database()
    with open_pg(url) as store:
        for i in range(300):
            source = "rare" if i % 30 == 0 else "common"
            store.add_problem(make_path(f"Question {i}: what is {i} plus {i}?", str(2 * i),
                                        source=source))  # fmt: skip
        query = store.embedder.embed(["what is 7 plus 7?"])[0]
        with store._pool.connection() as conn:
            conn.execute("SET LOCAL enable_seqscan = off")  # as on a table of many rows
            plan = conn.execute(
                "EXPLAIN SELECT id FROM problems WHERE source = 'rare' "
                f"ORDER BY {pg_rows.distance(64)} LIMIT 20",
                [query],
            ).fetchall()
            search = Search("problems", PROBLEM_COLUMNS, query, 5, ["source = ?"], ["rare"], -1.0)
            rows = pg_rows.candidates(conn, search, 64, RETRIEVAL.hnsw_ef_search)
    assert "problems_embedding_hnsw_64" in " ".join(str(r[0]) for r in plan)
    assert len(rows) == 5 and {row["source"] for row, _ in rows} == {"rare"}
