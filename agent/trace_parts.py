"""The trace's parts that nodes write into the state: sampling, verification and memory.

Each is a JSON object in the trace (``agent/trace.py``) and a field of ``AgentState``. The keys
a run writes depend on its configuration (program paths, arithmetic checks, a verifier, the
sampling mode), and the ``start`` node resets each part to ``{}``, so every key is optional
(``total=False``). This module imports nothing of the project, so the sampler, the state, the
events and the trace can all name these types.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict


class Route(TypedDict, total=False):
    """How this question was routed: its answer kind and the paths drawn for it, and why."""

    #: The answer kind extraction, prompts and programs used (math, choice, yesno, text).
    task: str
    #: Why that kind: the cue in the question, or "set by the configuration".
    task_reason: str
    #: How the paths are drawn, when routing changed the configuration's (agent/routing.py).
    plan: str
    #: Why these paths (routing on), or why the configuration's own stand.
    reason: str


class ThinkDecision(TypedDict):
    """Think-on-demand: whether the first path's answer stands, and why."""

    answer_now: bool
    reason: str


class SamplingLog(TypedDict, total=False):
    """How sampling went: the sampler's decisions (``Draws.log``) and the sample node's counts."""

    think: ThinkDecision
    deadline_hit: bool
    #: Why sampling stopped (program-first).
    stop: str
    first_round: bool
    stopped_early: bool
    weak_agreement: str
    #: Adaptive sampling's rounds.
    rounds: int
    #: CoT-decoding's first tokens, one per branch.
    branches: list[str]
    paths: int
    calls: int
    #: The sandbox's layers, when programs ran (``Sandbox.describe``).
    sandbox: str


class SamplingState(SamplingLog, total=False):
    """``SamplingLog`` as the state holds it: with the question's start time (not traced)."""

    started: float


class ProgramCounts(TypedDict):
    """How the program paths went: ran, answered, drawn, agreeing with the verdict."""

    ran: int
    answered: int
    total: int
    agreeing: int


class CheckCounts(TypedDict):
    """The winning prose path's arithmetic checks."""

    total: int
    passed: int
    failed: list[str]


class Verification(TypedDict, total=False):
    """The verify step's evidence and whether the verdict counts as verified."""

    vote_share: float
    agreeing_paths: int
    total_paths: int
    abstentions: int
    confidence: float | None
    winning_path: int | None
    programs: ProgramCounts
    independent_agreement: bool
    checks: CheckCounts
    #: The generative verifier's P("Yes") per candidate answer.
    verifier_p_yes: dict[str, float | None]
    #: Best-of-n: the candidate the verifier likes most, which replaces the vote's answer.
    answer: str
    verified: bool
    reason: str


class Confirmation(TypedDict):
    """Programs drawn blind to confirm an answer before storing it."""

    drawn: int
    #: "program" or "prose", per drawn path.
    kinds: NotRequired[list[str]]
    answers: list[str | None]
    agree: int
    prompt_tokens: int
    completion_tokens: int


class RecallLog(TypedDict):
    """Recalled records counted after a verified answer: which led to it, which astray."""

    won: list[int]
    lost: list[int]
    #: Records that have now lost too often: no longer verified, so no longer recalled.
    demoted: list[int]


class MemoryLog(TypedDict, total=False):
    """What write-back did: stored (with the record's id and action) or not, and why."""

    stored: bool
    id: int
    action: str
    reason: str
    pending: bool
    confirmation: Confirmation
    recalls: RecallLog
