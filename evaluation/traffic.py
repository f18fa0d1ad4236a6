"""Serve a question stream as a user's traffic: no ground truth, the write-back policy decides.

The labelled learner (``evaluation.learn``) shows the service each answer's ground truth, so
only right paths are stored. A deployment has no labels: it answers, and stores what its own
evidence supports. ``serve_stream`` reproduces that: every question goes through
``Service.answer`` with a configuration that writes back (``full``), exactly as a request
would. The data set's answer is looked at only afterwards, to score the answer and what was
stored; the service never sees it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent.config import GraphConfig
from evaluation.datasets import open_dataset
from evaluation.learn import check_training_seed, eval_questions
from memory.records import normalize_question
from service.compose import Ask, Service

logger = logging.getLogger(__name__)


@dataclass
class TrafficReport:
    """What serving a stream did: answers, their accuracy, what was stored and how right.

    ``marks`` has one letter per question, in order: ``S`` stored and right, ``X`` stored and
    wrong (the errors memory would recall), ``r`` right but not stored, ``w`` wrong, not stored.
    """

    dataset: str
    seed: int
    config: str
    attempted: int = 0
    correct: int = 0
    stored: int = 0
    stored_right: int = 0
    merged: int = 0
    skipped_eval_overlap: int = 0
    completion_tokens: int = 0
    marks: list[str] = field(default_factory=list)
    store_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def stored_precision(self) -> float | None:
        """Share of stored answers that were right (None when nothing was stored)."""
        return self.stored_right / self.stored if self.stored else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the learn report of an unlabelled curve point)."""
        precision = self.stored_precision
        return {
            "dataset": self.dataset,
            "seed": self.seed,
            "labels": False,
            "config": self.config,
            "attempted": self.attempted,
            "correct": self.correct,
            "accuracy": round(self.correct / self.attempted, 4) if self.attempted else None,
            "answers_stored": self.stored,
            "answers_stored_right": self.stored_right,
            "stored_precision": None if precision is None else round(precision, 4),
            "merged": self.merged,
            "skipped_eval_overlap": self.skipped_eval_overlap,
            "completion_tokens": self.completion_tokens,
            "marks": "".join(self.marks),
            "not_stored_because": dict(sorted(self.store_reasons.items(), key=lambda kv: -kv[1])),
        }


Step = Callable[[int, str], None]


def serve_stream(
    service: Service,
    config: GraphConfig,
    *,
    dataset: str,
    size: int,
    seed: int,
    exclude_eval_size: int = 0,
    on_step: Step | None = None,
) -> TrafficReport:
    """Answer the first ``size`` questions of a training split as traffic, in order.

    Args:
        service: The service under test, with the memory it learns into.
        config: A configuration that writes back (its policy decides what is stored).
        dataset: reasoning-gym data set.
        size: Questions drawn (those that repeat an evaluation question are skipped).
        seed: Stream seed; must not be an evaluation seed.
        exclude_eval_size: Skip questions among the first this-many of any evaluation split.
        on_step: Called with (index, mark) after each question.

    Returns:
        The report; ``stored_precision`` is scored against the data set afterwards.
    """
    check_training_seed(seed)
    if not config.write_back:
        raise ValueError(f"configuration {config.name} does not write back: nothing would learn")
    data = open_dataset(dataset, size=size, seed=seed)
    held_out = eval_questions(dataset, exclude_eval_size) if exclude_eval_size > 0 else set()
    report = TrafficReport(dataset=dataset, seed=seed, config=config.name)
    source = f"{dataset}:traffic:seed={seed}"
    for number, entry in enumerate(data):
        if held_out and normalize_question(entry["question"]) in held_out:
            report.skipped_eval_overlap += 1
            continue
        report.attempted += 1
        answer = service.answer(Ask(entry["question"], config, source=source))
        right = bool(answer.answer) and float(data.score_answer(answer.answer, entry)) >= 1.0
        memory = answer.trace.get("memory") or {}
        stored = bool(memory.get("stored"))
        report.correct += int(right)
        report.completion_tokens += int(answer.usage.get("completion_tokens", 0))
        if stored:
            report.stored += 1
            report.stored_right += int(right)
            report.merged += int(memory.get("action") == "merged")
        else:
            reason = _reason_kind(str(memory.get("reason", "")))
            report.store_reasons[reason] = report.store_reasons.get(reason, 0) + 1
        mark = ("S" if right else "X") if stored else ("r" if right else "w")
        report.marks.append(mark)
        if on_step is not None:
            on_step(number, mark)
    logger.info(
        "served %s seed=%d: %d/%d right, %d stored (%d right)",
        dataset,
        seed,
        report.correct,
        report.attempted,
        report.stored,
        report.stored_right,
    )
    return report


def _reason_kind(reason: str) -> str:
    """A rejection reason without its numbers, so reasons can be counted."""
    return " ".join("N" if any(ch.isdigit() for ch in w) else w for w in reason.split())
