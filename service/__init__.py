"""The composition root: settings, the work queue and the service every way in calls.

``build_service(settings)`` opens the backend, memory and checkpointer;
``Service.submit(Ask(...))`` is the one route from a way in (REST, SSE, Slack, batch,
CLI, evaluation) to ``Reasoner.solve``.
"""

from service.compose import Ask, Service, build_service
from service.queue import Cancellation, Cancelled, QueueFull, WorkQueue
from service.settings import Settings, load_settings

__all__ = [
    "Ask",
    "Cancellation",
    "Cancelled",
    "QueueFull",
    "Service",
    "Settings",
    "WorkQueue",
    "build_service",
    "load_settings",
]
