"""Numbers in answers: exact values, float noise, equality with a tolerance, shown precision.

Program paths print binary floats: ``31.999999999999996`` is 32 and ``30.799999999999997`` is
30.8, off by representation error. Compared as exact rationals, such spellings split a vote
(four candidates, one vote each) and the float reaches the user (``405.99999999999994``).
Four rules, used by ``agent.extract`` for every strategy's vote:

1. ``denoise``: a number written as a decimal that is within tolerance of an integer *is*
   that integer (405.99999999999994 -> 406); otherwise a decimal with more than
   ``MAX_DIGITS`` significant digits is rounded to that many (30.799999999999997 -> 30.8,
   0.6844444444444444 -> 0.6844444444). Integers, short decimals and fractions stay exact.
2. ``close``: two values are equal within ``REL_TOL`` of their magnitude, unless the
   difference shows in the last decimal place of the shorter one: 32 == 32.00000001, but
   0.1 != 0.10001, and integers (1000000007 vs 1000000008) are compared exactly.
3. ``close``: a decimal of at least ``MATCH_DIGITS`` significant digits equals a fraction (or
   longer decimal) that it rounds: 1/3 == 0.33333333, while 0.333 != 1/3.
4. ``shown``: the text a person reads is rounded to the precision the question asks for
   ("to the nearest hundredth", "2 decimal places"); without one, the canonical answer.

Tolerance equality is not transitive; the tally compares each answer with the first answer
of each bucket, in draw order, so the grouping is still deterministic.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, localcontext
from fractions import Fraction

__all__ = [
    "MATCH_DIGITS",
    "MAX_DIGITS",
    "REL_TOL",
    "asked_places",
    "close",
    "denoise",
    "format_number",
    "round_places",
    "shown",
]

REL_TOL = Fraction(1, 10**9)
"""Relative tolerance: far above float noise (~1e-16 per operation, ~1e-10 after cancellation),
far below any difference a question's answer turns on."""

MAX_DIGITS = 10
"""Significant digits kept of a long decimal; more than any question here asks for."""

MATCH_DIGITS = 8
"""Fewest significant digits with which a decimal may stand for a fraction it rounds."""


def format_number(value: Fraction) -> str:
    """Write an exact value canonically: "12", "0.75", "-1234.5", or "1/3" when not terminating."""
    if value.denominator == 1:
        return str(value.numerator)
    if _places(value) is None:
        return f"{value.numerator}/{value.denominator}"
    with localcontext() as ctx:
        ctx.prec = 60
        return format(Decimal(value.numerator) / Decimal(value.denominator), "f")


def _places(value: Fraction) -> int | None:
    """Decimal places of a terminating value (0.125 -> 3), None when it does not terminate."""
    den, twos, fives = value.denominator, 0, 0
    while den % 2 == 0:
        den, twos = den // 2, twos + 1
    while den % 5 == 0:
        den, fives = den // 5, fives + 1
    return max(twos, fives) if den == 1 else None


def _significant_digits(value: Fraction) -> int | None:
    """Significant digits of a terminating value (0.0033 -> 2, 12.5 -> 3), else None."""
    places = _places(value)
    if places is None:
        return None
    scaled = abs(value) * 10**places  # an integer; trailing zeros only when places == 0
    return len(str(scaled.numerator).rstrip("0")) if places == 0 else len(str(scaled.numerator))


def round_places(value: Fraction, places: int) -> Fraction:
    """Round to ``places`` decimal places, halves away from zero (2.25 -> 2.3, -2.5 -> -3)."""
    unit = Fraction(1, 10**places) if places >= 0 else Fraction(10 ** (-places))
    rounded = math.floor(abs(value) / unit + Fraction(1, 2)) * unit
    return rounded if value >= 0 else -rounded


def _round_significant(value: Fraction, digits: int) -> Fraction:
    if value == 0:
        return value
    magnitude = len(str(math.floor(abs(value)))) - 1 if abs(value) >= 1 else -1
    while abs(value) < Fraction(10) ** magnitude:  # 0.0042: magnitude -3
        magnitude -= 1
    return round_places(value, digits - 1 - magnitude)


