"""Deterministic checks of a reasoning path: recompute every arithmetic claim it makes.

A claim is an equation whose sides are arithmetic over numbers, such as ``12 + 7 - 3 = 16``,
``3 × 4 = 12``, ``$5 x 3 = $15``, ``2^3 = 8`` or ``20% of 50 = 10``. Each one is recomputed
with ``safe_eval``, an evaluator over Python's ``ast`` that accepts only numbers, + - * / **,
unary signs and parentheses: no names, no calls, no ``eval``, and bounded exponents, so a
path cannot make the check run arbitrary code or compute ``9**9**9``.

Small slips in a chain of thought often survive majority voting when every path copies the
same prompt example; a failed claim is a cheap, model-free signal for the verify node.

Memory's write-back adds two checks of an answer against its question: a count must be a whole
number (``counts_whole``), and a stored program must read every number the question gives
(``unread_numbers``).
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, field
from fractions import Fraction

from agent.extract import same_answer

__all__ = [
    "COMMON_CONSTANTS",
    "CheckReport",
    "UnsafeExpression",
    "check_arithmetic",
    "counts_whole",
    "find_claims",
    "numbers_in",
    "safe_eval",
    "unread_numbers",
    "unused_numbers",
]

MAX_EXPRESSION_CHARS = 200
MAX_RESULT_DIGITS = 300  # refuse powers whose result would have more digits than this
REL_TOL = 1e-6


class UnsafeExpression(ValueError):
    """The expression contains something other than plain arithmetic, or is too large."""


def safe_eval(expr: str) -> Fraction | float:
    """Evaluate plain arithmetic exactly where possible.

    Args:
        expr: Python-syntax arithmetic, e.g. ``"(12 + 7) * 3 / 2"`` or ``"2 ** 10"``.

    Returns:
        The value: a ``Fraction`` (exact) unless a fractional power made it a float.

    Raises:
        UnsafeExpression: For names, calls, attributes, strings, comparisons, huge powers or
            over-long input.
        ZeroDivisionError: For a division by zero.
        SyntaxError: When ``expr`` is not an expression at all.
    """
    if len(expr) > MAX_EXPRESSION_CHARS:
        raise UnsafeExpression(f"expression longer than {MAX_EXPRESSION_CHARS} characters")
    tree = ast.parse(expr.strip(), mode="eval")
    return _eval(tree.body)


def _eval(node: ast.AST) -> Fraction | float:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise UnsafeExpression(f"not a number: {node.value!r}")
        # str() keeps 0.1 as 1/10 rather than the binary float's 3602879701896397/2**55.
        return Fraction(str(node.value)) if math.isfinite(node.value) else float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _eval(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        if isinstance(node.op, ast.Div):
            if right == 0:
                raise ZeroDivisionError("division by zero in claim")
            return left / right
        if isinstance(node.op, ast.Pow):
            return _power(left, right)
    raise UnsafeExpression(f"not allowed in a claim: {type(node).__name__}")


def _power(base: Fraction | float, exp: Fraction | float) -> Fraction | float:
    size = abs(float(base))
    if size > 1 and abs(float(exp)) * math.log10(size) > MAX_RESULT_DIGITS:
        raise UnsafeExpression("power too large")
    if (
        size
        and size < 1
        and float(exp) < 0
        and abs(float(exp)) * -math.log10(size) > MAX_RESULT_DIGITS
    ):
        raise UnsafeExpression("power too large")
    if isinstance(exp, Fraction) and exp.denominator == 1:
        if base == 0 and exp < 0:
            raise ZeroDivisionError("zero to a negative power")
        return base ** int(exp)
    if float(base) < 0:
        raise UnsafeExpression("fractional power of a negative number")
    power: float = float(base) ** float(exp)  # a negative base was refused: never complex
    return power


# --- finding claims ------------------------------------------------------------------------

_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), r)
    for p, r in (
        (r"\\times|\\cdot|[×·∙⋅✕]", "*"),
        (r"\\div|÷", "/"),
        (r"[−–]", "-"),
        (r"\\frac\{([^{}]+)\}\{([^{}]+)\}", r"((\1)/(\2))"),
        (r"\\left|\\right|\\[,;!]|\\\(|\\\)|\\\[|\\\]", ""),
        (r"\{|\}", ""),
        (r"(?<=\d),(?=\d{3}(?!\d))", ""),  # thousands separators
        (r"(\d+(?:\.\d+)?)\s*%\s*of\b", r"\1/100 *"),
        (r"(?<=[\d)])\s*[xX]\s*(?=[$(]*\s*\d)", " * "),
        (r"\$", ""),
        (r"\^", "**"),
    )
)
_ARITH_TAIL = re.compile(r"[\d.\s+\-*/()%]*$")
_ARITH_HEAD = re.compile(r"^[\d.\s+\-*/()%]*")
_OPERATOR = re.compile(r"(?<=[\d)%])\s*(?:\*\*|[+\-*/])\s*(?=[\d(.])")


@dataclass(frozen=True)
class CheckReport:
    """What the arithmetic check found in one path.

    Attributes:
        total: Claims found and evaluated.
        passed: Claims whose recomputed value matches.
        failed: The failing claims as written after normalisation, e.g. ``"7 * 8 = 54"``.
    """

    total: int
    passed: int
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no claim failed (also when there were none)."""
        return not self.failed


