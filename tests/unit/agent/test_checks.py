from __future__ import annotations

from fractions import Fraction

import pytest

from agent.checks import (
    UnsafeExpression,
    check_arithmetic,
    counts_whole,
    find_claims,
    safe_eval,
)


@pytest.mark.parametrize(
    ("expr", "value"),
    [
        ("12 + 7 - 3", 16),
        ("3 * 4", 12),
        ("20 / 8", Fraction(5, 2)),
        ("2 ** 10", 1024),
        ("-(3 - 5) * 2", 4),
        ("+4", 4),
        ("0.1 + 0.2", Fraction(3, 10)),
        ("2 ** -2", Fraction(1, 4)),
        ("4 ** 0.5", 2.0),
    ],
)
def test_safe_eval_computes_arithmetic(expr, value):
    assert safe_eval(expr) == value


@pytest.mark.parametrize(
    "expr",
    [
        "x + 1",
        "__import__('os').system('true')",
        "abs(-3)",
        "(1).real",
        "'a' * 3",
        "[1, 2]",
        "1 if 1 else 2",
        "3 < 4",
        "lambda: 1",
        "7 // 2",
        "7 % 2",
        "True + 1",
        "9 ** 9 ** 9",
        "10 ** 400",
        "0.5 ** -2000",
        "(-8) ** 0.5",
        "1 + " * 60 + "1",
    ],
    ids=[
        "name",
        "import-call",
        "builtin-call",
        "attribute",
        "string",
        "list",
        "conditional",
        "comparison",
        "lambda",
        "floor-division",
        "modulo",
        "bool",
        "tower-of-powers",
        "huge-power",
        "huge-negative-power",
        "complex-root",
        "too-long",
    ],
)
def test_safe_eval_refuses_anything_but_bounded_arithmetic(expr):
    with pytest.raises(UnsafeExpression):
        safe_eval(expr)


def test_safe_eval_raises_on_division_by_zero():
    with pytest.raises(ZeroDivisionError):
        safe_eval("1 / (2 - 2)")


@pytest.mark.parametrize(
    ("text", "total", "passed"),
    [
        ("a * b = c", 0, 0),
        ("So 12 + 7 - 3 = 16 apples.", 1, 1),
        ("She buys 3 × 4 = 12 eggs", 1, 1),
        ("That costs $5 x 3 = $15.", 1, 1),
        ("20 / 4 = 5", 1, 1),
        ("2^3 = 8", 1, 1),
        (r"$3 \times 4 = 12$ and $\frac{10}{4} = 2.5$", 2, 2),
        ("20% of 50 = 10", 1, 1),
        ("5 / 20 * 100 = 25%", 1, 1),
        ("The total is 1,200 + 300 = 1,500", 1, 1),
        ("10 / 3 = 3.33", 1, 1),
        ("10 / 3 = 3.3", 1, 1),
        ("7 / 2 = 3", 1, 0),
        ("7 * 8 = 54", 1, 0),
        ("2 * 3 + 1 = 6 + 1 = 7", 2, 2),
        ("(3 + 4) * 2 = 14", 1, 1),
        ("total (3 + 4 = 7) items", 1, 1),
        ("1. 4 + 4 = 8", 1, 1),
        ("x = 5", 0, 0),
        ("5 = 5", 0, 0),
        ("1 / 0 = 3", 0, 0),
        ("2^1000 = 7", 0, 0),
    ],
    ids=[
        "names-only",
        "chain-of-plus-minus",
        "unicode-times",
        "currency-x",
        "division",
        "caret-power",
        "latex-times-and-frac",
        "percent-of",
        "percent-result",
        "thousands",
        "rounded-2-decimals",
        "rounded-as-shown",
        "integer-must-be-exact",
        "wrong-product",
        "chained-equals",
        "parentheses",
        "claim-inside-parentheses",
        "list-number-prefix",
        "assignment-not-claim",
        "no-operator",
        "division-by-zero-skipped",
        "huge-power-skipped",
    ],
)
def test_check_arithmetic_table(text, total, passed):
    report = check_arithmetic(text)
    assert (report.total, report.passed) == (total, passed)


def test_check_arithmetic_lists_the_failing_claims():
    text = "First 6 * 7 = 42.\nThen 42 + 8 = 52.\nSo 52 / 2 = 26."
    report = check_arithmetic(text)
    assert report.total == 3 and report.passed == 2
    assert report.failed == ["42 + 8 = 52"]
    assert not report.ok