def close(a: Fraction, b: Fraction) -> bool:
    """Whether two values are one answer: exact, rounding (rule 3) or tolerance (rule 2)."""
    if a == b:
        return True
    diff = abs(a - b)
    pa, pb = _places(a), _places(b)
    if _rounds(a, pa, pb, diff) or _rounds(b, pb, pa, diff):
        return True
    written = [p for p in (pa, pb) if p is not None]
    if written and diff * 2 >= Fraction(1, 10 ** min(written)):
        return False  # the difference shows in the shorter one's last digit: 7 vs 8, 0.1 vs 0.2
    return diff <= REL_TOL * max(abs(a), abs(b))


def _rounds(short: Fraction, ps: int | None, po: int | None, diff: Fraction) -> bool:
    """Whether ``short`` is a decimal of enough digits that rounds the other value."""
    if ps is None or ps == 0 or (po is not None and po <= ps):
        return False
    digits = _significant_digits(short)
    return digits is not None and digits >= MATCH_DIGITS and diff * 2 <= Fraction(1, 10**ps)


def denoise(value: Fraction) -> Fraction:
    """Remove float noise from a value written as a decimal (rule 1).

    Args:
        value: The exact value of a decimal as written, e.g. ``31.999999999999996``.

    Returns:
        The integer it is within tolerance of (32); else, when it has more than
        ``MAX_DIGITS`` significant digits, the value rounded to them (30.8 for
        30.799999999999997); else ``value`` unchanged.
    """
    if value.denominator == 1:
        return value
    nearest = round_places(value, 0)
    if close(value, nearest):
        return nearest
    digits = _significant_digits(value)
    # Never round into the integer part: 1234567890.5 keeps its half.
    keep = max(MAX_DIGITS, len(str(abs(math.trunc(value)))) + 1)
    if digits is None or digits <= keep:
        return value
    return _round_significant(value, keep)


_WORD_PLACES = {"whole number": 0, "integer": 0, "dollar": 0, "cent": 2}
_WORD_PLACES |= {"tenth": 1, "hundredth": 2, "thousandth": 3}
_COUNTS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_ASKED = re.compile(
    r"nearest\s+(?P<word>whole\s+number|integer|dollar|cent|tenth|hundredth|thousandth)s?\b"
    r"|nearest\s+(?P<unit>0?\.0*1)\b"
    r"|\b(?P<n>\d|one|two|three|four|five|six)\s+decimal\s+(?:places?|digits?)",
    re.IGNORECASE,
)


def asked_places(question: str) -> int | None:
    """The decimal places a question asks its answer in, or None when it asks none.

    Args:
        question: The question text, e.g. "... Round to the nearest hundredth."

    Returns:
        2 for "nearest hundredth", "nearest cent", "2 decimal places" or "nearest 0.01";
        0 for "nearest whole number", "integer" or "dollar"; the last such phrase wins.
    """
    found = list(_ASKED.finditer(question))
    if not found:
        return None
    m = found[-1]
    if m.group("word"):
        return _WORD_PLACES[" ".join(m.group("word").lower().split())]
    if m.group("unit"):
        return len(m.group("unit").split(".")[1])
    n = m.group("n").lower()
    return int(n) if n.isdigit() else _COUNTS[n]


def shown(answer: str, question: str) -> str:
    """The answer as a person reads it: a number rounded as the question asks (rule 4).

    Args:
        answer: A canonical answer ("0.6844444444", "1/3", "406", "\\sqrt{2}").
        question: The question it answers.

    Returns:
        "0.68" for "0.6844444444" when the question asks for hundredths; otherwise
        ``answer`` unchanged (non-numbers, and questions that ask no precision).
    """
    places = asked_places(question)
    if places is None:
        return answer
    try:
        value = Fraction(answer)
    except (ValueError, ZeroDivisionError):
        return answer  # not a plain canonical number
    return format_number(round_places(value, places))
