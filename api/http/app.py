"""The FastAPI app: ``create_app(settings, service)``, health probes, limits, Slack mount.

Routes::

    POST   /v1/chat/completions    OpenAI-compatible (stream or not)
    GET    /v1/models              the graph configurations served as models
    POST   /v1/feedback            confirm / reject an earlier answer
    GET    /v1/memory/stats | /v1/memory/search?q=&k= | /v1/memory/{id}
    DELETE /v1/memory/{id}         (admin key)
    GET    /healthz  /readyz  /metrics                  (no key needed)
    GET    /                       the web page (api/web.py)
    POST   /slack/events           when REASON_SLACK_SIGNING_SECRET is set

``reason serve`` builds the service and runs the app under uvicorn (``serve``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import typer
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body, error_response, install_error_handlers
from api.http.metrics import install_metrics
from api.http.routes import router
from api.http.tracing import TraceRequests
from api.process import sigterm_exits
from api.web import mount_web
from memory import MemoryStoreError
from service.compose import Service, build_service
from service.settings import Settings

logger = logging.getLogger(__name__)

HEALTH_TIMEOUT_S = 5.0


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        """Wrap an ASGI app."""
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check Content-Length first, then count the bytes as they arrive."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                response = error_response(
                    413,
                    f"request body of {int(value)} bytes is over the limit of {self.limit} bytes",
                    "invalid_request_error",
                    "request_too_large",
                )
                await response(scope, receive, send)
                return
        seen = 0

        async def counting() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise StarletteHTTPException(
                        413, f"request body is over the limit of {self.limit} bytes"
                    )
            return message

        await self.app(scope, counting, send)


def create_app(settings: Settings, service: Service) -> FastAPI:
    """Build the app around a service (``build_service``); the service belongs to the caller.

    ``settings`` are the way in's own: API keys, the body limit, the Slack signing secret.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        slack = getattr(app.state, "slack", None)
        if slack is not None:
            slack.close()

    app = FastAPI(
        title="reason",
        version="0.1.0",
        summary="A retrieval-augmented reasoning agent behind an OpenAI-compatible API",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service = service
    install_error_handlers(app)
    service.metrics = install_metrics(app, service)
    app.include_router(router)
    _health_routes(app)
    mount_web(app)
    if settings.slack_signing_secret is not None:
        from api.slack import mount_slack

        mount_slack(app, settings, service)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(TraceRequests)  # outermost: the span covers the whole request
    return app


def _health_routes(app: FastAPI) -> None:
    @app.get("/healthz", summary="The process is up", tags=["health"])
    async def healthz() -> dict[str, str]:
        """Liveness: answers as long as the process serves requests."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        summary="Model loaded, memory open, backend reachable",
        tags=["health"],
        responses={503: {"description": "Not ready; the failing checks are listed"}},
    )
    async def readyz(request: Request) -> Any:
        """Readiness: 200 when every check passes, 503 naming the ones that fail."""
        service: Service = request.app.state.service
        checks: dict[str, str] = {"model": f"loaded ({service.backend.model_name})"}
        store = service.memory
        if store is None:
            checks["memory"] = "disabled"
        else:
            try:
                checks["memory"] = f"open ({await run_in_threadpool(store.count)} problems)"
                # Shown, not failing: answers are still served without storing.
                unwritable = await run_in_threadpool(store.writable)
                if unwritable is not None:
                    checks["memory"] += f"; {unwritable}: nothing is stored until it is fixed"
            except MemoryStoreError as ex:
                checks["memory"] = f"error: {ex}"
        try:
            healthy = await asyncio.wait_for(
                run_in_threadpool(service.backend_healthy), HEALTH_TIMEOUT_S
            )
        except TimeoutError:
            healthy = False
        checks["backend"] = "reachable" if healthy else "unreachable"
        # Shown, not failing: without namespaces programs still run, behind fewer layers.
        checks["sandbox"] = service.sandbox.describe() if service.sandbox else "not started"
        slack = getattr(request.app.state, "slack", None)
        if slack is not None:
            # Shown, not failing: the REST API answers whether Slack is reachable or not.
            checks["slack"] = slack.detail
        failing = [k for k, v in checks.items() if v.startswith(("error", "unreachable"))]
        if failing:
            body = error_body(f"not ready: {', '.join(failing)}", "server_error", "not_ready")
            return JSONResponse({**body, "checks": checks}, status_code=503)
        return {"status": "ready", "checks": checks}


def serve(settings: Settings, host: str, port: int, log_level: str = "info") -> None:
    """Load the model and memory, then serve the app with uvicorn until interrupted."""
    import uvicorn

    service = build_service(settings, write_back_after_answer=settings.write_back_after_answer)
    with sigterm_exits():
        try:
            uvicorn.run(create_app(settings, service), host=host, port=port, log_level=log_level)
        finally:
            service.close()


def serve_command(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="Interface to listen on.", envvar="REASON_HOST"),
    port: int = typer.Option(8000, help="Port to listen on.", envvar="REASON_PORT"),
) -> None:
    """Serve the OpenAI-compatible API (and Slack events when a signing secret is set)."""
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    serve(settings, host, port)


def slack_command(ctx: typer.Context) -> None:
    """Run the Slack bot over Socket Mode (REASON_SLACK_APP_TOKEN, REASON_SLACK_BOT_TOKEN)."""
    try:
        from api.slack import run_socket_mode
    except ImportError as ex:
        raise typer.BadParameter(f"{ex}; install the slack extra: pip install '.[slack]'") from ex
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    service = build_service(
        settings, source="slack", write_back_after_answer=settings.write_back_after_answer
    )
    try:
        run_socket_mode(settings, service)
    finally:
        service.close()
