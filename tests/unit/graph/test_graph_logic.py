"""Graph routing, stopping and voting with a scripted backend (pure logic, no model)."""

from __future__ import annotations

import pytest

from agent.config import GraphConfig, named_config
from agent.errors import InvalidRequest
from agent.nodes.respond import NO_ANSWER
from agent.prompts import STOP_SEQUENCES
from agent.reasoner import Reasoner
from tests.support.queue_backend import QueueBackend, with_logprobs

Q = "Tom has 3 apples and buys 4 more. How many apples does he have?"
RIGHT = "3 + 4 = 7. The answer is \\boxed{7}."


def test_self_consistency_draws_n_paths_in_one_call_and_votes() -> None:
    backend = QueueBackend([RIGHT, "3 + 4 = 8 so \\boxed{8}", RIGHT, RIGHT])
    answer = Reasoner(backend).solve(Q, named_config("sc@8", n=4))
    assert answer.answer == "7"
    assert len(backend.calls) == 1 and backend.calls[0]["n"] == 4
    assert backend.calls[0]["stop"] == STOP_SEQUENCES
    assert answer.trace["vote"]["votes"] == {"7": 3.0, "8": 1.0}


def test_paths_without_answer_abstain_instead_of_voting() -> None:
    backend = QueueBackend(["I am not sure.", RIGHT, "no idea"])
    answer = Reasoner(backend).solve(Q, named_config("sc@8", n=3))
    assert answer.answer == "7"
    assert answer.trace["vote"]["abstentions"] == 2


def test_all_paths_abstaining_gives_no_confident_answer_and_stores_nothing() -> None:
    backend = QueueBackend(["hmm", "I cannot tell", "unclear"])
    answer = Reasoner(backend).solve(Q, named_config("sc@8", n=3))
    assert answer.answer is None
    assert answer.content == NO_ANSWER
    assert answer.verified is False
    assert answer.trace["memory"] == {}


def test_adaptive_stops_early_when_draws_agree() -> None:
    backend = QueueBackend([RIGHT] * 8)
    answer = Reasoner(backend).solve(Q, named_config("adaptive@8"))
    assert answer.trace["sampling"]["stopped_early"] is True
    assert len(answer.trace["paths"]) == 3  # min_n unanimous draws reach P > 0.9
    assert [c["n"] for c in backend.calls] == [3]


def test_adaptive_keeps_drawing_while_split() -> None:
    backend = QueueBackend(["\\boxed{1}", "\\boxed{2}", "\\boxed{3}"] + ["\\boxed{4}"] * 5)
    answer = Reasoner(backend).solve(Q, named_config("adaptive@8"))
    assert len(answer.trace["paths"]) == 8
    assert answer.trace["sampling"]["stopped_early"] is False


def test_adaptive_seeds_continue_the_same_draw_order() -> None:
    backend = QueueBackend(["\\boxed{1}", "\\boxed{2}", "\\boxed{3}"] + ["\\boxed{4}"] * 5)
    Reasoner(backend).solve(Q, named_config("adaptive@8", seed=100))
    starts = [c["seed"] for c in backend.calls]
    assert starts == [100, 103, 104, 105, 106, 107]


def test_think_first_answers_at_once_when_confident() -> None:
    backend = QueueBackend([with_logprobs("3 + 4 = 7 so \\boxed{7}", 0.99)])
    cfg = GraphConfig(
        name="t", think_first=True, confidence=True, n=8, vote={"think_threshold": 0.9}
    )
    answer = Reasoner(backend).solve(Q, cfg)
    assert answer.answer == "7"
    assert len(backend.calls) == 1
    assert answer.trace["sampling"]["think"]["answer_now"] is True


def test_think_first_samples_more_when_unsure() -> None:
    backend = QueueBackend([with_logprobs("3 + 4 = 7 so \\boxed{7}", 0.2)] + [RIGHT] * 7)
    cfg = GraphConfig(
        name="t", think_first=True, confidence=True, n=8, vote={"think_threshold": 0.9}
    )
    answer = Reasoner(backend).solve(Q, cfg)
    assert [c["n"] for c in backend.calls] == [1, 7]
    assert answer.trace["sampling"]["think"]["answer_now"] is False


def test_cot_decoding_branches_on_top_first_tokens() -> None:
    first = with_logprobs("Tom", 0.5)
    from agent.backends.base import Completion, TokenLogprob

    first = Completion(
        "Tom",
        "stop",
        10,
        1,
        None,
        (TokenLogprob("Tom", -0.5, (("Tom", -0.5), ("3", -1.0), ("The", -2.0))),),
        "queue",
    )
    backend = QueueBackend([first, " has 7: \\boxed{7}", " + 4 = 7 \\boxed{7}", " \\boxed{8}"])
    answer = Reasoner(backend).solve(Q, named_config("cot-decoding@8", n=3))
    assert backend.calls[1]["prefixes"] == ["Tom", "3", "The"]
    assert backend.calls[1]["temperature"] == 0.0
    assert answer.answer == "7"


