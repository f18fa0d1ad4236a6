"""Plain records the memory store returns, and the text normalisation it keys rows by."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Generic, Literal, Self, TypeVar

logger = logging.getLogger(__name__)

AddAction = Literal["added", "merged"]

_SPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"^[-+]?\d+(\.\d+)?$")


def normalize_question(text: str) -> str:
    """Lower-case, NFKC-normalise and collapse whitespace (used for hashing and display)."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip().lower()


def normalize_answer(text: str) -> str:
    """Canonical form of an answer so that ``"1,000"``, ``"$1000"`` and ``"1000.0"`` agree.

    Args:
        text: A final answer as extracted from a reasoning path.

    Returns:
        The lower-cased answer without currency signs, thousands separators or a trailing
        ``.0``; non-numeric answers are only whitespace-normalised.
    """
    value = normalize_question(text).strip(" .")
    compact = value.replace(",", "").replace("$", "").replace(" ", "")
    if _NUMBER.match(compact):
        if "." in compact:
            compact = compact.rstrip("0").rstrip(".")
        return compact.lstrip("+") or "0"
    return value


def content_hash(question: str, answer: str) -> str:
    """Key of a problem row: the same question with the same answer is the same memory."""
    payload = f"{normalize_question(question)}\n{normalize_answer(answer)}"
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def text_hash(text: str) -> str:
    """Key of a principle row (its normalised text)."""
    return hashlib.sha256(normalize_question(text).encode("utf-8")).hexdigest()


def _json_object(text: str | None) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(text or "{}")
    return loaded


def _stored(value: Any) -> Any:
    return value


class _Fields:
    """``from_row`` and ``to_dict`` for the records below (dataclasses)."""

    __dataclass_fields__: ClassVar[dict[str, Any]]
    #: How a column's stored value becomes the field's; other columns are taken as stored.
    _CONVERT: ClassVar[dict[str, Callable[[Any], Any]]] = {"id": int}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        """Build a record from a table row (a column left out keeps the field's default)."""
        names = [f.name for f in fields(cls)]
        values = {n: cls._CONVERT.get(n, _stored)(row[n]) for n in names if n in row}
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class ProblemRecord(_Fields):
    """One stored problem with its verified reasoning path.

    ``program`` is the code of an executed program that printed the answer and
    ``program_output`` what it printed; both are None for rows solved in prose only.
    """

    id: int
    question: str
    answer: str
    path: str
    domain: str | None
    principle: str | None
    verified: bool
    verified_by: str | None
    evidence: dict[str, Any]
    ground_truth: str | None
    source: str | None
    model: str | None
    created_at: str
    use_count: int
    success_count: int
    content_hash: str
    extra: dict[str, Any] = field(default_factory=dict)
    program: str | None = None
    program_output: str | None = None

    _CONVERT: ClassVar[dict[str, Callable[[Any], Any]]] = {
        "id": int,
        "verified": bool,
        "evidence": _json_object,
        "use_count": int,
        "success_count": int,
        "extra": _json_object,
    }


@dataclass(frozen=True)
class PrincipleRecord(_Fields):
    """One stored principle (a short rule that solved problems rely on)."""

    id: int
    text: str
    domain: str | None
    source: str | None
    created_at: str


@dataclass(frozen=True)
class AddResult:
    """Outcome of adding a problem: a new row, or counts merged into a near-duplicate."""

    id: int
    action: AddAction
    similarity: float | None = None


R = TypeVar("R", "ProblemRecord", "PrincipleRecord")


@dataclass(frozen=True)
class Hit(Generic[R]):
    """A record found by search with its cosine similarity to the query."""

    record: R
    score: float


#: A problem found by search.
ProblemHit = Hit[ProblemRecord]
#: A principle found by search.
PrincipleHit = Hit[PrincipleRecord]


@dataclass(frozen=True)
class ImportLineError:
    """One JSONL line that could not be imported."""

    line: int
    message: str


@dataclass
class ImportReport:
    """What an import did: rows added, exact duplicates skipped, and per-line errors."""

    added: int = 0
    skipped: int = 0
    principles: int = 0
    errors: list[ImportLineError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every line was imported or skipped as a duplicate."""
        return not self.errors


@dataclass(frozen=True)
class StoreStats(_Fields):
    """Counts describing a store."""

    problems: int
    verified: int
    rejected: int
    principles: int
    by_domain: dict[str, int]
    embedding_model: str
    dim: int
    index_kind: str
    indexed_problems: int
    indexed_principles: int
    db_path: str
    db_bytes: int
