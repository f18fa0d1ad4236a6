"""Feedback on an answer given earlier: "Correct", "Wrong", or "the right answer is X".

What each does to memory (``record_feedback``):

- **Correct** (or X equal to the answer): the stored record is confirmed; an answer that was
  not stored is stored, the person's word standing as its ground truth.
- **Wrong**: the stored record, if any, is rejected (no longer recalled), and so is every
  recalled record that was shown to a path agreeing with the wrong answer: a record whose
  recall led to an answer marked wrong loses its standing.
- **The right answer is X** (X differs): as Wrong, and then X is stored only when a program
  the service writes for the question prints X (``correction_programs`` tries, from the
  plain prompt that shows no record), so memory keeps a worked program, not a bare claim. A
  deployment that trusts its reviewers (``trust_reviewers``) stores X as given when no program
  prints it. The result says which happened.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal, cast, get_args

from agent.analogs import program_prompts
from agent.answers import AnswerRecord
from agent.backends.base import Backend
from agent.config import named_config
from agent.extract import TaskKind, same_answer
from agent.programs import Execution, program_text
from agent.sampling import Sampler
from agent.sandbox import Sandbox
from memory import (
    Evidence,
    MemoryInterface,
    RecordNotFound,
    VerifiedPath,
    WriteBackThresholds,
    agreement_of,
    decide,
)

logger = logging.getLogger(__name__)

Action = Literal[
    "confirmed", "stored", "merged", "rejected", "corrected", "stored_as_given", "not_stored",
    "noted",
]  # fmt: skip


@dataclass(frozen=True)
class FeedbackResult:
    """What feedback did, for the person who gave it.

    Attributes:
        answer_id: The answer the feedback was about.
        action: What memory did (see the module docstring).
        memory_id: The record stored, confirmed or rejected, if any.
        retired: Recalled records rejected because they led to the wrong answer.
        programs_tried: Programs written to reproduce a given right answer.
        detail: One sentence saying what happened and why.
    """

    answer_id: str
    action: Action
    memory_id: int | None = None
    retired: tuple[int, ...] = ()
    programs_tried: int = 0
    detail: str = ""

    def to_dict(self) -> dict[str, object]:
        """JSON-ready (REST, MCP)."""
        return {
            "answer_id": self.answer_id,
            "action": self.action,
            "memory_id": self.memory_id,
            "retired": list(self.retired),
            "programs_tried": self.programs_tried,
            "detail": self.detail,
        }


@dataclass
class FeedbackContext:
    """What feedback needs from the service: memory, and a model and sandbox to write programs."""

    memory: MemoryInterface
    backend: Backend
    sandbox: Sandbox | None
    thresholds: WriteBackThresholds = field(default_factory=WriteBackThresholds)
    trust_reviewers: bool = False
    correction_programs: int = 4


def record_feedback(
    ctx: FeedbackContext, record: AnswerRecord, correct: bool, true_answer: str | None
) -> FeedbackResult:
    """Apply one piece of feedback to memory; see the module docstring for the rules."""
    given = (true_answer or "").strip() or None
    if given is not None and record.answer is not None and same_answer(given, record.answer):
        correct, given = True, None  # "the right answer is <the answer>" is a "Correct"
    if correct and given is None:
        return _confirm(ctx, record)
    memory_id = record.memory_id
    if memory_id is not None:
        _reject(ctx.memory, memory_id)
    retired = tuple(_retire_vouching(ctx.memory, record))
    if given is None:
        detail = "marked wrong" + (
            f"; record #{memory_id} is no longer recalled" if memory_id else ""
        )
        if retired:
            detail += f"; recalled record(s) {_ids(retired)} that led to it are no longer recalled"
        action: Action = "rejected" if memory_id is not None else "noted"
        return FeedbackResult(record.id, action, memory_id, retired, detail=detail + ".")
    return _correct(ctx, record, given, retired)


def _ids(ids: tuple[int, ...]) -> str:
    return ", ".join(f"#{i}" for i in ids)


def _reject(memory: MemoryInterface, problem_id: int) -> None:
    try:
        memory.confirm(problem_id, False)
    except RecordNotFound:
        logger.info("feedback: record #%d was deleted meanwhile", problem_id)


def _retire_vouching(memory: MemoryInterface, record: AnswerRecord) -> list[int]:
    """Reject the recalled records shown to paths that agreed with a wrong answer."""
    retired = []
    for problem_id in record.vouching:
        try:
            if memory.get(problem_id).verified:
                memory.confirm(problem_id, False)
                retired.append(problem_id)
        except RecordNotFound:
            continue
    return retired


def _confirm(ctx: FeedbackContext, record: AnswerRecord) -> FeedbackResult:
    if record.memory_id is not None:
        ctx.memory.confirm(record.memory_id, True)
        return FeedbackResult(
            record.id,
            "confirmed",
            record.memory_id,
            detail=f"record #{record.memory_id} confirmed.",
        )
    if record.answer is None:
        return FeedbackResult(record.id, "noted", detail="there was no answer to store.")
    evidence = Evidence(
        question=record.question,
        answer=record.answer,
        path=record.path,
        principle=record.principle,
        domain=record.domain,
        **agreement_of(record.evidence),
        ground_truth=record.answer,
        ground_truth_match=True,
        source="feedback",
        model=ctx.backend.model_name,
    )
    return _store(ctx, record, evidence, "stored", "stored as confirmed")


def _store(
    ctx: FeedbackContext, record: AnswerRecord, evidence: Evidence, action: Action, why: str
) -> FeedbackResult:
    decision = decide(evidence, ctx.thresholds)
    if not isinstance(decision, VerifiedPath):
        return FeedbackResult(record.id, "noted", detail=f"not stored: {decision.reason}.")
    result = ctx.memory.add_problem(decision)
    if action == "stored" and result.action == "merged":
        action = "merged"
    return FeedbackResult(record.id, action, result.id, detail=f"{why} as record #{result.id}.")


def _correct(
    ctx: FeedbackContext, record: AnswerRecord, given: str, retired: tuple[int, ...]
) -> FeedbackResult:
    """Store ``given`` with a program that prints it, or as given when reviewers are trusted."""
    found, tried = _program_printing(ctx, record, given)
    note = f"; recalled record(s) {_ids(retired)} are no longer recalled" if retired else ""
    if found is not None:
        evidence = Evidence(
            question=record.question,
            answer=given,
            path=program_text(found),
            domain=record.domain,
            ground_truth=given,
            ground_truth_match=True,
            source="feedback:program",
            model=ctx.backend.model_name,
            program=found.code,
            program_output=found.stdout,
        )
        why = f"a program the service wrote prints {given}: stored"
        out = _store(ctx, record, evidence, "corrected", why)
    elif ctx.trust_reviewers:
        evidence = Evidence(
            question=record.question,
            answer=given,
            path=f"The right answer, as a reviewer gave it: {given}",
            domain=record.domain,
            ground_truth=given,
            ground_truth_match=True,
            source="feedback:reviewer",
            model=ctx.backend.model_name,
        )
        why = f"no program of {tried} printed {given}; this deployment trusts reviewers: stored"
        out = _store(ctx, record, evidence, "stored_as_given", why)
    else:
        out = FeedbackResult(
            record.id,
            "not_stored",
            detail=f"none of {tried} programs printed {given}, so it was not stored "
            "(a deployment that trusts its reviewers stores it as given)",
        )
    return FeedbackResult(
        record.id,
        out.action,
        out.memory_id,
        retired,
        programs_tried=tried,
        detail=out.detail.rstrip(".") + note + ".",
    )


def _program_printing(
    ctx: FeedbackContext, record: AnswerRecord, given: str
) -> tuple[Execution | None, int]:
    """The first of ``correction_programs`` programs that prints ``given``, and how many ran.

    Drawn from the plain prompt (no recalled record: a retired one must not write the fix).
    """
    if ctx.sandbox is None or ctx.correction_programs <= 0:
        return None, 0
    kind = record.domain if record.domain in get_args(TaskKind) else "math"
    task = cast(TaskKind, kind)
    cfg = named_config("pot-sc@4", task=task, n=ctx.correction_programs)
    (plain,) = program_prompts(record.question, task=task)
    sampler = Sampler(ctx.backend, cfg, [], program_prompts=[plain], sandbox=ctx.sandbox)
    for path in sampler.more_programs(plain, ctx.correction_programs, 0):
        if path.execution is not None and same_answer(path.answer, given):
            return path.execution, ctx.correction_programs
    return None, ctx.correction_programs
