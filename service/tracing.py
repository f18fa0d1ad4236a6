"""Traces over OTLP/HTTP, set up once per process when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set.

Off by default and free when off: without the variable nothing is imported from the
OpenTelemetry SDK, no exporter thread starts, and the agent's span helpers
(``agent/telemetry.py``) return at once. With it, spans go through a batch processor to the
OTLP/HTTP exporter, which reads the standard variables itself (``OTEL_EXPORTER_OTLP_ENDPOINT``
or ``..._TRACES_ENDPOINT``, ``..._HEADERS``, ``OTEL_BSP_SCHEDULE_DELAY``...);
``OTEL_SERVICE_NAME`` names the service (default ``reason``), ``OTEL_SDK_DISABLED=true``
turns it all off. The spans: the way in's request span (HTTP: ``api/http/tracing.py``,
continuing an incoming ``traceparent``), ``reason.solve`` per question (``compose.py``),
``node <name>`` per graph step and ``sandbox.run`` per program (the agent's).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_provider: Any = None  # the SDK's TracerProvider, once set up


def wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the environment asks for traces."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def setup_tracing(environ: Mapping[str, str] = os.environ) -> bool:
    """Install the SDK tracer provider with the OTLP/HTTP exporter if the environment asks.

    Idempotent: the first call that finds the variable sets up the process's provider.

    Returns:
        Whether traces are exported.
    """
    global _provider
    if not wanted(environ):
        return False
    with _lock:
        if _provider is not None:
            return True
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        name = environ.get("OTEL_SERVICE_NAME") or "reason"
        provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
        _provider = provider
    logger.info("traces go over OTLP/HTTP as service %s", name)
    return True


def flush_tracing() -> None:
    """Export the spans still buffered (at shutdown, so the last request's trace is sent)."""
    if _provider is not None:
        _provider.force_flush()
