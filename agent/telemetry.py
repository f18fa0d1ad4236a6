"""OpenTelemetry spans for the graph: one per node, one per sandbox run, and trace context
for the openai backend's HTTP calls.

Only the OpenTelemetry *API* is used here. Until an entry point installs an SDK tracer
provider (``service/tracing.py``, when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set), ``enabled()``
is False and every helper returns at once: no span objects, no attribute work, no headers.
Span names: ``node <name>`` for each graph step (``agent/nodes/_timing.py``), ``sandbox.run``
for each program the sandbox runs; the request's own span is the service's
(``reason.solve``), so the nodes are its children.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import Span

tracer = trace.get_tracer("reason.agent")


def enabled() -> bool:
    """Whether an SDK tracer provider is installed (the API's default proxy records nothing)."""
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


@contextlib.contextmanager
def span(name: str, **attributes: Any) -> Iterator[Span | None]:
    """A current span named ``name`` while the block runs; None (and no work) when off."""
    if not enabled():
        yield None
        return
    with tracer.start_as_current_span(name, attributes=clean(attributes)) as current:
        yield current


def clean(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes OpenTelemetry accepts: scalars kept, None dropped, the rest as text."""
    out: dict[str, Any] = {}
    for key, value in attributes.items():
        if value is None:
            continue
        out[key] = value if isinstance(value, str | bool | int | float) else str(value)
    return out


def node_attributes(update: Mapping[str, Any]) -> dict[str, Any]:
    """What a node's partial state update says about the run, as span attributes.

    Each node returns only what it changed, so each span carries its own step's facts:
    sample's paths, tokens and early stop, aggregate's vote, verify's verdict, write-back's
    memory outcome.
    """
    out: dict[str, Any] = {}
    paths = update.get("paths")
    if paths:
        out["reason.paths"] = len(paths)
        out["reason.paths.tokens"] = sum(int(getattr(p, "completion_tokens", 0)) for p in paths)
        out["reason.paths.programs"] = sum(1 for p in paths if getattr(p, "kind", "") == "program")
    sampling = update.get("sampling")
    if isinstance(sampling, Mapping) and "stopped_early" in sampling:
        out["reason.early_stop"] = bool(sampling.get("stopped_early"))
        out["reason.early_stop.reason"] = sampling.get("stop")
    usage = update.get("usage")
    if isinstance(usage, Mapping):
        out["reason.tokens.completion"] = usage.get("completion_tokens")
        out["reason.tokens.prompt"] = usage.get("prompt_tokens")
    verdict = update.get("verdict")
    if verdict is not None:
        out["reason.vote.share"] = round(float(verdict.share), 4)
        out["reason.vote.answer"] = verdict.answer
    verification = update.get("verification")
    if isinstance(verification, Mapping) and "verified" in verification:
        out["reason.verified"] = bool(verification.get("verified"))
        out["reason.verified.reason"] = verification.get("reason")
    memory = update.get("memory")
    if isinstance(memory, Mapping) and memory:
        out.update(memory_attributes(memory))
    return clean(out)


def memory_attributes(memory: Mapping[str, Any]) -> dict[str, Any]:
    """What write-back did: ``stored`` and its record id and action, or the reason not."""
    return clean(
        {
            "reason.memory.stored": bool(memory.get("stored")),
            "reason.memory.id": memory.get("id"),
            "reason.memory.action": memory.get("action"),
            "reason.memory.reason": memory.get("reason"),
            "reason.memory.pending": memory.get("pending"),
        }
    )


def trace_headers() -> dict[str, str]:
    """W3C trace context (``traceparent``) of the current span for an outgoing request, so a
    model server's spans (vLLM's) join the request's trace; empty when tracing is off."""
    if not enabled():
        return {}
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def answer_attributes(trace: Mapping[str, Any]) -> dict[str, Any]:
    """A whole run's facts for the request's span, from its trace (``agent/trace.py``)."""
    vote = trace.get("vote") or {}
    verification = trace.get("verification") or {}
    sampling = trace.get("sampling") or {}
    usage = trace.get("usage") or {}
    out: dict[str, Any] = {
        "reason.configuration": trace.get("config"),
        "reason.paths": len(trace.get("paths") or []),
        "reason.tokens.completion": usage.get("completion_tokens"),
        "reason.tokens.prompt": usage.get("prompt_tokens"),
        "reason.early_stop": bool(sampling.get("stopped_early")),
        "reason.early_stop.reason": sampling.get("stop"),
        "reason.vote.share": vote.get("share"),
        "reason.vote.answer": vote.get("answer"),
        "reason.verified": bool(verification.get("verified")),
        "reason.verified.reason": verification.get("reason"),
    }
    out.update(memory_attributes(trace.get("memory") or {}))
    return clean(out)
