"""A pass-through between a peer proxy and the model server that counts the tokens it used.

optillm reports the usage of its *final* answer only: self-consistency samples several full
answers and returns one, with ``completion_tokens`` of that one (or 0). Comparing cost per
question needs what the model server really generated, so optillm is pointed at this meter,
which forwards every request unchanged and adds up the ``usage`` of every reply.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_HOP_HEADERS = {"host", "content-length", "connection", "transfer-encoding", "accept-encoding"}
# httpx hands over decoded bodies, so the upstream's encoding header must not travel on.
_REPLY_DROP = _HOP_HEADERS | {"content-encoding"}


@dataclass(frozen=True)
class Usage:
    """Totals since the meter started; subtract two readings for one question's cost."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __sub__(self, other: Usage) -> Usage:
        return Usage(
            self.requests - other.requests,
            self.prompt_tokens - other.prompt_tokens,
            self.completion_tokens - other.completion_tokens,
        )


class UsageMeter:
    """Forwards ``/v1/*`` to ``upstream`` and sums the usage the upstream reports."""

    def __init__(self, upstream: str, *, timeout_s: float = 900) -> None:
        """``upstream``: base URL of the model server, e.g. ``http://127.0.0.1:8001``."""
        self.upstream = upstream.rstrip("/")
        self._client = httpx.AsyncClient(timeout=timeout_s)
        self._lock = threading.Lock()
        self._total = Usage()
        self.app = Starlette(routes=[Route("/{path:path}", self._forward, methods=["GET", "POST"])])

    def reading(self) -> Usage:
        """The totals so far."""
        with self._lock:
            return self._total

    def _add(self, body: bytes) -> None:
        try:
            usage = json.loads(body).get("usage") or {}
        except (ValueError, AttributeError):
            return  # not a JSON completion (a model list, an error page)
        with self._lock:
            t = self._total
            self._total = Usage(
                t.requests + 1,
                t.prompt_tokens + int(usage.get("prompt_tokens") or 0),
                t.completion_tokens + int(usage.get("completion_tokens") or 0),
            )

    async def _forward(self, request: Request) -> Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        reply = await self._client.request(
            request.method,
            f"{self.upstream}/{request.path_params['path']}",
            content=await request.body(),
            headers=headers,
            params=request.query_params,
        )
        if request.method == "POST" and reply.status_code == 200:
            self._add(reply.content)
        keep = {k: v for k, v in reply.headers.items() if k.lower() not in _REPLY_DROP}
        return Response(reply.content, status_code=reply.status_code, headers=keep)

    @contextmanager
    def serve(self, port: int) -> Iterator[str]:
        """Run the meter on 127.0.0.1:``port`` in a thread; yield its base URL."""
        server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError(f"usage meter did not start on port {port}")
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=10)
