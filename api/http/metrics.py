"""Prometheus metrics: HTTP requests (by route, status, latency) plus the reasoning counters.

Each app gets its own ``CollectorRegistry`` so several apps (tests) never clash over names.
``ReasonMetrics.observe(answer)`` is called once per answered question by every way in.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Gauge, Info
from prometheus_fastapi_instrumentator import Instrumentator

from agent.reasoner import Answer

if TYPE_CHECKING:
    from service.compose import Service

logger = logging.getLogger(__name__)


class ReasonMetrics:
    """The service's own counters and gauges, in one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        """Declare the metrics."""
        self.registry = registry
        self.questions = Counter(
            "reason_questions_total",
            "Questions answered, by graph configuration and outcome",
            ["config", "outcome"],
            registry=registry,
        )
        self.paths = Counter(
            "reason_paths_sampled_total", "Reasoning paths sampled", ["config"], registry=registry
        )
        self.tokens = Counter(
            "reason_tokens_total", "Model tokens spent", ["kind"], registry=registry
        )
        self.early_stops = Counter(
            "reason_early_stops_total",
            "Questions where adaptive sampling stopped early",
            ["config"],
            registry=registry,
        )
        self.paths_saved = Counter(
            "reason_paths_saved_total",
            "Paths not sampled thanks to early stopping",
            ["config"],
            registry=registry,
        )
        self.queue_depth = Gauge(
            "reason_queue_depth", "Requests waiting for the model", registry=registry
        )
        self.in_flight = Gauge(
            "reason_requests_in_flight",
            "Requests admitted to the model (running + waiting)",
            registry=registry,
        )
        self.memory_size = Gauge(
            "reason_memory_problems", "Problems stored in memory", registry=registry
        )
        self.sandbox = Info(
            "reason_sandbox",
            "Layers that contain model-written programs (isolation bwrap or rlimit, seccomp)",
            registry=registry,
        )

    def observe(self, answer: Answer, budget: int) -> None:
        """Count one answered question; ``budget`` is the configuration's path budget."""
        trace = answer.trace
        config = answer.config
        outcome = (
            "verified"
            if answer.verified
            else ("answered" if answer.answer is not None else "no_answer")
        )
        self.questions.labels(config, outcome).inc()
        sampled = len(trace.get("paths") or [])
        self.paths.labels(config).inc(sampled)
        self.tokens.labels("prompt").inc(answer.usage.get("prompt_tokens", 0))
        self.tokens.labels("completion").inc(answer.usage.get("completion_tokens", 0))
        if (trace.get("sampling") or {}).get("stopped_early"):
            self.early_stops.labels(config).inc()
            self.paths_saved.labels(config).inc(max(0, budget - sampled))

    def observe_failure(self, config: str, outcome: str) -> None:
        """Count a question that failed (error, cancelled)."""
        self.questions.labels(config, outcome).inc()

    def bind(self, service: Service) -> None:
        """Read the queue and memory gauges from the service at scrape time."""
        self.queue_depth.set_function(lambda: service.queue.depth)
        self.in_flight.set_function(lambda: service.queue.in_flight)

        def memory_size() -> float:
            store = service.memory
            return float(store.count()) if store is not None else 0.0

        self.memory_size.set_function(memory_size)
        box = service.sandbox
        if box is not None:
            self.sandbox.info(
                {
                    "isolation": box.isolation,
                    "seccomp": str(box.seccomp).lower(),
                    "problem": "; ".join(
                        p for p in (box.isolation_problem, box.seccomp_problem) if p
                    ),
                }
            )


def install_metrics(app: FastAPI, service: Service) -> ReasonMetrics:
    """Instrument the app's routes and serve ``GET /metrics`` from a fresh registry."""
    registry = CollectorRegistry()
    Instrumentator(
        registry=registry,
        should_group_status_codes=False,
        excluded_handlers=["/metrics", "/healthz"],
    ).instrument(app, metric_namespace="reason").expose(app, include_in_schema=False)
    metrics = ReasonMetrics(registry)
    metrics.bind(service)
    return metrics
