"""Program-aided paths: the model writes a short Python program, the sandbox runs it.

Program-aided reasoning (Gao et al., 2023, "PAL"; Chen et al., 2023, "Program of Thoughts")
moves the arithmetic out of the model: the coder model writes code that computes the answer
and prints it, and the printed result, normalized like any answer, is the path's answer.

The reply is *forced* to open a code block (``PROGRAM_PREFIX``) and stops at the closing
fence: asked in the system prompt alone, the 1.5B coder model mostly replies with a bare
number. A program that fails, times out or prints nothing abstains; its error stays in the
path for the trace. The program's output is data: it is only ever parsed for an answer,
never sent back to the model as an instruction.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent import telemetry
from agent.backends.base import Completion
from agent.extract import TaskKind, extract_answer
from agent.paths import ReasoningPath
from agent.sandbox import ProgramRun, Sandbox

__all__ = [
    "PROGRAM_PREFIX",
    "PROGRAM_STOP",
    "Execution",
    "code_of",
    "program_path",
    "program_text",
]

PROGRAM_PREFIX = "```python\n"
# The closing fence ends the program; a model that starts a new problem ends it too.
PROGRAM_STOP: tuple[str, ...] = ("```", "\n\nProblem:", "\n\nQuestion:")


@dataclass(frozen=True)
class Execution:
    """A program path's code and what running it gave.

    Attributes:
        code: The program as run (the fences removed).
        stdout: What it printed (truncated to the sandbox's output limit).
        error: One line saying why it failed, or None.
        status: ``ok``, ``error``, ``timeout``, ``memory``, ``output_limit`` or ``no_output``.
        seconds: Wall time of the run.
    """

    code: str
    stdout: str
    error: str | None
    status: str
    seconds: float

    @classmethod
    def of(cls, code: str, run: ProgramRun) -> Execution:
        """Keep what the trace and memory need from a sandbox run."""
        return cls(code, run.stdout, run.error, run.status, run.seconds)


def code_of(text: str) -> str:
    """The program inside a completion that started with ``PROGRAM_PREFIX``.

    The first line loses its leading blanks: after the forced prefix the model's first token
    often carries a space (" total = ..."), which Python reads as an unexpected indent.
    """
    code = text.removeprefix(PROGRAM_PREFIX)
    return code.split("```", 1)[0].strip("\n").lstrip(" \t")


def program_text(execution: Execution) -> str:
    """The path as a reader sees it: the program, then what it printed (or its error)."""
    shown = execution.stdout.strip() if execution.status == "ok" else f"error: {execution.error}"
    return f"{PROGRAM_PREFIX}{execution.code}\n```\nOutput: {shown}"


def program_path(
    c: Completion,
    index: int,
    sandbox: Sandbox,
    *,
    task: TaskKind,
    weight: float = 1.0,
    model: str | None = None,
) -> ReasoningPath:
    """Run a program completion in the sandbox; its printed result is the path's answer.

    Args:
        c: The completion (its text starts with ``PROGRAM_PREFIX``).
        index: Draw order among the question's paths.
        sandbox: Where the program runs.
        task: Answer kind used to read the printed output.
        weight: Vote weight of the path.
        model: Model name; defaults to ``c.model``.

    Returns:
        A path of kind ``program``; it abstains when the program did not print an answer.
    """
    code = code_of(c.text)
    with telemetry.span("sandbox.run", **{"reason.program.chars": len(code)}) as span:
        execution = Execution.of(code, sandbox.run(code))
        if span is not None:
            span.set_attributes(
                {
                    "reason.program.status": execution.status,
                    "reason.program.seconds": round(execution.seconds, 4),
                }
            )
    found = extract_answer(execution.stdout, task) if execution.status == "ok" else None
    if execution.status == "ok" and found is None:
        execution = Execution(
            code, execution.stdout, "no answer in the output", "no_answer", execution.seconds
        )
    return ReasoningPath(
        index=index,
        text=program_text(execution),
        answer=found.canonical if found else None,
        raw_answer=found.raw if found else None,
        seed=c.seed,
        completion_tokens=c.completion_tokens,
        finish_reason=c.finish_reason,
        model=c.model if model is None else model,
        weight=weight,
        kind="program",
        execution=execution,
    )
