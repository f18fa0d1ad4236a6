"""A real HAProxy (Debian's package) running docker/haproxy.cfg in front of test replicas.

The configuration file is the one docker/compose.yaml runs; only the addresses differ, and
they come from the environment (``LB_BIND``, ``REPLICA_A``, ``REPLICA_B``) as there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from benchmarks.net import free_port, stop_process, wait_until_ready

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "docker" / "haproxy.cfg"
READY_TIMEOUT_S = 30.0

__all__ = ["CONFIG", "haproxy_binary", "load_balancer"]


def haproxy_binary() -> str | None:
    """Path of the haproxy program, or None (``/usr/sbin`` is not on every user's PATH)."""
    found = shutil.which("haproxy")
    if found:
        return found
    return "/usr/sbin/haproxy" if os.access("/usr/sbin/haproxy", os.X_OK) else None


@contextmanager
def load_balancer(a: str, b: str, log: Path) -> Iterator[str]:
    """Run HAProxy round robin over replicas ``a`` and ``b`` (``host:port``); yield its URL.

    Returns once both replicas have answered through it (both passed their health checks).

    Raises:
        RuntimeError: haproxy is missing, exits, or never routes to both replicas.
    """
    binary = haproxy_binary()
    if binary is None:
        raise RuntimeError("haproxy is not installed (scripts/setup.sh installs it as root)")
    port = free_port()
    env = {**os.environ, "LB_BIND": f"127.0.0.1:{port}", "REPLICA_A": a, "REPLICA_B": b}
    with log.open("ab") as sink:
        # -db: stay in the foreground, so the test owns the process.
        proc = subprocess.Popen(
            [binary, "-db", "-f", str(CONFIG)], env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        seen: set[str] = set()

        def both_routed() -> bool:
            try:
                reply = httpx.get(f"{url}/readyz", timeout=5)
                if reply.status_code == 200:
                    seen.add(reply.headers.get("x-served-by", ""))
            except httpx.HTTPError:
                pass
            return seen == {"a", "b"}

        wait_until_ready(
            both_routed, "haproxy (routing to both replicas)", READY_TIMEOUT_S,
            process=proc, log=log, interval_s=0.2,
        )  # fmt: skip
        yield url
    finally:
        stop_process(proc)