def test_check_arithmetic_on_text_without_claims_is_ok():
    report = check_arithmetic("The capital of France is Paris.")
    assert (report.total, report.passed, report.failed, report.ok) == (0, 0, [], True)


def test_find_claims_normalises_operators_to_python():
    assert find_claims("$5 x 3 = $15 and 2^3 = 8") == [("5 * 3", "15"), ("2**3", "8")]


@pytest.mark.parametrize(
    ("question", "answer", "ok"),
    [
        ("How many tubes of paint does Richard have?", "63.5", False),
        ("How many tubes of paint does Richard have?", "63", True),
        ("How many tubes of paint does Richard have?", "1,204", True),
        ("How many dollars does he save?", "2.5", True),
        ("How many more hours does she work?", "1.5", True),
        ("How many kg is that, to the nearest tenth?", "2.5", True),
        ("How many apples, rounded to one decimal place?", "2.5", True),
        ("What is the average score?", "72.5", True),
        ("How many cats are there?", "three", True),
        ("How many cats are there?", None, True),
    ],
)
def test_counts_whole_judges_only_counts(question: str, answer: str | None, ok: bool) -> None:
    assert counts_whole(question, answer) is ok


def test_unread_numbers_are_those_a_program_never_writes() -> None:
    from agent.checks import unread_numbers

    q = "James has €140 and the fair costs €790; 1/2 is covered. How much is he missing?"
    assert unread_numbers(q, "cost = 790\nprint(cost / 2)") == ["140"]
    assert unread_numbers(q, "print(790 / 2 - 140)") == []
    # a comment is no reading; 1 and 2 are common constants a program may leave implicit
    assert unread_numbers(q, "# he has 140\nprint(790 * 0.5)") == ["140"]
    # a percentage is read when written as a fraction
    cards = "There are 25 red cards and 84% more green ones."
    assert unread_numbers(cards, "print(25 + 0.84 * 25)") == []
    assert unread_numbers("Sold 1,200 cups at 35 cents.", "print(1200 * 0.35)") == []
    # a total of two given numbers is read through its parts
    eggs = "6 eggs a day for 34 days, then 8 a day for 60 days: how many dozens in 94 days?"
    assert unread_numbers(eggs, "print((6 * 34 + 8 * 60) / 12)") == []


def test_unused_numbers_are_read_into_a_name_never_used() -> None:
    from agent.checks import unused_numbers

    q = "James is missing money if he has £75 and the trip costs £300, half covered by a charity."
    # the wrong record stored from traffic: 75 assigned, never used (it printed 150, not 75)
    dropped = "have = 75\ncost = 300\ncovered = cost / 2\nprint(cost - covered)"
    assert unused_numbers(q, dropped) == ["75"]
    assert unused_numbers(q, "have = 75\ncost = 300\nprint(cost / 2 - have)") == []
    # written where it is used, or assigned and used, is not dropped
    assert unused_numbers(q, "print(300 / 2 - 75)") == []
    assert unused_numbers(q, "a, b = 75, 300\nprint(b / 2 - a)") == []
    # a second, used occurrence reads it; common constants and syntax errors are not judged
    assert unused_numbers(q, "spare = 75\nprint(300 / 2 - 75)") == []
    assert unused_numbers(q, "half = 2\nprint(300 / 2 - 75)") == []
    assert unused_numbers(q, "print(300 / 2 - 75") == []


def test_a_program_that_prints_a_literal_states_its_answer() -> None:
    from agent.checks import states_answer

    family = "Mia is married to Henry. What relation is Mia to Henry? Answer with one word."
    assert states_answer(family, '# Mia is his wife\nrelation = "wife"\nprint(relation)', "wife")
    assert not states_answer(family, '"""The answer: wife."""\nprint(REL[0])', "wife")
    q = "Tom has 3 apples and buys 4 more. How many apples does he have?"
    assert not states_answer(q, "apples = 3 + 4\nprint(apples)", "7")
    assert states_answer(q, "print(7.0)", "7")  # same answer, written as a float
    # an answer the question gives may be a literal: nothing is said about that program
    back = "Ann has 5 pens, lends 3 and gets 3 back. How many pens does she have?"
    assert not states_answer(back, "pens = 5\nprint(pens)", "5")
