"""Progress events: what the graph tells a way in while it works, as typed objects.

Nodes emit them on LangGraph's custom stream; ``Reasoner.solve`` hands them to the caller's
``on_event``. Every way in needs the same two things from an event: its JSON (the REST
stream's ``x_event``, the web page) and one human line (the stream's
``reasoning_content``, Slack's progress message, the CLI's stderr). Both live here, once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from agent.trace_parts import Confirmation, Verification


@dataclass(frozen=True)
class Event:
    """Base of every event; ``kind`` is the JSON ``type``."""

    kind: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        """The event as JSON: its fields and ``type``."""
        return {"type": self.kind, **asdict(self)}

    def text(self) -> str | None:
        """One line for a person, or None when the event is not worth showing."""
        return None


@dataclass(frozen=True)
class NodeStart(Event):
    """A graph step began."""

    kind: ClassVar[str] = "node_start"
    node: str


@dataclass(frozen=True)
class NodeEnd(Event):
    """A graph step ended, after ``seconds``."""

    kind: ClassVar[str] = "node_end"
    node: str
    seconds: float


@dataclass(frozen=True)
class PrincipleFound(Event):
    """Step-back named the principle that applies."""

    kind: ClassVar[str] = "principle"
    principle: str | None

    def text(self) -> str | None:
        """The principle (nothing when the model named none)."""
        return f"Principle: {self.principle}" if self.principle else None


@dataclass(frozen=True)
class Recalled(Event):
    """Retrieval's result: analog and principle ids, and each hit's score and text."""

    kind: ClassVar[str] = "retrieved"
    analogs: list[int]
    principles: list[int]
    analog_hits: list[dict[str, Any]] = field(default_factory=list)
    principle_hits: list[dict[str, Any]] = field(default_factory=list)

    def text(self) -> str:
        """How much was recalled."""
        return (
            f"Recalled {len(self.analogs)} solved problem(s) "
            f"and {len(self.principles)} principle(s)"
        )


@dataclass(frozen=True)
class PathDone(Event):
    """One reasoning path finished (sent in draw order, before the ``paths`` summary)."""

    kind: ClassVar[str] = "path"
    index: int
    answer: str | None
    path_kind: str
    completion_tokens: int
    program_output: str | None = None
    program_error: str | None = None
    analog: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON with the path's kind as ``kind`` (``type`` is the event's)."""
        out = super().to_dict()
        out["kind"] = out.pop("path_kind")
        return out


@dataclass(frozen=True)
class PathsProgress(Event):
    """How many of the paths are drawn, and their answers so far."""

    kind: ClassVar[str] = "paths"
    done: int
    of: int
    answers: list[str | None]
    kinds: list[str]

    def text(self) -> str:
        """Paths done and their answers ('-' for an abstention)."""
        answers = ", ".join("-" if a is None else str(a) for a in self.answers)
        return f"Paths {self.done} of {self.of} done: {answers}"


@dataclass(frozen=True)
class Sampled(Event):
    """Sampling ended: how many paths, and whether (and why) it stopped early."""

    kind: ClassVar[str] = "sampled"
    paths: int
    stopped_early: bool
    reason: str | None = None

    def text(self) -> str | None:
        """Said only when sampling stopped before its budget."""
        if not self.stopped_early:
            return None
        return f"Stopped early after {self.paths} path(s)" + (
            f": {self.reason}" if self.reason else ""
        )


@dataclass(frozen=True)
class Voted(Event):
    """The aggregation's verdict: the answer, votes per answer, its share."""

    kind: ClassVar[str] = "vote"
    answer: str | None
    votes: dict[str, float]
    share: float
    paths: int

    def text(self) -> str:
        """The winner and its share."""
        return f"Vote: {self.answer} ({self.share:.0%} of {self.paths} paths)"


@dataclass(frozen=True)
class Verified(Event):
    """The verification evidence (vote share, agreeing paths, checks, ``verified``)."""

    kind: ClassVar[str] = "verified"
    evidence: Verification

    def to_dict(self) -> dict[str, Any]:
        """The evidence's fields beside ``type``."""
        return {"type": self.kind, **self.evidence}

    def text(self) -> str:
        """Verified or not, and why."""
        verdict = "Verified" if self.evidence.get("verified") else "Not verified"
        reason = self.evidence.get("reason")
        return verdict + (f": {reason}" if reason else "")


@dataclass(frozen=True)
class MemoryOutcome(Event):
    """What write-back did: stored (with the record's id and action) or not, and why."""

    kind: ClassVar[str] = "memory"
    stored: bool
    id: int | None = None
    action: str | None = None
    reason: str | None = None
    pending: bool = False
    """Confirmation draws run after the answer; memory decides then (``Reasoner.after_answer``)."""
    confirmation: Confirmation | None = None
    """Programs drawn blind to confirm the answer before storing it: drawn, answers, agree."""

    def text(self) -> str | None:
        """Said only when something was stored."""
        return f"Stored in memory as #{self.id} ({self.action})" if self.stored else None
