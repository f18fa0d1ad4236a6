"""Routing by kind: which answer kind a question gets, and which paths are drawn for it.

The ``route`` node decides once per question and writes a ``Route`` into the state; every
node that reads the configuration reads ``routed(config, route)``, the configuration with
the route's changes, so one graph serves questions of every kind.

- The answer kind: the configuration's ``task``, or with ``task="auto"`` what the question
  asks for (``agent.kinds.answer_kind``).
- The paths (``route_by_kind``): a question answered by a number keeps the configuration's
  own paths (``full``: programs first). A question answered by a word, a yes or no, or a
  letter is drawn as prose paths in adaptive rounds: programs printing a relationship or a
  verdict fit badly (family relationships: 0 of 20 development questions with a program
  path; see docs/evaluation.md, "Every kind of question").
"""

from __future__ import annotations

from typing import Any

from agent.config import GraphConfig
from agent.extract import TaskKind
from agent.kinds import answer_kind
from agent.trace_parts import Route

__all__ = ["PROSE_ROUTE", "decide_route", "routed", "task_of"]

#: What a question answered in words is drawn with under ``route_by_kind``: ``adaptive@8``'s
#: prose rounds (3 paths, then one at a time until the Beta rule is 90% sure of the leader).
PROSE_ROUTE: dict[str, Any] = {
    "paths": "prose",
    "sampling": "adaptive",
    "vote": {"strategy": "majority", "stop_rule": "beta", "beta_threshold": 0.9, "min_n": 3,
             "round_size": 1},
}  # fmt: skip

_PROGRAM_KINDS: frozenset[TaskKind] = frozenset({"math"})


def decide_route(config: GraphConfig, question: str) -> Route:
    """The route of one question under ``config`` (see the module docstring)."""
    if config.task == "auto":
        decided = answer_kind(question)
        task, task_reason = decided.kind, decided.reason
    else:
        task, task_reason = config.task, "set by the configuration"
    route: Route = {"task": task, "task_reason": task_reason}
    if not config.route_by_kind or config.paths == "prose":
        return route
    if task in _PROGRAM_KINDS:
        route["reason"] = f"a {task} answer: the configuration's {config.paths} paths"
        return route
    route["paths"] = PROSE_ROUTE["paths"]
    route["sampling"] = PROSE_ROUTE["sampling"]
    route["reason"] = f"a {task} answer: prose paths in adaptive rounds, no programs"
    return route


def task_of(config: GraphConfig, route: Route | None) -> TaskKind:
    """The answer kind a question runs with (the configuration's when nothing was routed)."""
    if route and "task" in route:
        return route["task"]  # type: ignore[return-value]  # written by decide_route
    return "math" if config.task == "auto" else config.task


def routed(config: GraphConfig, route: Route | None) -> GraphConfig:
    """``config`` with the route's answer kind and paths (the same object when unchanged)."""
    update: dict[str, Any] = {"task": task_of(config, route)}
    if route and "paths" in route:
        update |= {
            "paths": route["paths"],
            "sampling": route["sampling"],
            "vote": {**config.vote.model_dump(), **PROSE_ROUTE["vote"]},
        }
    if all(getattr(config, k) == v for k, v in update.items() if k != "vote") and (
        "vote" not in update
    ):
        return config
    return GraphConfig(**{**config.model_dump(), **update})
