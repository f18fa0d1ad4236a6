"""Routing by kind: which answer kind a question gets, and which paths are drawn for it.

The ``route`` node decides once per question and writes a ``Route`` into the state; every
node that reads the configuration reads ``routed(config, route)``, the configuration with
the route's plan applied, so one graph serves questions of every kind.

- The answer kind: the configuration's ``task``, or with ``task="auto"`` what the question
  asks for (``agent.kinds.answer_kind``).
- The plan (``route_by_kind``): a question answered by a number keeps the configuration's
  own paths (``full``: programs first). A question answered by a word, a yes or no, or a
  letter gets ``KIND_PLANS``'s plan; the choice and its measurements are in
  docs/evaluation.md, "Every kind of question".
"""

from __future__ import annotations

from typing import Any

from agent.config import GraphConfig
from agent.extract import TaskKind
from agent.kinds import answer_kind
from agent.trace_parts import Route

__all__ = ["KIND_PLANS", "PLANS", "decide_route", "routed", "task_of"]

#: Named ways of drawing a question's paths, as changes to the configuration.
PLANS: dict[str, dict[str, Any]] = {
    # One greedy chain of thought (``cot``).
    "greedy prose": {"paths": "prose", "sampling": "fixed", "n": 1, "temperature": 0.0},
    # A greedy program and bare answer, a greedy chain of thought when they differ, one vote
    # (sampling_modes/views.py).
    "greedy views": {
        "paths": "mixed",
        "sampling": "views",
        "n": 3,
        "temperature": 0.0,
        "vote": {"strategy": "majority"},
    },
    # ``adaptive@8``'s rounds: 3 sampled prose paths, then one at a time until the Beta
    # rule is 90% sure of the leader.
    "prose rounds": {
        "paths": "prose",
        "sampling": "adaptive",
        "vote": {"strategy": "majority", "stop_rule": "beta", "beta_threshold": 0.9,
                 "min_n": 3, "round_size": 1},
    },
}  # fmt: skip

#: The plan per answer kind under ``route_by_kind``; a kind not listed keeps the
#: configuration's paths. Chosen on development questions 0-19 (seed 42): programs first
#: answered 0 of 7 family-relationship questions; sampled prose paths (T = 0.7) voted worse
#: than the one greedy chain of thought on syllogisms (3/6 vs 5/6) and no better on family
#: relationships; three greedy views beat it on syllogisms (17/20 vs 14/20) and tie on
#: family relationships (3/20).
KIND_PLANS: dict[TaskKind, str] = {
    "text": "greedy views",
    "yesno": "greedy views",
    "choice": "greedy views",
}


def decide_route(config: GraphConfig, question: str) -> Route:
    """The route of one question under ``config`` (see the module docstring)."""
    if config.task == "auto":
        decided = answer_kind(question)
        task, task_reason = decided.kind, decided.reason
    else:
        task, task_reason = config.task, "set by the configuration"
    route: Route = {"task": task, "task_reason": task_reason}
    if not config.route_by_kind:
        return route
    plan = KIND_PLANS.get(task)
    if plan is None:
        route["reason"] = f"a {task} answer: the configuration's {config.paths} paths"
    else:
        route["plan"] = plan
        route["reason"] = f"a {task} answer: {plan}"
    return route


def task_of(config: GraphConfig, route: Route | None) -> TaskKind:
    """The answer kind a question runs with (the configuration's when nothing was routed)."""
    if route and "task" in route:
        return route["task"]  # type: ignore[return-value]  # written by decide_route
    return "math" if config.task == "auto" else config.task


def routed(config: GraphConfig, route: Route | None) -> GraphConfig:
    """``config`` with the route's answer kind and plan (the same object when unchanged)."""
    update: dict[str, Any] = {"task": task_of(config, route)}
    if route and "plan" in route:
        update |= PLANS[route["plan"]]
        if "vote" in update:
            update["vote"] = {**config.vote.model_dump(), **update["vote"]}
    if "vote" not in update and all(getattr(config, k) == v for k, v in update.items()):
        return config
    return GraphConfig(**{**config.model_dump(), **update})
