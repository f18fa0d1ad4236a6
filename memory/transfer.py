"""JSON Lines export and import of a memory store.

One object per line. Principle lines come first::

    {"kind": "principle", "principle": "...", "domain": "rates", "source": "seed", ...}

then problem lines (``kind`` may be left out when importing)::

    {"kind": "problem", "question": "...", "answer": "42", "path": "...", "verified": true,
     "evidence": {...}, "principles": ["..."], "source": "...", "program": "print(42)",
     "program_output": "42", ..., "any_other_field": 1}

``program`` and ``program_output`` are null (or left out) for problems solved in prose only.

Fields the schema does not know are kept in the row's ``extra`` JSON and written back at the
top level on export, so an export -> import round trip loses nothing. Vectors are not
exported: the importing store embeds with its own model.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from memory.records import (
    ImportLineError,
    ImportReport,
    content_hash,
    normalize_answer,
    normalize_question,
)
from memory.rows import check_size, now_iso

logger = logging.getLogger(__name__)

#: The principles shipped with the package (``reason memory seed``).
SEED_PRINCIPLES = Path(__file__).with_name("seed") / "principles.jsonl"

_BATCH = 256
_PROBLEM_FIELDS = (
    "id",
    "question",
    "answer",
    "path",
    "domain",
    "principle",
    "verified",
    "verified_by",
    "evidence",
    "ground_truth",
    "source",
    "model",
    "created_at",
    "use_count",
    "success_count",
    "program",
    "program_output",
)
_KNOWN = {*_PROBLEM_FIELDS, "kind", "principles", "extra", "content_hash"}
_KNOWN |= {"question_norm", "answer_norm", "embedding"}


def read_seed(path: Path = SEED_PRINCIPLES) -> list[tuple[str, str | None]]:
    """The ``(text, domain)`` principles of a JSONL file of ``{"principle", "domain"}``."""
    lines = path.read_text("utf-8").splitlines()
    items = [json.loads(line) for line in lines if line.strip()]
    return [(item["principle"], item.get("domain")) for item in items]


def write_export(
    path: Path,
    principles: Iterable[dict[str, Any]],
    problems: Iterable[dict[str, Any]],
    links: Iterable[tuple[int, str]],
) -> int:
    """Write exported rows as JSON lines; both stores export through this one writer.

    Args:
        path: Output file (overwritten).
        principles: ``principles`` rows (``text``, ``domain``, ``source``, ``created_at``).
        problems: ``problems`` rows; ``evidence`` and ``extra`` as JSON text.
        links: ``(problem id, principle text)`` pairs, in the order to list them.

    Returns:
        The number of lines written.
    """
    linked: dict[int, list[str]] = {}
    for problem_id, text in links:
        linked.setdefault(int(problem_id), []).append(text)
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        for row in principles:
            line = {
                "kind": "principle",
                "principle": row["text"],
                "domain": row["domain"],
                "source": row["source"],
                "created_at": row["created_at"],
            }
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
            count += 1
        for row in problems:
            line = {"kind": "problem", **{name: row[name] for name in _PROBLEM_FIELDS}}
            line["verified"] = bool(row["verified"])
            line["evidence"] = json.loads(row["evidence"] or "{}")
            line["principles"] = linked.get(int(row["id"]), [])
            for key, value in json.loads(row["extra"] or "{}").items():
                line.setdefault(key, value)
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
            count += 1
    logger.info("exported %d lines to %s", count, path)
    return count


def _text(item: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = item.get(name)
    if value is None:
        if required:
            raise ValueError(f"missing field {name!r}")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"field {name!r} must be a string")
    text = str(value)
    if required and not text.strip():
        raise ValueError(f"field {name!r} is empty")
    return text


def _int(item: dict[str, Any], name: str, default: int) -> int:
    value = item.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"field {name!r} must be a non-negative integer")
    return value


def problem_row(item: dict[str, Any], max_chars: int) -> tuple[dict[str, Any], list[str]]:
    """Validate one imported problem object and turn it into a table row.

    Args:
        item: The parsed JSON object.
        max_chars: Largest accepted text.

    Returns:
        The row (without embedding) and the texts of its principles.

    Raises:
        ValueError: A field is missing or has the wrong type.
        RecordTooLarge: A text is over ``max_chars``.
    """
    question = _text(item, "question", required=True)
    answer = _text(item, "answer", required=True)
    assert question is not None and answer is not None  # required=True guarantees it
    path = _text(item, "path", required=False) or ""
    program = _text(item, "program", required=False)
    program_output = _text(item, "program_output", required=False)
    principle = _text(item, "principle", required=False)
    principles = item.get("principles", [])
    if not isinstance(principles, list) or not all(isinstance(p, str) for p in principles):
        raise ValueError("field 'principles' must be a list of strings")
    principles = [p for p in principles if p.strip()]
    if principle and principle not in principles:
        principles.append(principle)
    for name, value in [
        ("question", question),
        ("path", path),
        ("program", program or ""),
        ("program_output", program_output or ""),
        *[("principle", p) for p in principles],
    ]:
        check_size(name, value, max_chars)
    verified = item.get("verified", False)
    if not isinstance(verified, bool):
        raise ValueError("field 'verified' must be true or false")
    evidence = item.get("evidence", {})
    if not isinstance(evidence, dict):
        raise ValueError("field 'evidence' must be an object")
    extra = {k: v for k, v in item.items() if k not in _KNOWN}
    if isinstance(item.get("extra"), dict):
        extra = {**item["extra"], **extra}
    row = {
        "question": question,
        "question_norm": normalize_question(question),
        "domain": _text(item, "domain", required=False),
        "answer": answer,
        "answer_norm": normalize_answer(answer),
        "path": path,
        "principle": principle,
        "verified": int(verified),
        "verified_by": _text(item, "verified_by", required=False)
        or ("import" if verified else None),
        "evidence": json.dumps(evidence),
        "ground_truth": _text(item, "ground_truth", required=False),
        "source": _text(item, "source", required=False),
        "model": _text(item, "model", required=False),
        "created_at": _text(item, "created_at", required=False) or now_iso(),
        "use_count": _int(item, "use_count", 0),
        "success_count": _int(item, "success_count", 0),
        "content_hash": content_hash(question, answer),
        "extra": json.dumps(extra, ensure_ascii=False),
        "program": program,
        "program_output": program_output,
    }
    return row, principles


#: ``(text, domain, source) -> principles added (0 or 1)``.
AddPrinciple = Callable[[str, "str | None", "str | None"], int]
#: ``(rows, principle texts of each row) -> new id of each row, None for a known one``.
InsertRows = Callable[[Sequence[dict[str, Any]], Sequence[list[str]]], list["int | None"]]


def read_jsonl(
    path: Path, max_chars: int, add_principle: AddPrinciple, insert: InsertRows
) -> ImportReport:
    """Parse and validate an import file, handing its rows to a store in batches.

    Both stores import through this one reader, so they accept and reject the same lines.

    Args:
        path: Input file.
        max_chars: Largest accepted text.
        add_principle: Stores one principle line.
        insert: Stores a batch of problem rows (from ``problem_row``).

    Returns:
        Rows added, exact duplicates skipped, principles added and per-line errors.
    """
    report = ImportReport()
    pending: list[tuple[int, dict[str, Any], list[str]]] = []

    def flush() -> None:
        if not pending:
            return
        ids = insert([p[1] for p in pending], [p[2] for p in pending])
        report.added += sum(1 for i in ids if i is not None)
        report.skipped += sum(1 for i in ids if i is None)
        pending.clear()

    with open(path, encoding="utf-8") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
                if not isinstance(item, dict):
                    raise ValueError("line is not a JSON object")
                kind = item.get("kind", "problem")
                if kind == "principle":
                    text = _text(item, "principle", required=True)
                    assert text is not None
                    check_size("principle", text, max_chars)
                    report.principles += add_principle(
                        text,
                        _text(item, "domain", required=False),
                        _text(item, "source", required=False),
                    )
                elif kind == "problem":
                    row, principles = problem_row(item, max_chars)
                    pending.append((number, row, principles))
                else:
                    raise ValueError(f"unknown kind {kind!r}")
            except ValueError as ex:  # json.JSONDecodeError and RecordTooLarge are ValueErrors
                report.errors.append(ImportLineError(number, str(ex)))
                continue
            if len(pending) >= _BATCH:
                flush()
    flush()
    logger.info(
        "imported %s: added=%d skipped=%d principles=%d errors=%d",
        path,
        report.added,
        report.skipped,
        report.principles,
        len(report.errors),
    )
    return report