def _matched(match: re.Match[str] | None) -> str:
    """The matched text, or "" (the expression patterns can match the empty string)."""
    return match.group(0) if match else ""


def _balance(expr: str, *, trim_left: bool) -> str:
    # "(3 + 4" or "7)" come from claims inside parentheses; drop the unmatched bracket.
    expr = expr.strip(" .")
    while trim_left and expr.count("(") > expr.count(")") and "(" in expr:
        expr = expr[expr.index("(") + 1 :].strip()
    while not trim_left and expr.count(")") > expr.count("(") and ")" in expr:
        expr = expr[: expr.rindex(")")].strip()
    return expr.strip(" +*/").strip()


def _value(expr: str) -> Fraction | float | None:
    """Evaluate a side, dropping leading words/digits until it parses ("3. 4 + 4" -> "4 + 4")."""
    expr = re.sub(r"(\d+(?:\.\d+)?)\s*%", r"(\1/100)", expr)
    while expr:
        try:
            return safe_eval(expr)
        except SyntaxError:
            parts = expr.split(None, 1)
            expr = parts[1] if len(parts) == 2 else ""
        except (UnsafeExpression, ZeroDivisionError, OverflowError):
            return None
    return None


def find_claims(text: str) -> list[tuple[str, str]]:
    """Find arithmetic claims in a text.

    Args:
        text: A reasoning path.

    Returns:
        ``(left, right)`` expression pairs, normalised to Python syntax; at least one side of
        each pair contains an operator.
    """
    claims: list[tuple[str, str]] = []
    for line in text.splitlines():
        for pattern, repl in _REWRITES:
            line = pattern.sub(repl, line)
        parts = line.split("=")
        for left_part, right_part in zip(parts, parts[1:], strict=False):
            left = _balance(_matched(_ARITH_TAIL.search(left_part)), trim_left=True)
            right = _balance(_matched(_ARITH_HEAD.match(right_part.lstrip("="))), trim_left=False)
            if not re.search(r"\d", left) or not re.search(r"\d", right):
                continue
            if _OPERATOR.search(left) or _OPERATOR.search(right):
                claims.append((" ".join(left.split()), " ".join(right.split())))
    return claims


def _matches(lhs: Fraction | float, rhs: Fraction | float, rhs_text: str) -> bool:
    left, right = float(lhs), float(rhs)
    if math.isclose(left, right, rel_tol=REL_TOL, abs_tol=1e-9):
        return True
    # A claim rounded to 2 decimals ("10 / 3 = 3.33"), or to as many as it shows ("= 3.3").
    places = {2}
    shown = re.fullmatch(r"\s*-?\d+\.(\d+)\s*%?\s*", rhs_text)
    if shown:
        places.add(len(shown.group(1)))
    return any(math.isclose(round(left, p), right, abs_tol=10 ** -(p + 3)) for p in places)


def check_arithmetic(text: str) -> CheckReport:
    """Recompute every arithmetic claim in a reasoning path.

    Claims whose sides cannot be evaluated safely (names, huge powers, division by zero) are
    skipped rather than failed: the check reports slips, it does not judge notation.

    Args:
        text: A reasoning path.

    Returns:
        How many claims were checked, how many passed, and the failing ones.
    """
    total, passed, failed = 0, 0, []
    for left, right in find_claims(text):
        lhs, rhs = _value(left), _value(right)
        if lhs is None or rhs is None:
            continue
        total += 1
        # "5/20 * 100 = 25%": the right side may be a percentage of the left's scale.
        pct_right = right.rstrip().endswith("%")
        ok = _matches(lhs, rhs, right) or (pct_right and _matches(lhs, rhs * 100, right[:-1]))
        if ok:
            passed += 1
        else:
            failed.append(f"{left} = {right}")
    return CheckReport(total=total, passed=passed, failed=failed)


# "How many tubes ...": a count. Not "how many more dollars", which may have cents, nor a
# question that asks for a rounding of its own ("to the nearest tenth").
_COUNT_QUESTION = re.compile(r"\bhow\s+many\b", re.IGNORECASE)
_MONEY_OR_MEASURE = re.compile(
    r"\bhow\s+many\s+(?:more\s+|fewer\s+|less\s+)?(?:dollars?|euros?|pounds?|cents?|"
    r"hours?|minutes?|seconds?|days?|weeks?|months?|years?|miles?|kilometers?|meters?|feet|"
    r"inches?|liters?|litres?|gallons?|cups?|ounces?|grams?|kilograms?|kg|lbs?|percent)\b",
    re.IGNORECASE,
)
_ROUNDING = re.compile(r"\b(?:decimal|nearest|round)", re.IGNORECASE)


