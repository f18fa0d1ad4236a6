"""What kind of answer a question wants, read from the question itself.

A service cannot be told the data set a question came from, so the answer kind that
extraction, prompts and programs use (``agent.extract.TaskKind``) is inferred from the
question's own words: an explicit answer format first ("(Answer Yes or No)", options
"(A) ... (B) ...", "Respond only with the word ...", "Format your answer like ..."), then
whether it asks for a quantity at all. Rules, not a model: they cost microseconds, each one
says why it fired (the trace shows the reason), and a configuration that names its ``task``
skips them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.extract import TaskKind

__all__ = ["KindDecision", "answer_kind"]


@dataclass(frozen=True)
class KindDecision:
    """The answer kind of one question, and the cue that decided it."""

    kind: TaskKind
    reason: str


_YESNO = re.compile(
    r"\(\s*(?:answer|respond|reply)?\s*(?:with\s+)?\"?yes\"?\s*(?:or|/)\s*\"?no\"?\s*\)"
    r"|\b(?:answer|respond|reply)\s+(?:only\s+)?(?:with\s+)?\"?yes\"?\s+or\s+\"?no\b"
    r"|\b(?:true|yes)\s+or\s+(?:false|no)\s*\?",
    re.IGNORECASE,
)
# Two or more option lines: "(A) 12", "B) 14", "C. 16".
_OPTION_LINE = re.compile(r"^\s*\(?([A-E])[).:]\s+\S", re.MULTILINE)
_WORD_ANSWER = re.compile(
    r"\b(?:respond|answer|reply)\s+(?:only\s+)?with\s+(?:only\s+)?(?:the|a|one)\s+"
    r"(?:word|name|phrase)"
    r"|\bformat\s+your\s+answer\s+(?:like|as)\b"
    r"|\bprovide\s+only\s+the\s+(?:name|word)\b",
    re.IGNORECASE,
)
_QUANTITY = re.compile(
    r"\bhow\s+(?:many|much|long|far|old)\b|\bwhat\s+(?:number|percent|fraction)\b"
    r"|\bcalculate\b|\bcompute\b|\bsum\b|\btotal\b",
    re.IGNORECASE,
)
_DIGIT = re.compile(r"\d")


def answer_kind(question: str) -> KindDecision:
    """The answer kind ``question`` asks for: yes/no, a choice, a word or phrase, or math.

    Examples:
        >>> answer_kind("Does it follow?\\n(Answer Yes or No)").kind
        'yesno'
        >>> answer_kind("What is Ann to Bob? Respond only with the word that ...").kind
        'text'
        >>> answer_kind("Tom has 3 apples and buys 4. How many now?").kind
        'math'
    """
    if _YESNO.search(question):
        return KindDecision("yesno", "the question asks for yes or no")
    letters = {m.group(1).upper() for m in _OPTION_LINE.finditer(question)}
    if {"A", "B"} <= letters:
        return KindDecision("choice", f"the question lists options {', '.join(sorted(letters))}")
    if _WORD_ANSWER.search(question):
        return KindDecision("text", "the question asks for a word or phrase")
    if not _DIGIT.search(question) and not _QUANTITY.search(question):
        return KindDecision("text", "the question has no numbers and asks for no quantity")
    return KindDecision("math", "the question asks for a number")
