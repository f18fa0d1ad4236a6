"""A sampler over scripted completions: the modes' draw order and seeds, no model."""

from __future__ import annotations

from collections.abc import Sequence

from agent.analogs import ProgramPrompt
from agent.backends.base import Backend, Message
from agent.config import GraphConfig
from agent.sampling import Sampler
from agent.sandbox import Sandbox, SandboxLimits
from tests.support.queue_backend import QueueBackend

MESSAGES: list[Message] = [{"role": "user", "content": "What is 3 + 4?"}]
SANDBOX = Sandbox(SandboxLimits(wall_seconds=5.0, cpu_seconds=1.0))
SEVEN, EIGHT, NINE = "print(7)\n", "print(8)\n", "print(9)\n"
PROSE_SEVEN = "3 + 4 = 7. The answer is \\boxed{7}."
PROSE_TEN = "3 + 4 = 10. The answer is \\boxed{10}."


def prompt(analog: str | None = None) -> ProgramPrompt:
    """A program prompt, showing ``analog`` (an id) or none."""
    content = f"Write a program (analog {analog})"
    return ProgramPrompt([{"role": "user", "content": content}], "What is 3 + 4?", analog)


def sampler(
    backend: QueueBackend,
    config: GraphConfig,
    prompts: Sequence[ProgramPrompt] = (),
    ensemble: dict[str, Backend] | None = None,
) -> Sampler:
    """A sampler for ``config``; program configurations get one plain prompt by default."""
    if config.paths != "prose" and not prompts:
        prompts = [prompt()]
    return Sampler(
        backend,
        config,
        MESSAGES,
        program_prompts=prompts,
        sandbox=SANDBOX if config.paths != "prose" else None,
        ensemble=ensemble,
    )
