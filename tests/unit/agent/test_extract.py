from __future__ import annotations

import threading

import pytest

from agent import extract
from agent.extract import (
    canonical_key,
    extract_answer,
    normalize_math,
    parse_number,
    same_answer,
)


@pytest.mark.parametrize(
    ("text", "kind", "raw", "canonical"),
    [
        (r"so $\boxed{\frac{1}{2}}$.", "math", r"\frac{1}{2}", "0.5"),
        (r"\boxed{1,000}", "math", "1,000", "1000"),
        ("The answer is $1,234.50.", "math", "$1,234.50", "1234.5"),
        (r"First \boxed{3}, then corrected: \boxed{4}", "math", "4", "4"),
        ("So the result is -3", "math", "-3", "-3"),
        ("The answer is 25%", "math", "25%", "25"),
        ("Final answer: 3/4", "math", "3/4", "0.75"),
        ("Janet makes 18 dollars.\n#### 18", "math", "18", "18"),
        ("**Final Answer:** 42", "math", "42", "42"),
        (r"\boxed{\dfrac{3}{4}}", "math", r"\dfrac{3}{4}", "0.75"),
        (r"\boxed{-\frac{3}{4}}", "math", r"-\frac{3}{4}", "-0.75"),
        (r"\boxed{\text{12 cm}}", "math", r"\text{12 cm}", "12"),
        (r"\boxed{\$12.00}", "math", r"\$12.00", "12"),
        ("It costs 12 dollars", "math", "12", "12"),
        (r"\boxed{x = 5}", "math", "x = 5", "5"),
        (r"\boxed{\sqrt{2}}", "math", r"\sqrt{2}", r"\sqrt{2}"),
        (r"\boxed{\frac{1}{3}}", "math", r"\frac{1}{3}", "1/3"),
        (r"\boxed{\left( 1, 2 \right)}", "math", r"\left( 1, 2 \right)", "(1,2)"),
        ("The answer is that she has 18 eggs.", "math", "18", "18"),
        ("We get 5-3 = 2 apples left", "math", "2", "2"),
        ("A total of 1,234,567 people", "math", "1,234,567", "1234567"),
        ("Therefore, the answer is 1.5e3", "math", "1.5e3", "1500"),
        ("The roots: the answer is 2, 3.", "math", "2, 3", "2,3"),
        (r"The final answer is $\frac{3}{4}$.", "math", r"$\frac{3}{4}$", "0.75"),
        ("The answer is (B).", "choice", "B", "B"),
        ("I first thought (C). Answer: b", "choice", "b", "B"),
        ("Answer: C) 12 apples", "choice", "C", "C"),
        (r"\boxed{\text{(D)}}", "choice", "D", "D"),
        ("Options (A) and (E) fail, so it is (C)", "choice", "C", "C"),
        ("Answer: yes", "yesno", "yes", "yes"),
        (r"so $\boxed{\text{No}}$", "yesno", "No", "no"),
        ("The answer is False.", "yesno", "False", "no"),
        ("Let me think.\nYes, it is.", "yesno", "Yes", "yes"),
        ("So the answer is: The Eiffel Tower!", "text", "The Eiffel Tower", "the eiffel tower"),
        ("Mother", "text", "Mother", "mother"),
        ("Let me see.\n\n**Mother-in-law.**", "text", "**Mother-in-law.**", "mother-in-law"),
        (
            "Zoey is a fool, and Riley is a sage",
            "text",
            "Zoey is a fool, and Riley is a sage",
            "zoey is a fool, and riley is a sage",
        ),
    ],
    ids=[
        "nested-boxed-frac",
        "boxed-thousands",
        "answer-is-currency-sentence",
        "last-boxed-wins",
        "negative-last-number",
        "percent",
        "final-answer-fraction",
        "gsm8k-hashes",
        "markdown-final-answer",
        "dfrac",
        "negative-frac",
        "text-wrapper-units",
        "escaped-dollar-trailing-zeros",
        "units-word",
        "assignment",
        "symbolic-kept",
        "non-terminating-fraction",
        "tuple-kept",
        "prose-after-marker",
        "hyphen-not-negative",
        "multi-thousands",
        "scientific-notation",
        "number-list-kept",
        "final-answer-inline-latex",
        "choice-parenthesised",
        "choice-lowercase-after-marker",
        "choice-letter-then-text",
        "choice-in-boxed-text",
        "choice-fallback-last-parenthesised",
        "yes-after-marker",
        "no-in-boxed-text",
        "false-means-no",
        "yes-on-last-line",
        "text-normalised",
        "text-one-word-reply",
        "text-last-line-keeps-hyphens",
        "text-short-sentence-reply",
    ],
)
def test_extract_answer_finds_raw_and_canonical(text, kind, raw, canonical):
    found = extract_answer(text, kind)
    assert found is not None
    assert (found.raw, found.canonical) == (raw, canonical)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("I am not sure how to solve this.", "math"),
        ("There is no answer here", "math"),
        ("Answer: maybe", "yesno"),
        ("None of these look right.", "choice"),
        ("Paris is lovely, and so are Lyon, Nice, Lille and every town on its coast.", "text"),
        ("```python\nprint(1)\n```", "text"),
        ("", "math"),
    ],
    ids=[
        "math-no-number",
        "word-answer-without-colon",
        "yesno-maybe",
        "choice-none",
        "text-long-last-line",
        "text-code-block",
        "empty",
    ],
)
def test_extract_answer_abstains_without_an_answer(text, kind):
    assert extract_answer(text, kind) is None


