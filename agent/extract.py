r"""Final-answer extraction, normalisation and equivalence.

``extract_answer(text, kind)`` finds the final answer of a reasoning text, in this order:
the last ``\boxed{...}``; the last "final answer: X" / "the answer is X" / "answer: X" /
"#### X"; then a fallback per task kind (math: the last number; choice: the last "(B)";
yes/no: the last yes/no on the final line; text: a final line of at most 12 words). It
returns the answer as written (``raw``), a canonical string and the answer's character
span, or None to abstain. Text answers keep their spelling ("mother-in-law") and vote on
a key without punctuation or articles.

Canonical numbers are exact where the writer meant them exactly: "1,234.50", "$1234.5" and
"1234.50 dollars" all become "1234.5"; "3/4", "\frac{3}{4}" and "0.75" all become "0.75"
(non-terminating fractions stay "p/q"). Percent signs are dropped ("25%" -> "25"), the
convention of GSM8K and MATH graders. A decimal loses float noise (``agent.numeric.denoise``):
"405.99999999999994" becomes "406" and "30.799999999999997" becomes "30.8".

``same_answer(a, b)`` decides equivalence for strategies: equal canonical keys first; two plain
numbers are then equal within a relative tolerance, or when one is a decimal of 8 or more
digits that rounds the other ("1/3" = "0.33333333"; ``agent.numeric.close``); only
expressions that are not plain numbers (``\sqrt{2}/2`` vs ``\frac{\sqrt{2}}{2}``) go to
math-verify's symbolic check. Parses and verdicts are cached because a sympy comparison costs
milliseconds while plain numbers cost microseconds.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any, Literal

from agent.numeric import close, denoise, format_number

__all__ = [
    "Extracted",
    "TaskKind",
    "canonical_key",
    "extract_answer",
    "format_number",
    "normalize_math",
    "parse_number",
    "same_answer",
]

logger = logging.getLogger(__name__)

TaskKind = Literal["math", "choice", "yesno", "text"]


@dataclass(frozen=True)
class Extracted:
    """A final answer found in a reasoning text.

    Attributes:
        raw: The answer as written (inside the box, after "the answer is", ...).
        canonical: The normalised answer that votes are counted on.
        span: Character span of ``raw`` in the text, for the answer-confidence computation.
    """

    raw: str
    canonical: str
    span: tuple[int, int] | None = None


# --- locating the answer in the text -------------------------------------------------------

_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
_MARKER = re.compile(
    r"(?:\b(?:final\s+answer(?:\s+is)?|the\s+(?:final\s+|correct\s+)?answer\s+is)[\s*]*[:：=]?"
    r"|\banswer[\s*]*[:：=]|####)[\s*]*(?P<a>[^\n]+)",
    re.IGNORECASE,
)
_NUMBER_IN_TEXT = re.compile(
    r"(?<![\w)\]}.])-?\$?\s?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s?/\s?\d+)?%?(?![\w,]*\d)"
)
_NUMBER_LIST = re.compile(r"\s*-?\d+(?:\.\d+)?(?:\s*,\s*-?\d+(?:\.\d+)?)+\s*")
_SENTENCE_END = re.compile(r"[.;!?](?=\s|$)")


def _last_boxed(text: str) -> tuple[str, int, int] | None:
    r"""Return the content and span of the last \boxed{...}, honouring nested braces."""
    found = None
    for m in _BOX.finditer(text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:  # an unclosed box (truncated path) is not an answer
            found = (text[m.end() : i - 1], m.end(), i - 1)
    return found


def _last_marker(text: str) -> tuple[str, int, int] | None:
    """Return the content and span after the last answer marker, cut at the sentence end."""
    matches = list(_MARKER.finditer(text))
    if not matches:
        return None
    m = matches[-1]
    start, content = m.start("a"), m.group("a")
    end_m = _SENTENCE_END.search(content)
    if end_m:
        content = content[: end_m.start()]
    stripped = content.rstrip(" *`")
    lead = len(stripped) - len(stripped.lstrip(" *`"))
    stripped = stripped.strip(" *`")
    if not stripped:
        return None
    return stripped, start + lead, start + lead + len(stripped)


def _locate(text: str) -> tuple[str, int, int] | None:
    return _last_boxed(text) or _last_marker(text)


# --- normalisation -------------------------------------------------------------------------

_TEXT_WRAPPERS = re.compile(r"\\(?:text|textbf|mathrm|mathbf|mbox|textrm)\s*\{([^{}]*)\}")
_LATEX_NOISE = re.compile(r"\\(?:left|right|displaystyle|!|,|;|:|quad|qquad)|\\ |\^\{?\\circ\}?")
_FRAC = re.compile(r"^(-?)\\frac\s*(?:\{\s*(-?\d+)\s*\}|(\d))\s*(?:\{\s*(-?\d+)\s*\}|(\d))$")
_PLAIN_NUMBER = re.compile(
    r"^(?P<sign>[-+−]?)\s*(?:\$|€|£|usd\s*)?\s*(?P<sign2>-?)"
    r"(?P<num>(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d{1,3})?)"
    r"(?:\s*/\s*(?P<den>\d+))?\s*(?P<pct>%|percent)?"
    r"(?P<unit>(?:\s*(?!(?:pi|sqrt|i|e|x|y|z|n)\b)[a-z°][a-z°.]*(?:\^?\d)?)*)\s*$",
    re.IGNORECASE,
)
_ASSIGNMENT = re.compile(r"^[a-zA-Z]\s*=\s*(?=\S)")


def parse_number(s: str) -> Fraction | None:
    """Parse a plain numeric answer: "1,234.50", "$12", "12 cm", "3/4", "-3", "25%".

    Args:
        s: An answer string, already stripped of LaTeX noise.

    Returns:
        The exact value, or None when ``s`` is not one plain number (then the caller keeps
        the expression for math-verify).
    """
    m = _PLAIN_NUMBER.match(s.strip())
    if m is None:
        return None
    value = Fraction(m.group("num").replace(",", "").rstrip(".") or "0")
    if m.group("den"):
        if int(m.group("den")) == 0:
            return None
        value /= int(m.group("den"))
    negative = m.group("sign") in ("-", "−")
    if m.group("sign2"):
        negative = not negative
    return -value if negative else value


def _number_answer(s: str) -> str | None:
    """Canonical spelling of a plain number: exact, float noise removed from decimals."""
    value = parse_number(s)
    if value is None:
        return None
    # "p/q" is a fraction the writer meant exactly; a decimal may be a float printout.
    return format_number(value if "/" in s else denoise(value))


def _strip_latex(s: str) -> str:
    s = s.strip().strip("$").strip()
    for a, b in ((r"\(", ""), (r"\)", ""), (r"\[", ""), (r"\]", ""), (r"\%", "%"), (r"\$", "$")):
        s = s.replace(a, b)
    s = re.sub(r"\\[dt]frac", r"\\frac", s)
    prev = None
    while prev != s:  # unwrap nested \text{\textbf{...}}
        prev, s = s, _TEXT_WRAPPERS.sub(r"\1", s)
    s = _LATEX_NOISE.sub("", s)
    return s.strip().rstrip(".").strip()


def normalize_math(raw: str) -> str:
    r"""Canonicalise a math answer: exact numbers for plain values, cleaned LaTeX otherwise.

    Args:
        raw: The answer as written, e.g. "\$1,234.50", "\dfrac{3}{4}", "x = 5", "\sqrt{2}".

    Returns:
        "1234.5", "0.75", "5", "\sqrt{2}" respectively.
    """
    s = _ASSIGNMENT.sub("", _strip_latex(raw))
    m = _FRAC.match(s.replace(" ", ""))
    if m and int(m.group(4) or m.group(5)) != 0:
        value = Fraction(int(m.group(2) or m.group(3)), int(m.group(4) or m.group(5)))
        return format_number(-value if m.group(1) else value)
    number = _number_answer(s)
    return number if number is not None else re.sub(r"\s+", "", s)


def _normalize_text(raw: str) -> str:
    # The answer as a person would read it: lower case, single spaces, no wrapping quotes,
    # markdown or final full stop; inner punctuation stays ("mother-in-law", "a, and b").
    s = " ".join(_strip_latex(raw).lower().split())
    return s.strip(" \t*_`\"'").rstrip(".!;:").strip(" *_`\"'")


def _text_key(text: str) -> str:
    # SQuAD-style for voting: no punctuation, no articles ("The mother." = "mother").
    s = re.sub(r"[^\w\s]", " ", text.lower())
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


# --- per-kind extraction -------------------------------------------------------------------

_YESNO = {"yes": "yes", "no": "no", "true": "yes", "false": "no"}
_YESNO_WORD = re.compile(r"\b(yes|no|true|false)\b", re.IGNORECASE)


def _choice(content: str, options: str) -> tuple[str, int] | None:
    r"""Return the option letter that ``content`` starts with ("(B)", "C) 12", "\text{(D)}")."""
    letters = re.escape(options)
    m = re.match(
        rf"^[$*\s]*(?:\\text(?:bf)?\{{)?\s*\(?\s*(?:option\s+|choice\s+)?([{letters}])"
        rf"\s*\)?(?=[\s.:)}}$*]|$)",
        content,
        re.IGNORECASE,
    )
    return (m.group(1).upper(), m.start(1)) if m else None


def extract_answer(
    text: str, kind: TaskKind = "math", *, options: str = "ABCDE"
) -> Extracted | None:
    r"""Extract the final answer of a reasoning text.

    Args:
        text: The reasoning path.
        kind: Task kind; decides the fallbacks and the normalisation.
        options: Letters that count as options for multiple-choice tasks.

    Returns:
        The extracted answer, or None when the path gives none (an abstention).
    """
    located = _locate(text)
    if kind == "choice":
        return _extract_choice(text, located, options)
    return _BY_KIND[kind](text, located)


Located = tuple[str, int, int] | None


def _extract_math(text: str, located: Located) -> Extracted | None:
    if located is None or not located[0].strip():
        return _last_number(text)
    raw, start, end = located
    canonical = normalize_math(raw)
    if parse_number(canonical) is not None or re.search(r"[\\^{}]", raw):
        return Extracted(raw, canonical, (start, end))
    if _NUMBER_LIST.fullmatch(raw):  # several answers ("2, 3"): keep them all, in order
        numbers = re.split(r"\s*,\s*", raw.strip())
        return Extracted(raw, ",".join(normalize_math(x) for x in numbers), (start, end))
    # Prose after "the answer is" ("she has 18 eggs"): its last number is the answer.
    inner = _last_number(raw)
    if inner is not None and inner.span is not None:
        a, b = inner.span
        return Extracted(inner.raw, inner.canonical, (start + a, start + b))
    return Extracted(raw, canonical, (start, end))


def _extract_choice(text: str, located: Located, options: str) -> Extracted | None:
    hit = _choice(located[0], options) if located is not None else None
    if located is not None and hit is not None:
        at = located[1] + hit[1]
        return Extracted(text[at], hit[0], (at, at + 1))
    found = list(re.finditer(rf"\(([{re.escape(options)}])\)", text))
    if not found:
        return None
    m = found[-1]
    return Extracted(m.group(1), m.group(1), (m.start(1), m.end(1)))


def _yesno_at(m: re.Match[str], offset: int) -> Extracted:
    word = m.group(1)
    return Extracted(word, _YESNO[word.lower()], (offset + m.start(1), offset + m.end(1)))


def _extract_yesno(text: str, located: Located) -> Extracted | None:
    if located is not None:
        lead = re.match(r"[\s$*(]*(?:\\text(?:bf)?\{)?\s*", located[0])
        m = _YESNO_WORD.match(located[0], lead.end() if lead else 0)
        if m:
            return _yesno_at(m, located[1])
    # No marker: the last yes/no on the final line ("Let me think.\nYes, it is.").
    lines = [ln for ln in text.splitlines() if ln.strip()]
    words = list(_YESNO_WORD.finditer(lines[-1])) if lines else []
    return _yesno_at(words[-1], text.rfind(lines[-1])) if words else None


#: A reply with no answer marker whose last line is at most this many words is its answer
#: ("Mother", "Zoey is a fool, and Riley is a sage"): questions that ask for "only the word"
#: get exactly that, without a box.
TEXT_LINE_MAX_WORDS = 12


def _extract_text(text: str, located: Located) -> Extracted | None:
    if located is None:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if not lines or len(lines[-1].split()) > TEXT_LINE_MAX_WORDS or "```" in lines[-1]:
            return None
        start = text.rfind(lines[-1])
        located = (lines[-1].strip(), start, start + len(lines[-1]))
    canonical = _normalize_text(located[0])
    return Extracted(located[0], canonical, (located[1], located[2])) if canonical else None


_BY_KIND = {"math": _extract_math, "yesno": _extract_yesno, "text": _extract_text}


def _last_number(text: str) -> Extracted | None:
    found = list(_NUMBER_IN_TEXT.finditer(text))
    if not found:
        return None
    m = found[-1]
    raw = m.group(0).strip()
    number = _number_answer(raw)
    if number is None:
        return None
    return Extracted(raw, number, (m.end() - len(raw), m.end()))


# --- equivalence ---------------------------------------------------------------------------

_WORDY = re.compile(r"[a-zA-Z]{3,}")


def canonical_key(answer: str) -> str:
    r"""Bucket key of an answer: its exact number when it is one, else a cleaned spelling.

    Two answers with equal keys are the same answer; different keys may still be
    equivalent expressions, which ``same_answer`` decides.

    Args:
        answer: A canonical or raw answer string.

    Returns:
        "0.5" for "1/2", "0.5" and "\frac{1}{2}"; lower-cased words for text answers.
    """
    return _key(answer)


@lru_cache(maxsize=4096)
def _key(answer: str) -> str:
    cleaned = normalize_math(answer)
    if parse_number(cleaned) is not None:
        return cleaned
    if not _looks_math(cleaned):
        return _text_key(answer) or " ".join(answer.lower().split())
    return cleaned


def _looks_math(s: str) -> bool:
    # Words such as "paris" must not reach sympy, where "ab" and "ba" are the same product.
    without_commands = re.sub(r"\\[a-zA-Z]+", "", s)
    return bool(re.search(r"[\d\\^_{}+*/=()-]", s)) and not _WORDY.search(without_commands)


def same_answer(a: str | None, b: str | None) -> bool:
    r"""Decide whether two answers are the same, e.g. "1/2", "0.5" and "\frac{1}{2}".

    Plain numbers are compared without math-verify (``agent.numeric.close``: float noise
    and rounded decimals are one answer, distinct integers never); expressions go through
    math-verify's symbolic ``verify`` in both directions, cached per pair.

    Args:
        a: One answer (None = abstention, never equal to anything).
        b: The other answer.

    Returns:
        True when the answers are equivalent.
    """
    if a is None or b is None:
        return False
    ka, kb = _key(a), _key(b)
    if ka == kb:
        return True
    na, nb = parse_number(ka), parse_number(kb)
    if na is not None and nb is not None:
        return close(na, nb)  # float noise, rounded decimals (agent/numeric.py)
    if not (_looks_math(ka) and _looks_math(kb)):
        return False
    if not (_tame(ka) and _tame(kb)):
        return False
    return _verify_pair(*sorted((ka, kb)))


_MAX_SYMBOLIC_CHARS = 80
_BIG_INT = re.compile(r"\d{5,}")


def _tame(s: str) -> bool:
    # sympy evaluates powers and factorials exactly, holding the GIL: "2^{2^{2^{30}}}" in a
    # model's answer would freeze the whole server. Such answers are compared as strings.
    if len(s) > _MAX_SYMBOLIC_CHARS or "!" in s or "factorial" in s:
        return False
    powers = s.count("^") + s.count("**")
    return powers == 0 or (powers == 1 and not _BIG_INT.search(s))


@lru_cache(maxsize=4096)
def _verify_pair(a: str, b: str) -> bool:
    from math_verify import verify  # local: importing sympy costs about a second

    pa, pb = _parse(a), _parse(b)
    if not pa or not pb:
        return False
    kwargs = _timeout_kwargs()
    return bool(verify(pa, pb, **kwargs) or verify(pb, pa, **kwargs))


@lru_cache(maxsize=4096)
def _parse(s: str) -> Any:
    from math_verify import parse

    return parse(f"${s}$", **_timeout_kwargs("parsing_timeout"))


def _timeout_kwargs(name: str = "timeout_seconds") -> dict[str, Any]:
    # math-verify times out with SIGALRM, which only works in the main thread; LangGraph runs
    # sync work in worker threads, so there we turn its timeout off.
    if threading.current_thread() is threading.main_thread():
        return {}
    return {name: None}
