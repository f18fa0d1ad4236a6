"""Focus a recalled fact list on the question: only the facts about what it mentions.

A principle can be a table of facts ("A crab has 10 legs. A spider has 8 legs. ...").
Shown whole, a small model copies the table into its program (~300 tokens) and still looks
up the wrong row; shown only the rows about the question's own things, it multiplies. A
principle of at least ``MIN_FACTS`` sentences is a fact list: its first sentence (what the
facts are) and its last (the rule that uses them) always stay, and a sentence between them
stays when one of its key words names something in the question. Key words are the words
that tell the facts apart: a word found in more than half of the facts ("has", "legs") is
not one. Words match on a simple stem, so "deers" finds "deer" and "butterflies"
"butterfly"; irregular plurals belong in the fact itself ("A woodlouse (woodlice) ...").
"""

from __future__ import annotations

import re
from collections import Counter

__all__ = ["MIN_FACTS", "focus"]

#: Sentences a principle needs (heading and rule included) to be treated as a fact list.
MIN_FACTS = 6

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_WORD = re.compile(r"[a-z]+")


def _stem(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def _stems(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if len(w) > 2}


def focus(principle: str, question: str) -> str:
    """``principle`` with only the facts about what ``question`` mentions (see the module).

    A principle with fewer than ``MIN_FACTS`` sentences, or whose facts the question never
    names, comes back unchanged.
    """
    sentences = _SENTENCE.split(principle.strip())
    if len(sentences) < MIN_FACTS:
        return principle
    head, facts, rule = sentences[0], sentences[1:-1], sentences[-1]
    stems = [_stems(f) for f in facts]
    common = Counter(s for fact in stems for s in fact)
    asked = _stems(question)
    kept = [
        fact
        for fact, words in zip(facts, stems, strict=True)
        if any(common[w] * 2 <= len(facts) and w in asked for w in words)
    ]
    return " ".join([head, *kept, rule]) if kept else principle
