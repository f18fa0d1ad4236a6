"""``reason mcp``: the service as a Model Context Protocol server, over stdio or HTTP.

``build_mcp_server(service)`` makes an ``MCPServer`` (the official ``mcp`` SDK)
with the tools of ``api/mcp/tools.py``; ``http_app`` wraps its streamable HTTP app in the
REST API's key check (``REASON_API_KEYS``: ``Authorization: Bearer KEY``, 401 otherwise)
and body limit (``REASON_MAX_BODY_BYTES``). Over stdio there is no key: the host that starts
the process already has the user's rights, as with ``reason ask``. Either way, questions
go through the service's work queue, so the REST API's concurrency and queue limits hold.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any, Literal

import typer
from mcp.server.mcpserver import MCPServer
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_body
from api.http.auth import key_accepted
from api.http.tracing import TraceRequests
from api.mcp.tools import register_tools
from api.process import sigterm_exits
from service.compose import Service, build_service
from service.settings import Settings

logger = logging.getLogger(__name__)

INSTRUCTIONS = (
    "Tools of a reasoning service on a local model. Call solve with a question (math word "
    "problems, logic, multi-step reasoning): it samples several reasoning paths (prose and "
    "small Python programs), votes and verifies, and answers with the evidence. Prefer a "
    "verified answer; give feedback on answers you can check. memory_search and memory_show "
    "read the problems it has solved and verified before."
)


def build_mcp_server(service: Service) -> MCPServer[Any]:
    """The MCP server for ``service``: four tools, one shared work queue."""
    server: MCPServer[Any] = MCPServer(
        "reason", instructions=INSTRUCTIONS, version="0.1.0", log_level="WARNING"
    )
    register_tools(server, service)
    return server


class KeyCheck:
    """Refuse HTTP requests without a valid bearer key (when keys are configured)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        """Wrap an ASGI app."""
        self.app = app
        self.keys = settings.api_keys
        self.admin_keys = settings.admin_api_keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check ``Authorization: Bearer KEY`` before the app sees the request."""
        if scope["type"] == "http" and self.keys:
            header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
            scheme, _, key = header.partition(" ")
            if scheme.lower() != "bearer" or not key_accepted(
                key.strip(), self.keys, self.admin_keys
            ):
                logger.info("rejected a missing or invalid API key on %s", scope.get("path"))
                body = error_body(
                    "Incorrect or missing API key: send 'Authorization: Bearer YOUR_KEY'.",
                    "authentication_error",
                    "invalid_api_key",
                )
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"www-authenticate", b"Bearer"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": json.dumps(body).encode()})
                return
        await self.app(scope, receive, send)


def http_app(server: MCPServer[Any], settings: Settings, host: str = "127.0.0.1") -> ASGIApp:
    """The streamable HTTP app (at ``/mcp``) behind the key check and the body limit, with a
    span per request when tracing is on."""
    app = server.streamable_http_app(
        streamable_http_path="/mcp", max_request_body_size=settings.max_body_bytes, host=host
    )
    return TraceRequests(KeyCheck(app, settings))


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send file descriptor 1 to stderr for a while: over stdio, stdout is the protocol's
    alone, and loading a model may print (llama.cpp's C code writes to fd 1 directly)."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def run(settings: Settings, transport: Literal["stdio", "http"], host: str, port: int) -> None:
    """Open the service, then serve MCP until the client goes (stdio) or Ctrl-C (HTTP)."""
    if transport == "stdio":
        with stdout_to_stderr():
            service = build_service(
                settings, source="mcp", write_back_after_answer=settings.write_back_after_answer
            )
    else:
        service = build_service(
            settings, source="mcp", write_back_after_answer=settings.write_back_after_answer
        )
    with sigterm_exits():
        try:
            server = build_mcp_server(service)
            if transport == "stdio":
                server.run("stdio")
            else:
                import uvicorn

                logger.info("MCP over streamable HTTP at http://%s:%d/mcp", host, port)
                uvicorn.run(
                    http_app(server, settings, host), host=host, port=port, log_level="info"
                )
        finally:
            service.close()


def mcp_command(
    ctx: typer.Context,
    transport: str = typer.Option(
        "stdio",
        "--transport",
        "-t",
        help="stdio (a host starts this process) or http (streamable HTTP at /mcp).",
        envvar="REASON_MCP_TRANSPORT",
    ),
    host: str = typer.Option(
        "127.0.0.1", help="Interface for --transport http.", envvar="REASON_MCP_HOST"
    ),
    port: int = typer.Option(8001, help="Port for --transport http.", envvar="REASON_MCP_PORT"),
) -> None:
    """Serve the reasoning tools to MCP hosts (solve, memory_search, memory_show, feedback)."""
    if transport not in ("stdio", "http"):
        raise typer.BadParameter("--transport must be stdio or http")
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    run(settings, "stdio" if transport == "stdio" else "http", host, port)
