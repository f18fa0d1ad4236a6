"""The session fixture ``postgres_server``: a real PostgreSQL + pgvector for the tests.

Import it into a conftest or test module. Tests that use it skip, with the reason, when no
server can be started here (see benchmarks/local_postgres.py for how it is started).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from benchmarks.local_postgres import PostgresServer, start_postgres

__all__ = ["PostgresServer", "postgres_server"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL + pgvector server for the session (skips the test if none starts)."""
    try:
        server = start_postgres()
    except (RuntimeError, OSError, subprocess.SubprocessError) as ex:
        pytest.skip(f"PostgreSQL with pgvector cannot start here: {ex}")
    try:
        yield server
    finally:
        server.stop()
