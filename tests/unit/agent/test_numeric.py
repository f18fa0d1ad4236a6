from __future__ import annotations

from fractions import Fraction

import pytest

from agent import numeric
from agent.numeric import asked_places, close, denoise, format_number, round_places, shown


def test_exports_are_sorted_and_exist():
    assert numeric.__all__ == sorted(numeric.__all__)
    for name in numeric.__all__:
        assert hasattr(numeric, name)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("31.999999999999996", "32", True),
        ("30.799999999999997", "30.8", True),
        ("405.99999999999994", "406", True),
        ("32.00000001", "32", True),
        ("0.1", "0.10001", False),
        ("1000000007", "1000000008", False),
        ("1000000007.5", "1000000008", False),
        ("1/3", "0.3333333333", True),
        ("1/3", "0.33333333", True),
        ("2/3", "0.66666667", True),
        ("1/3", "0.3333333", False),
        ("0.333", "1/3", False),
        ("1/3", "0.3333333334", False),
        ("0", "5.551115123125783e-17", False),
        ("-2.0000000000000004", "-2", True),
        ("-2", "2", False),
    ],
    ids=[
        "float-noise-below-integer",
        "float-noise-below-decimal",
        "float-noise-406",
        "tolerance-1e-9-relative",
        "0.1-vs-0.10001",
        "large-integers-exact",
        "half-unit-shows-in-integer",
        "fraction-vs-10-digits",
        "fraction-vs-8-digits",
        "two-thirds-rounded-up",
        "7-digits-too-few",
        "3-digits-too-few",
        "10-digits-last-digit-wrong",
        "no-absolute-floor-at-zero",
        "negative-noise",
        "sign-matters",
    ],
)
def test_close_table(a: str, b: str, same: bool) -> None:
    fa, fb = Fraction(a), Fraction(b)
    assert close(fa, fb) is same
    assert close(fb, fa) is same


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("405.99999999999994", "406"),
        ("31.999999999999996", "32"),
        ("30.799999999999997", "30.8"),
        ("7495.125000000001", "7495.125"),
        ("0.6844444444444444", "0.6844444444"),
        ("0.3333333333333333", "0.3333333333"),
        ("1000000007.0000001", "1000000007"),
        ("1234567890.5", "1234567890.5"),
        ("0.5", "0.5"),
        ("12.345", "12.345"),
        ("0.0000000001", "0.0000000001"),
        ("123456789012345", "123456789012345"),
    ],
    ids=[
        "integer-from-below",
        "integer-32",
        "noise-removed",
        "noise-above",
        "long-decimal-10-digits",
        "one-third-printout",
        "large-integer-noise",
        "large-half-kept",
        "half-not-snapped",
        "short-decimal-exact",
        "tiny-not-zero",
        "integer-untouched",
    ],
)
def test_denoise_table(written: str, canonical: str) -> None:
    assert format_number(denoise(Fraction(written))) == canonical


def test_format_number_keeps_non_terminating_fractions_exact():
    assert format_number(Fraction(1, 3)) == "1/3"
    assert format_number(Fraction(-3, 4)) == "-0.75"
    assert format_number(Fraction(1, 1048576)) == "0.00000095367431640625"


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [("2.25", 1, "2.3"), ("-2.5", 0, "-3"), ("1/3", 2, "0.33"), ("0.6844", 2, "0.68")],
)
def test_round_places_rounds_halves_away_from_zero(value, places, expected):
    assert format_number(round_places(Fraction(value), places)) == expected


@pytest.mark.parametrize(
    ("question", "places"),
    [
        ("What is the ratio? Round to the nearest hundredth.", 2),
        ("Give your answer to two decimal places.", 2),
        ("Answer to 3 decimal places.", 3),
        ("How much is it, to the nearest cent?", 2),
        ("Round your answer to the nearest whole number.", 0),
        ("What is the mean, rounded to the nearest tenth?", 1),
        ("Round to the nearest 0.01.", 2),
        ("How many eggs does she sell?", None),
    ],
)
def test_asked_places_reads_the_precision_a_question_asks(question, places):
    assert asked_places(question) == places


@pytest.mark.parametrize(
    ("answer", "question", "text"),
    [
        ("0.6844444444", "What fraction is left? Round to the nearest hundredth.", "0.68"),
        ("1/3", "Give the probability to 4 decimal places.", "0.3333"),
        ("2.5", "Round to the nearest whole number.", "3"),
        ("406", "How many apples?", "406"),
        ("0.6844444444", "What fraction is left?", "0.6844444444"),
        (r"\sqrt{2}", "Round to the nearest tenth.", r"\sqrt{2}"),
        ("yes", "Is 2.5 rounded to the nearest whole number 3?", "yes"),
    ],
    ids=["hundredths", "fraction-4-places", "whole-number", "integer", "no-ask", "expr", "word"],
)
def test_shown_rounds_numbers_as_the_question_asks(answer, question, text):
    assert shown(answer, question) == text
