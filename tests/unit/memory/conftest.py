"""Fixtures for memory tests: a hashing embedder, small configs and a store in tmp_path."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from memory import MemoryConfig, MemoryStore, VerifiedPath, open_store
from retrieval import HashingEmbedder, RetrievalConfig
from tests.support.memory_records import verified as support_verified
from tests.support.postgres import PostgresServer, postgres_server  # noqa: F401 (fixture)

DIM = 64


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder(DIM)


@pytest.fixture
def memory_config() -> MemoryConfig:
    return MemoryConfig(index_save_every=1000)


@pytest.fixture
def retrieval_config() -> RetrievalConfig:
    return RetrievalConfig(embedding_model=f"hashing-{DIM}", min_score=0.0, default_k=3)


# The store contract: these modules run against both stores (SQLite + FAISS, and
# PostgreSQL + pgvector on a real server); the others test SQLite internals.
BOTH_STORES = {"test_memory_store_ops", "test_memory_transfer"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store_kind" in metafunc.fixturenames and metafunc.module.__name__.split(".")[-1] in (
        BOTH_STORES
    ):
        metafunc.parametrize(
            "store_kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
        )


@pytest.fixture
def store_kind() -> str:
    """Which store ``open_tmp_store`` opens (parametrized for the BOTH_STORES modules)."""
    return "sqlite"


@pytest.fixture
def memory_url(store_kind: str, request: pytest.FixtureRequest) -> str | None:
    """A fresh PostgreSQL database for a postgres-parametrized test, else None."""
    if store_kind != "postgres":
        return None
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.new_database()


@pytest.fixture
def open_tmp_store(
    tmp_path: Path,
    embedder: HashingEmbedder,
    memory_config: MemoryConfig,
    retrieval_config: RetrievalConfig,
    memory_url: str | None,
) -> Callable[..., MemoryStore]:
    """Open (or reopen) the store in tmp_path/data, or in this test's PostgreSQL database."""

    def _open(**kwargs: object) -> MemoryStore:
        memory = kwargs.pop("memory", memory_config)
        if memory_url is not None:
            memory = memory.model_copy(update={"url": memory_url})  # type: ignore[attr-defined]
        return open_store(  # type: ignore[return-value]
            tmp_path / "data",
            memory,  # type: ignore[arg-type]
            kwargs.pop("retrieval", retrieval_config),  # type: ignore[arg-type]
            embedder=kwargs.pop("embedder", embedder),  # type: ignore[arg-type]
            **kwargs,  # type: ignore[arg-type]
        )

    return _open


@pytest.fixture
def open_with_retrieval(
    open_tmp_store: Callable[..., MemoryStore], retrieval_config: RetrievalConfig
) -> Callable[..., MemoryStore]:
    """Open the store with some retrieval settings changed: ``open(index_kind="hnsw")``."""

    def _open(**changes: object) -> MemoryStore:
        return open_tmp_store(retrieval=retrieval_config.model_copy(update=changes))

    return _open


@pytest.fixture
def store(open_tmp_store: Callable[..., MemoryStore]) -> Iterator[MemoryStore]:
    s = open_tmp_store()
    yield s
    s.close()


def verified(question: str, answer: str, **evidence: Any) -> VerifiedPath:
    """A VerifiedPath made through the real write-back policy (5 of 5 paths agree)."""
    defaults = {"path": "step 1. step 2.", "domain": "arithmetic", "source": "test"}
    return support_verified(question, answer, total_paths=5, **{**defaults, **evidence})


QUESTIONS = [
    ("A train travels 60 km per hour for 3 hours. How far does it go?", "180"),
    ("Sara buys 4 pencils at 2 dollars each. How much does she spend?", "8"),
    ("A rectangle is 5 cm long and 3 cm wide. What is its area?", "15"),
    ("What is 20 percent of 150?", "30"),
    ("Tom is 12 years old and his sister is 3 years younger. How old is she?", "9"),
    ("A bag has 3 red and 2 blue marbles. What is the chance of drawing red?", "3/5"),
]


@pytest.fixture
def make_path() -> Callable[..., VerifiedPath]:
    """Build VerifiedPath objects through the real write-back policy."""
    return verified


@pytest.fixture
def questions() -> list[tuple[str, str]]:
    """Six unrelated word problems with their answers."""
    return list(QUESTIONS)
