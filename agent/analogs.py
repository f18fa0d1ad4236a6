"""Recalled analogs as worked examples: one program prompt per analog, and copy detection.

A verified program for a problem of the same kind is the strongest hint memory can give a
small coder model: it shows the method, and the model only has to bind the new question's
numbers. Two risks come with it, and this module handles both:

- *Shared bias.* Programs drawn from one prompt that shows one analog are not independent:
  when they agree, they may agree on the analog's mistake. So each program of a round is
  shown a different analog (``program_prompts`` with ``rotate``; with a single analog, it
  alternates with the plain prompt that shows none), and early stopping counts agreement
  between programs that saw different analogs (``independent_support``).
- *Copying.* A small model sometimes reuses the analog's numbers instead of the question's.
  ``copied_numbers`` finds the numbers a program took from its analog that the question does
  not contain; the trace reports them and the evaluation counts them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agent.backends.base import Message
from agent.checks import COMMON_CONSTANTS, numbers_in
from agent.extract import TaskKind, same_answer
from agent.paths import ReasoningPath
from agent.programs import PROGRAM_PREFIX
from agent.prompts import build_program_messages, shows_program

__all__ = [
    "ProgramPrompt",
    "copied_numbers",
    "independent_support",
    "program_prompts",
    "prose_analogs",
]


@dataclass(frozen=True)
class ProgramPrompt:
    """The messages one program path is drawn from, and the analog they show.

    Attributes:
        messages: Chat messages (instruction, worked example(s), question).
        question: The question asked.
        analog: Id of the recalled analog shown as the worked example (ids joined by commas
            when several are shown at once); None when none is.
        analog_question: That analog's question, for copy detection (one analog only).
    """

    messages: list[Message]
    question: str = ""
    analog: str | None = None
    analog_question: str | None = None

    def copied(self, code: str) -> tuple[str, ...]:
        """Numbers ``code`` took from the analog's question and not from the question."""
        return tuple(copied_numbers(code, self.question, self.analog_question))


def program_prompts(
    question: str,
    *,
    task: TaskKind,
    analogs: Sequence[dict[str, Any]] = (),
    history: Sequence[Message] = (),
    rotate: bool = True,
    principles: Sequence[str] = (),
) -> list[ProgramPrompt]:
    """The prompts program paths are drawn from, one per recalled program when ``rotate``.

    Args:
        question: The question.
        task: Answer kind (what the program prints).
        analogs: Recalled analogs, most similar first; those with a program are examples.
        history: Earlier turns of the conversation.
        rotate: One prompt per analog with a program, each showing that analog alone
            (program ``i`` of a question uses prompt ``i mod len``), and the plain prompt
            beside a single analog; else one prompt with all.
        principles: Recalled principles, shown in every prompt.

    Returns:
        At least one prompt; a single one without examples when no analog has a program.
    """
    shown = [a for a in analogs if shows_program(a)]
    if rotate and len(shown) == 1:
        # One analog: its prompt and the plain one alternate, so two programs that agree
        # come from different evidence (the example, and the question alone).
        plain = build_program_messages(question, task=task, history=history, principles=principles)
        return [
            ProgramPrompt(
                build_program_messages(
                    question, task=task, analogs=shown, history=history, principles=principles
                ),
                question,
                str(shown[0]["id"]),
                shown[0]["question"],
            ),
            ProgramPrompt(plain, question),
        ]
    if rotate and len(shown) > 1:
        return [
            ProgramPrompt(
                build_program_messages(
                    question, task=task, analogs=[a], history=history, principles=principles
                ),
                question,
                analog=str(a["id"]),
                analog_question=a["question"],
            )
            for a in shown
        ]
    messages = build_program_messages(
        question, task=task, analogs=shown, history=history, principles=principles
    )
    if len(shown) == 1:
        return [ProgramPrompt(messages, question, str(shown[0]["id"]), shown[0]["question"])]
    return [ProgramPrompt(messages, question, ",".join(str(a["id"]) for a in shown) or None)]


def prose_analogs(analogs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The analogs whose stored path is prose: a program-only record is no prose example."""
    return [a for a in analogs if not (a.get("path") or "").lstrip().startswith(PROGRAM_PREFIX)]


def independent_support(members: Sequence[ReasoningPath]) -> int:
    """How many of ``members`` (paths agreeing on one answer) count as independent.

    Programs shown the same analog share its bias, so they count once per analog (and
    those beside them drawn from the plain prompt count once together); when no path saw
    an analog, each counts, as sampled paths do.
    """
    analogs = [p.analog for p in members]
    if all(a is None for a in analogs):
        return len(members)
    return len(set(analogs))


def recall_outcomes(paths: Sequence[ReasoningPath], answer: str) -> list[tuple[int, bool]]:
    """``(record id, won)`` for each recalled record shown to paths that answered.

    Won: every answered path shown the record reached ``answer`` (the verified answer);
    lost: none did. A record whose paths split says nothing either way and is left out.
    """
    shown: dict[int, list[bool]] = {}
    for p in paths:
        if not p.analog or p.answer is None:
            continue
        for part in p.analog.split(","):
            if part.strip().isdigit():
                shown.setdefault(int(part), []).append(same_answer(p.answer, answer))
    return [(rid, all(hits)) for rid, hits in shown.items() if all(hits) or not any(hits)]


def copied_numbers(code: str, question: str, analog_question: str | None) -> list[str]:
    """Numbers in ``code`` that appear in the analog's question but not in ``question``.

    Small and common constants (0-10, 12, 24, 60, 100, ...) are never counted: a program
    writes them for units and fractions whichever question it solves.

    Returns:
        The copied numbers, sorted; empty when there is no analog or nothing was copied.
    """
    if not analog_question:
        return []
    copied = numbers_in(code) & numbers_in(analog_question)
    copied -= numbers_in(question) | COMMON_CONSTANTS
    return sorted(copied, key=float)
