"""A server span per HTTP request, continuing the caller's trace (W3C ``traceparent``).

Only when tracing is on (``service/tracing.py``); otherwise the middleware passes each request
straight through. The run's ``reason.solve`` span and its node spans become children of this
one, and the openai backend sends its context on to the model server.
"""

from __future__ import annotations

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent import telemetry

tracer = trace.get_tracer("reason.api")


class TraceRequests:
    """ASGI middleware: ``METHOD /path`` spans of kind SERVER, parented by ``traceparent``."""

    def __init__(self, app: ASGIApp) -> None:
        """Wrap an ASGI app."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request inside its span; record the response status."""
        if scope["type"] != "http" or not telemetry.enabled():
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        with tracer.start_as_current_span(
            f"{scope['method']} {scope['path']}",
            context=propagate.extract(headers),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": scope["method"], "url.path": scope["path"]},
        ) as span:
            await self.app(scope, receive, sending)
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(StatusCode.ERROR)
