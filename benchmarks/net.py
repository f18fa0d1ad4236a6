"""Loopback helpers shared by the benchmarks and the tests that start servers."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A localhost port nothing listens on right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