def test_extract_answer_ignores_an_unclosed_box_from_a_truncated_path():
    found = extract_answer(r"so we get 7 and \boxed{\frac{1}{2", "math")
    assert found is not None and found.canonical == "2"


@pytest.mark.parametrize(
    "text",
    [
        r"so $\boxed{\frac{1}{2}}$.",
        "The answer is $1,234.50.",
        "I first thought (C). Answer: b",
        "Let me think.\nYes, it is.",
        "We get 5-3 = 2 apples left",
    ],
)
def test_extract_answer_span_points_at_raw_answer(text):
    kind = "choice" if "(C)" in text else "yesno" if "Yes" in text else "math"
    found = extract_answer(text, kind)
    assert found is not None and found.span is not None
    assert text[found.span[0] : found.span[1]] == found.raw


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1,234.50", "1234.5"),
        ("$12", "12"),
        ("12 cm^2", "12"),
        ("-0.50", "-0.5"),
        ("10.", "10"),
        (".5", "0.5"),
        ("0", "0"),
        ("-0", "0"),
        (r"\frac12", "0.5"),
        (r"\tfrac{6}{4}", "1.5"),
        (r"90^\circ", "90"),
        (r"\textbf{\text{7}}", "7"),
        (r"2\pi", r"2\pi"),
        ("x + 1", "x+1"),
        ("405.99999999999994", "406"),
        ("30.799999999999997", "30.8"),
        ("$1,234.5000000000002", "1234.5"),
        ("0.6844444444444444", "0.6844444444"),
        ("1/1048576", "0.00000095367431640625"),
    ],
)
def test_normalize_math_table(raw, expected):
    assert normalize_math(raw) == expected


@pytest.mark.parametrize("raw", ["3/0", "abc", "1,2", "1 2", "5i", "3 pi"])
def test_parse_number_rejects_non_plain_numbers(raw):
    assert parse_number(raw) is None


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("1/2", "0.5", True),
        (r"\frac{1}{2}", "0.5", True),
        ("3/4", "0.75", True),
        ("1,000", "1000", True),
        ("25%", "25", True),
        ("12.0", "12", True),
        ("0.333", "1/3", False),
        ("1/3", "0.3333333333", True),
        ("31.999999999999996", "32", True),
        ("30.799999999999997", "30.8", True),
        ("0.1", "0.10001", False),
        ("1000000007", "1000000008", False),
        ("12.000000000000002 cm", "12 cm", True),
        ("12", "13", False),
        (r"\frac{\sqrt{2}}{2}", r"\sqrt{2}/2", True),
        (r"\frac{1}{\sqrt{2}}", r"\frac{\sqrt{2}}{2}", True),
        ("x+1", "1+x", True),
        (r"\sqrt{2}", r"\sqrt{3}", False),
        ("Paris", "paris", True),
        ("ab", "ba", False),
        ("B", "C", False),
        ("yes", "no", False),
        (None, "1", False),
        (None, None, False),
    ],
)
def test_same_answer_table(a, b, same):
    assert same_answer(a, b) is same
    assert same_answer(b, a) is same


def test_canonical_key_groups_float_noise_with_the_integer():
    assert {canonical_key(a) for a in ["31.999999999999996", "32", "32.0", "32 cm"]} == {"32"}


def test_canonical_key_groups_spellings_of_one_half():
    keys = {canonical_key(a) for a in ["1/2", "0.5", r"\frac{1}{2}", r"\dfrac{1}{2}", "0.50"]}
    assert keys == {"0.5"}


def test_same_answer_never_calls_math_verify_for_plain_numbers():
    before = extract._verify_pair.cache_info()
    assert not same_answer("1234", "1235")
    assert same_answer("$1,234", "1234 dollars")
    after = extract._verify_pair.cache_info()
    assert (after.hits, after.misses) == (before.hits, before.misses)


def test_same_answer_works_outside_the_main_thread():
    result: list[bool] = []
    worker = threading.Thread(
        target=lambda: result.append(same_answer(r"\frac{\sqrt{3}}{3}", r"\frac{1}{\sqrt{3}}"))
    )
    worker.start()
    worker.join()
    assert result == [True]


@pytest.mark.parametrize(
    "wild", ["2^{2^{2^{30}}}", "(10^{9})!", "100000!", "10^{100000}", "9^9^9^9"]
)
def test_answers_sympy_would_grind_on_are_compared_as_strings(wild: str) -> None:
    # Exact powers and factorials hold the GIL while sympy evaluates them; a model writing
    # one must not freeze the server. They are never equal to anything but themselves.
    import time

    start = time.perf_counter()
    assert not same_answer(wild, "2^{3}+1")
    assert same_answer(wild, wild)
    assert time.perf_counter() - start < 1.0


def test_small_powers_still_go_through_math_verify() -> None:
    assert same_answer("2^{10}", "1024")