def test_ensemble_pools_paths_from_each_model_with_its_weight() -> None:
    main = QueueBackend(["\\boxed{8}"] * 2, name="main")
    extra = QueueBackend(["\\boxed{7}"] * 2, name="extra")
    reasoner = Reasoner(main, backend_factory=lambda name: extra)
    cfg = named_config("ensemble", n=4, ensemble={"extra": 2.0})
    answer = reasoner.solve(Q, cfg)
    assert {p["model"] for p in answer.trace["paths"]} == {"main", "extra"}
    assert answer.answer == "7"  # 2 paths x weight 2 beat 2 paths x weight 1


def test_verifier_picks_the_candidate_it_believes() -> None:
    from agent.backends.base import Completion, TokenLogprob

    def judge(p_yes: float) -> Completion:
        import math

        return Completion(
            "Yes",
            "stop",
            10,
            1,
            None,
            (
                TokenLogprob(
                    "Yes", math.log(p_yes), (("Yes", math.log(p_yes)), ("No", math.log(1 - p_yes)))
                ),
            ),
            "queue",
        )

    backend = QueueBackend(
        ["\\boxed{8}", "\\boxed{8}", "3 + 4 = 7 \\boxed{7}", judge(0.2), judge(0.9)]
    )
    cfg = named_config("sc@8", n=3, verifier=True)
    answer = Reasoner(backend).solve(Q, cfg)
    assert answer.trace["verification"]["verifier_p_yes"] == pytest.approx({"8": 0.2, "7": 0.9})
    assert answer.answer == "7"


def test_failed_arithmetic_claim_blocks_verification() -> None:
    backend = QueueBackend(["3 + 4 = 8. \\boxed{8}"] * 3)
    answer = Reasoner(backend).solve(Q, named_config("sc@8", n=3))
    assert answer.verified is False
    assert answer.trace["verification"]["checks"]["failed"] == ["3 + 4 = 8"]


def test_step_back_principle_reaches_the_prompt() -> None:
    backend = QueueBackend(["Addition combines quantities.", RIGHT, RIGHT])
    answer = Reasoner(backend).solve(Q, named_config("stepback+sc", n=2))
    assert answer.trace["principle"] == "Addition combines quantities."
    system = backend.calls[1]["messages"][0]["content"]
    assert "Addition combines quantities." in system


@pytest.mark.parametrize("question", ["", "   "], ids=["empty", "blank"])
def test_empty_question_is_refused(question: str) -> None:
    with pytest.raises(InvalidRequest, match="empty"):
        Reasoner(QueueBackend()).solve(question, "cot")


def test_oversized_question_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="limit"):
        Reasoner(QueueBackend(), max_question_chars=100).solve("x" * 101, "cot")


def test_non_text_question_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="text"):
        Reasoner(QueueBackend()).solve(123, "cot")  # type: ignore[arg-type]


def test_deadline_answers_with_what_was_drawn() -> None:
    backend = QueueBackend(["\\boxed{1}", "\\boxed{2}", "\\boxed{3}"] + ["\\boxed{4}"] * 5)
    cfg = named_config("adaptive@8", deadline_s=1e-6)
    answer = Reasoner(backend).solve(Q, cfg)
    assert answer.trace["sampling"]["deadline_hit"] is True
    assert len(answer.trace["paths"]) == 3
    assert answer.answer == "1"


def test_the_reply_text_is_rounded_as_the_question_asks_and_the_answer_stays_canonical() -> None:
    asked = "A tank holds 2/3 of 0.75 of 1.369 litres. How much? Round to the nearest hundredth."
    backend = QueueBackend(["The answer is 0.6844444444444444."] * 2)
    answer = Reasoner(backend).solve(asked, named_config("sc@8", n=2))
    assert (answer.answer, answer.content) == ("0.6844444444", "0.68")


def test_float_noise_spellings_are_one_vote_and_the_integer_is_shown() -> None:
    backend = QueueBackend(
        ["so \\boxed{7}", "so \\boxed{405.99999999999994}", "so \\boxed{406}", "so \\boxed{8}"]
    )
    answer = Reasoner(backend).solve(Q, named_config("sc@8", n=4))
    assert (answer.answer, answer.content) == ("406", "406")
    assert answer.trace["vote"]["votes"] == {"7": 1.0, "406": 2.0, "8": 1.0}
