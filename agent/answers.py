"""Answer records: what the service remembers of each answer it gave, for feedback by id.

Feedback ("Correct", "Wrong", "the right answer is ...") names an answer by its id, often
minutes after the answer was given. ``AnswerLog`` is where those records live between the two.
``RecentAnswers`` keeps the last few thousand in process memory (one replica, the default);
a store shared by replicas can implement the same protocol, so feedback reaches whichever
replica receives it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol


@dataclass(frozen=True)
class AnswerRecord:
    """One given answer, as feedback needs it.

    Attributes:
        id: The answer id given to the user (``ans-...``).
        question: The question as answered.
        answer: The final answer, or None when no path produced one.
        path: The winning reasoning path's text (what would be stored as the worked example).
        principle: The step-back principle used, if any.
        memory_id: The memory record this answer was stored as (or merged into), if any.
        evidence: The verify step's record (vote share, agreeing paths, checks...).
        recalled: Ids of the memory records shown to the model as analogs for this answer.
        vouching: Those of them shown to a path that reached this answer (feedback "Wrong"
            retires them).
        config: The configuration that answered.
        domain: The task tag the answer was stored under, if any.
    """

    id: str
    question: str
    answer: str | None
    path: str = ""
    principle: str | None = None
    memory_id: int | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    recalled: tuple[int, ...] = ()
    vouching: tuple[int, ...] = ()
    config: str = ""
    domain: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (for a store that keeps records as documents)."""
        out = asdict(self)
        out["recalled"] = list(self.recalled)
        out["vouching"] = list(self.vouching)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AnswerRecord:
        """The record ``to_json`` wrote."""
        return cls(
            **{
                **data,
                "recalled": tuple(data.get("recalled") or ()),
                "vouching": tuple(data.get("vouching") or ()),
            }
        )


class AnswerLog(Protocol):
    """Where answer records wait for feedback."""

    def put(self, record: AnswerRecord) -> None:
        """Keep a record (replacing one with the same id)."""

    def get(self, answer_id: str) -> AnswerRecord | None:
        """The record of an answer id, or None when unknown or expired."""

    def set_memory_id(self, answer_id: str, memory_id: int | None) -> None:
        """Note that an answer is now stored as ``memory_id`` (None: no longer stored)."""


class RecentAnswers:
    """The last ``capacity`` answer records, in this process (lost on restart)."""

    def __init__(self, capacity: int = 2000) -> None:
        """Keep at most ``capacity`` records; the oldest go first."""
        self.capacity = capacity
        self._records: OrderedDict[str, AnswerRecord] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, record: AnswerRecord) -> None:
        """Keep a record, dropping the oldest beyond capacity."""
        with self._lock:
            self._records[record.id] = record
            self._records.move_to_end(record.id)
            while len(self._records) > self.capacity:
                self._records.popitem(last=False)

    def get(self, answer_id: str) -> AnswerRecord | None:
        """The record, or None."""
        with self._lock:
            return self._records.get(answer_id)

    def set_memory_id(self, answer_id: str, memory_id: int | None) -> None:
        """Update the record's memory id (no-op when it has expired)."""
        with self._lock:
            known = self._records.get(answer_id)
            if known is not None:
                self._records[answer_id] = replace(known, memory_id=memory_id)
