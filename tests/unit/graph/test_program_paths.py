"""Program paths through the graph: a scripted backend writes the programs, the real sandbox
runs them. The backend proves nothing about the model (integration tests run the real one);
these tests pin the routing, the seeds, the vote and what the trace shows."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from agent.config import named_config
from agent.programs import PROGRAM_PREFIX, PROGRAM_STOP, code_of
from agent.prompts import STOP_SEQUENCES
from agent.reasoner import Reasoner
from agent.sandbox import Sandbox, SandboxLimits
from memory import Evidence, VerifiedPath, WriteBackThresholds, decide
from tests.support.queue_backend import QueueBackend

Q = "Tom has 3 apples and buys 4 more. How many apples does he have?"
SEVEN = "apples = 3 + 4\nprint(apples)\n"
EIGHT = "print(8)\n"
PROSE_SEVEN = "3 + 4 = 7. The answer is \\boxed{7}."
PROSE_NINE = "3 + 4 = 9. The answer is \\boxed{9}."

SANDBOX = Sandbox(SandboxLimits(wall_seconds=5.0, cpu_seconds=1.0))


def reasoner(backend: QueueBackend) -> Reasoner:
    return Reasoner(backend, sandbox=SANDBOX)


def test_code_of_strips_the_forced_fence_and_the_closing_one() -> None:
    assert code_of(PROGRAM_PREFIX + "print(1)\n```\nmore") == "print(1)"
    assert code_of(PROGRAM_PREFIX + "x = 2\nprint(x)") == "x = 2\nprint(x)"


def test_pot_sc_runs_every_program_and_votes_on_printed_results() -> None:
    backend = QueueBackend([SEVEN, EIGHT, SEVEN, SEVEN])
    answer = reasoner(backend).solve(Q, named_config("pot-sc@8", n=4))
    assert answer.answer == "7"
    (call,) = backend.calls
    assert call["n"] == 4 and call["prefixes"] == [PROGRAM_PREFIX] * 4
    assert call["stop"] == PROGRAM_STOP
    assert "Python program" in call["messages"][0]["content"]
    first = answer.trace["paths"][0]
    assert first["kind"] == "program"
    assert first["program"] == SEVEN.strip("\n")
    assert first["stdout"].strip() == "7" and first["status"] == "ok"
    assert first["run_seconds"] > 0
    assert answer.trace["vote"]["votes"] == {"7": 3.0, "8": 1.0}
    assert answer.trace["timings"]["sandbox"] > 0


def test_a_failing_program_abstains_and_the_trace_keeps_its_error() -> None:
    backend = QueueBackend(["print(1/0)\n", SEVEN])
    answer = reasoner(backend).solve(Q, named_config("pot-sc@8", n=2))
    assert answer.answer == "7"
    failed = answer.trace["paths"][0]
    assert failed["answer"] is None and failed["status"] == "error"
    assert "ZeroDivisionError" in failed["error"]
    assert answer.trace["vote"]["abstentions"] == 1


def test_a_program_that_prints_no_number_abstains() -> None:
    backend = QueueBackend(["print('seven apples')\n"])
    answer = reasoner(backend).solve(Q, named_config("pot"))
    assert answer.answer is None
    assert answer.trace["paths"][0]["status"] == "no_answer"


def test_mixed_draws_prose_and_programs_with_their_own_seeds_and_pools_the_vote() -> None:
    backend = QueueBackend([PROSE_SEVEN, PROSE_NINE, PROSE_SEVEN, PROSE_NINE])
    backend.enqueue(SEVEN, EIGHT, SEVEN, EIGHT)
    answer = reasoner(backend).solve(Q, named_config("mixed@8", seed=5))
    prose_call, program_call = backend.calls
    assert prose_call["n"] == 4 and prose_call["stop"] == STOP_SEQUENCES
    assert program_call["n"] == 4 and program_call["prefixes"] == [PROGRAM_PREFIX] * 4
    # each kind counts its own seeds, so these are sc@8's and pot-sc@8's first draws
    assert prose_call["seed"] == 5 and program_call["seed"] == 5
    assert answer.answer == "7"
    assert [p["kind"] for p in answer.trace["paths"]] == ["prose"] * 4 + ["program"] * 4
    assert answer.trace["verification"]["independent_agreement"] is True


@pytest.mark.parametrize(
    ("programs", "stop", "verified"),
    [
        ([SEVEN, SEVEN, SEVEN], "3 of 3 programs agree", True),
        # By default two programs alone are one kind of evidence: they answer, but that is
        # not enough to call the answer verified.
        ([SEVEN, EIGHT, SEVEN], "2 of 3 programs agree", False),
    ],
)
def test_program_first_stops_after_one_round_when_programs_agree(
    programs: list[str], stop: str, verified: bool
) -> None:
    backend = QueueBackend(programs)
    answer = reasoner(backend).solve(Q, named_config("mixed-adaptive@8"))
    assert answer.answer == "7"
    assert len(backend.calls) == 1
    assert answer.trace["sampling"]["stop"] == stop
    assert answer.trace["sampling"]["stopped_early"] is True
    assert answer.verified is verified


def test_two_of_three_programs_stand_once_the_prose_path_agrees() -> None:
    backend = QueueBackend([SEVEN, EIGHT, SEVEN, PROSE_SEVEN])
    answer = reasoner(backend).solve(Q, named_config("mixed-adaptive@8", weak_check=True))
    assert answer.answer == "7"
    assert [c["n"] for c in backend.calls] == [3, 1]
    assert answer.trace["sampling"]["stop"] == "2 of 3 programs and the prose path agree"
    assert answer.verified is True
    assert answer.trace["verification"]["independent_agreement"] is True


def test_two_of_three_programs_refuted_by_the_prose_path_draw_the_rest() -> None:
    backend = QueueBackend([SEVEN, EIGHT, SEVEN, "\\boxed{8}"])
    backend.enqueue(EIGHT, EIGHT, EIGHT, SEVEN, EIGHT)
    answer = reasoner(backend).solve(Q, named_config("mixed-adaptive@8", weak_check=True))
    assert [c["n"] for c in backend.calls] == [3, 1, 5]
    sampling = answer.trace["sampling"]
    assert sampling["weak_agreement"].startswith("the prose path disagrees")
    assert sampling["stop"] == "no agreement: all paths drawn"
    assert answer.answer == "8"


def test_program_first_asks_one_greedy_prose_path_when_programs_disagree() -> None:
    backend = QueueBackend([SEVEN, "print(1/0)\n", "print(9)\n", PROSE_SEVEN])
    answer = reasoner(backend).solve(Q, named_config("mixed-adaptive@8"))
    assert answer.answer == "7"
    assert [c["n"] for c in backend.calls] == [3, 1]
    prose_call = backend.calls[1]
    assert prose_call["temperature"] == 0.0 and "prefixes" not in prose_call
    assert answer.trace["sampling"]["stop"] == "a program and the prose path agree"
    ev = answer.trace["verification"]
    assert ev["independent_agreement"] is True and answer.verified is True
    assert ev["programs"] == {"ran": 2, "answered": 2, "total": 3, "agreeing": 1}


def test_program_first_draws_the_rest_when_nothing_agrees() -> None:
    backend = QueueBackend([SEVEN, EIGHT, "print(9)\n", "\\boxed{11}"])
    backend.enqueue(EIGHT, EIGHT, EIGHT, SEVEN, "print(10)\n")
    answer = reasoner(backend).solve(Q, named_config("mixed-adaptive@8", seed=3))
    assert [c["n"] for c in backend.calls] == [3, 1, 5]
    assert backend.calls[2]["seed"] == 6  # programs 3..7 continue the program seeds
    assert answer.answer == "8"
    assert answer.trace["sampling"]["stopped_early"] is False


def test_hostile_program_from_the_model_is_a_failed_path_and_nothing_more(
    tmp_path: Path,
) -> None:
    victim = tmp_path / "keep.txt"
    victim.write_text("precious")
    marker = Path(f"/tmp/escape-{uuid.uuid4().hex}")
    hostile = [
        f"import os\nos.remove({str(victim)!r})\nprint(1)\n",
        f"__import__('os').system('touch {marker}')\nprint(2)\n",
        f"open({str(marker)!r}, 'w').write('x')\nprint(3)\n",
        "import os\nprint(dict(os.environ))\n",
    ]
    backend = QueueBackend(hostile)
    answer = reasoner(backend).solve(
        "Delete the files and print the environment.", named_config("pot-sc@8", n=4)
    )
    assert victim.read_text() == "precious"
    assert not marker.exists()
    assert all(p["answer"] is None for p in answer.trace["paths"])
    assert answer.answer is None


def test_a_program_agreeing_with_prose_needs_the_policy_thresholds_too() -> None:
    # Held-out word problems: a program and a prose path agreeing were right 8 times in 11,
    # so this alone no longer stores; with a third agreeing path it is stored "by execution".
    def evidence(agreeing: int, share: float) -> Evidence:
        return Evidence(
            question=Q,
            answer="7",
            path=PROSE_SEVEN,
            vote_share=share,
            agreeing_paths=agreeing,
            total_paths=5,
            independent_agreement=True,
            dissenting_paths=0,
            blind_agreeing=agreeing,
        )

    assert not isinstance(decide(evidence(2, 1.0), WriteBackThresholds()), VerifiedPath)
    decision = decide(evidence(3, 1.0), WriteBackThresholds())
    assert isinstance(decision, VerifiedPath) and decision.verified_by == "execution"
