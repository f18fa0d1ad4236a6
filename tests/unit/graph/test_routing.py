"""Routing by kind through the graph: the answer kind read from the question, prose paths for
a word answer under ``route_by_kind``, programs kept for numbers; the trace says why. A
scripted backend writes the paths (pure routing logic); the real sandbox runs programs."""

from __future__ import annotations

import pytest

from agent.config import named_config
from agent.reasoner import Reasoner
from agent.routing import KIND_PLANS, PLANS, decide_route, routed
from agent.sandbox import Sandbox, SandboxLimits
from agent.trace_parts import Route
from memory import SEED_PRINCIPLES, MemoryStore
from memory.transfer import read_seed
from tests.support.queue_backend import QueueBackend

FAMILY = (
    "John is married to Isabella. They have a child called Edward.\n\n"
    "What is Isabella to Edward? Respond only with the word that describes their relationship."
)
WORD_PROBLEM = "Tom has 3 apples and buys 4 more. How many apples does he have?"
SANDBOX = Sandbox(SandboxLimits(wall_seconds=5.0, cpu_seconds=1.0))


def test_auto_reads_a_word_answer_and_keeps_its_spelling() -> None:
    backend = QueueBackend(["Mother-in-law."])
    answer = Reasoner(backend, sandbox=SANDBOX).solve(FAMILY, named_config("cot"))
    assert answer.answer == "mother-in-law"
    assert answer.trace["route"]["task"] == "text"
    assert "word" in answer.trace["route"]["task_reason"]
    assert "\\boxed{ANSWER}" in backend.calls[0]["messages"][0]["content"]


def test_a_configured_task_is_not_second_guessed() -> None:
    backend = QueueBackend(["The answer is \\boxed{7}."])
    answer = Reasoner(backend, sandbox=SANDBOX).solve(FAMILY, named_config("cot", task="math"))
    assert answer.answer == "7"
    assert answer.trace["route"] == {"task": "math", "task_reason": "set by the configuration"}


def test_full_answers_a_word_question_with_three_greedy_views() -> None:
    cfg = named_config("full", retrieval=False, write_back=False)
    program = 'print("mother")\n'
    # Drawn program, bare answer, then (they disagree) the chain of thought, listed first.
    backend = QueueBackend([program, "Sister", "Isabella is Edward's parent.\n\nMother"])
    answer = Reasoner(backend, sandbox=SANDBOX).solve(FAMILY, cfg)
    assert answer.answer == "mother"
    assert [p["kind"] for p in answer.trace["paths"]] == ["prose", "program", "prose"]
    assert all(c["n"] == 1 and c["temperature"] == 0.0 for c in backend.calls)
    assert answer.trace["vote"]["votes"] == {"mother": 2.0, "sister": 1.0}
    route = answer.trace["route"]
    assert route["plan"] == "greedy views" and "no programs" not in route["reason"]


@pytest.mark.parametrize("plan", sorted(PLANS))
def test_every_plan_makes_a_valid_configuration(plan: str) -> None:
    full = named_config("full")
    route: Route = {"task": "text", "plan": plan}
    cfg = routed(full, route)
    assert cfg.task == "text" and cfg.paths in ("prose", "mixed")
    assert cfg.name == "full" and cfg.retrieval == full.retrieval


def test_prose_rounds_stop_when_three_paths_agree() -> None:
    # The plan applied by hand (the run's own route node then only reads the answer kind).
    cfg = named_config("full", retrieval=False, write_back=False, route_by_kind=False)
    route: Route = {"task": "text", "plan": "prose rounds"}
    backend = QueueBackend(["Mother", "mother", "Mother."])
    reasoner = Reasoner(backend, sandbox=SANDBOX)
    answer = reasoner.solve(FAMILY, routed(cfg, route))
    assert answer.answer == "mother" and len(answer.trace["paths"]) == 3


def test_full_keeps_programs_first_for_a_number() -> None:
    cfg = named_config("full", retrieval=False, write_back=False)
    backend = QueueBackend(["print(3 + 4)\n"] * 3)
    answer = Reasoner(backend, sandbox=SANDBOX).solve(WORD_PROBLEM, cfg)
    assert answer.answer == "7"
    assert {p["kind"] for p in answer.trace["paths"]} == {"program"}
    assert "plan" not in answer.trace["route"]
    assert "mixed" in answer.trace["route"]["reason"]


def test_routed_leaves_an_unchanged_configuration_alone() -> None:
    cfg = named_config("cot", task="math")
    assert routed(cfg, decide_route(cfg, WORD_PROBLEM)) is cfg
    full = named_config("full")
    assert set(KIND_PLANS) == {"text", "yesno", "choice"}  # numbers keep full's programs
    views = routed(full, decide_route(full, FAMILY))
    assert (views.task, views.sampling, views.n, views.temperature) == ("text", "views", 3, 0)


def test_full_shows_a_recalled_fact_list_focused_on_the_question(store: MemoryStore) -> None:
    # The shipped leg facts, recalled (the hashing embedder scores anything; the real floor is
    # tested in test_principles_in_programs.py): the programs see only this question's facts.
    legs = next(t for t, _ in read_seed(SEED_PRINCIPLES) if "legs per animal" in t)
    store.add_principles([(legs, "counting")], source="seed")
    question = "How many legs are there in total if you have 3 crabs and 2 spiders?"
    backend = QueueBackend(["print(3 * 10 + 2 * 8)\n"] * 3)
    cfg = named_config("full", principle_min_score=None, write_back=False)
    answer = Reasoner(backend, memory=store, sandbox=SANDBOX).solve(question, cfg)
    assert answer.answer == "46"
    shown = backend.calls[0]["messages"][-1]["content"]
    assert "A crab has 10 legs." in shown and "A spider has 8 legs." in shown
    assert "woodlouse" not in shown and "Total legs" in shown
    assert answer.trace["retrieved"]["principles"][0]["text"] == legs  # the trace keeps it whole