def counts_whole(question: str, answer: str | None) -> bool:
    """False when a question counts things ("how many tubes") and the answer is no whole number.

    A deterministic check for memory's write-back: on held-out word problems three programs
    agreed on 63.5 tubes of paint (the answer was 63). Units that may be fractional (money,
    time, lengths, weights) and questions that ask for a rounding are not judged.
    """
    if not answer or not _COUNT_QUESTION.search(question):
        return True
    if _MONEY_OR_MEASURE.search(question) or _ROUNDING.search(question):
        return True
    try:
        value = Fraction(answer.replace(",", ""))
    except (ValueError, ZeroDivisionError):
        return True  # not a plain number: nothing to judge
    return value.denominator == 1


_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?![\w])")
#: Constants a program may write without reading them from a question (units, halves).
COMMON_CONSTANTS = frozenset(str(v) for v in (*range(11), 12, 24, 30, 52, 60, 100, 365, 1000))


def numbers_in(text: str) -> set[str]:
    """The numbers written in ``text``, normalised (``1,200`` and ``1200.0`` are ``1200``)."""
    found = set()
    for raw in _NUMBER.findall(text):
        try:
            value = float(raw.replace(",", ""))
        except ValueError:
            continue
        found.add(f"{value:g}")
    return found


def unread_numbers(question: str, code: str) -> list[str]:
    """Numbers the question gives that the program never writes (comments aside).

    A deterministic check for memory's write-back: a program and a prose path sharing one
    misreading agree, and the misreading usually drops a number ("he has 140 euros", "20
    shrimps in 13 minutes" read as 20 a minute): on the first 190 questions of the traffic
    stream both wrong records left a number unread, 1 of the 58 right ones did (a distractor).
    A percentage counts as read when the program writes it as a fraction (84 as 0.84), a total
    of two other numbers the question gives as read through its parts; common constants
    (``COMMON_CONSTANTS``) need not appear, as a program may write "half" as ``/ 2``.

    Returns:
        The unread numbers, sorted; empty when the program reads them all.
    """
    source = "\n".join(line.split("#", 1)[0] for line in code.splitlines())
    written = numbers_in(source)
    given = numbers_in(question)
    # A total the question restates ("for 34 days, then 60 days ... for 94 days") is read
    # through its parts.
    totals = {f"{float(a) + float(b):g}" for a in given for b in given if a != b}
    unread = [
        n
        for n in given - COMMON_CONSTANTS - totals
        if n not in written and f"{float(n) / 100:g}" not in written
    ]
    return sorted(unread, key=float)


def unused_numbers(question: str, code: str) -> list[str]:
    """Numbers the question gives that the program reads into a name it never uses.

    ``unread_numbers`` asks that each number be written; a program can write one and drop it
    (``initial_amount = 75`` and never ``initial_amount`` again): on the 300-question traffic
    stream the one wrong record stored was such a program: it answered what the charity left
    to pay (150), not what James was missing (75). Common constants (``COMMON_CONSTANTS``)
    are not counted.

    Returns:
        Those numbers, sorted; empty when every number the program writes reaches its code.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    names = [n for n in ast.walk(tree) if isinstance(n, ast.Name)]
    loaded = {n.id for n in names if isinstance(n.ctx, ast.Load)}
    dropped: dict[str, bool] = {}  # number -> every occurrence is dropped so far
    parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, int | float):
            continue
        if isinstance(node.value, bool):  # True is an int to isinstance
            continue
        number = f"{float(node.value):g}"
        parent = parents.get(id(node))
        unused = (
            isinstance(parent, ast.Assign)
            and parent.value is node
            and all(isinstance(t, ast.Name) and t.id not in loaded for t in parent.targets)
        )
        dropped[number] = dropped.get(number, True) and unused
    given = numbers_in(question) - COMMON_CONSTANTS
    return sorted((n for n, gone in dropped.items() if gone and n in given), key=float)


def states_answer(question: str, code: str, answer: str) -> bool:
    """Whether the program writes its answer as a literal instead of computing it.

    ``relation = "spouse"; print(relation)`` ran, but executing it checked nothing: the
    model's reading is in the literal, as in a prose path, so its agreement with a prose path
    is one reading twice. On family relationships served as traffic such programs stored
    "husband" for a wife. An answer that is a number the question gives may be a literal
    (what is left after giving some away and getting it back), so that one is not counted.
    Docstrings and comments are not code.
    """
    if answer in numbers_in(question):
        return False
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    docstrings = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    return any(
        isinstance(node, ast.Constant)
        and id(node) not in docstrings
        and isinstance(node.value, str | int | float)
        and not isinstance(node.value, bool)
        and same_answer(str(node.value).strip(), answer)
        for node in ast.walk(tree)
    )
