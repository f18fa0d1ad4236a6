"""Fill memory from a reasoning-gym training split: solve, score against ground truth, store.

Only paths whose answer scores 1.0 against the dataset's ground truth are stored (the
write-back policy's ground-truth rule), with the program that printed the answer when the
solver ran one. Seeds in ``EVAL_SEEDS`` are reserved for evaluation:
``learn`` refuses them, so a training run cannot store the questions a benchmark will ask.
The evaluation harness must draw its seeds from ``EVAL_SEEDS``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from agent.errors import ConfigError
from evaluation.datasets import open_dataset
from memory.config import WriteBackThresholds
from memory.interface import MemoryInterface
from memory.records import normalize_question
from memory.writeback import Evidence, Rejection, Solution, decide

logger = logging.getLogger(__name__)


class ReservedSeedError(ConfigError):
    """A training seed is reserved for evaluation."""


#: Seeds reserved for evaluation splits; training (``learn``) refuses them.
EVAL_SEEDS: frozenset[int] = frozenset({0, 42, 1000, 1001, 1002, 1003, 1004})
#: The training seed used when none is given.
DEFAULT_TRAIN_SEED = 1
# Training skips questions that occur among the first this-many questions of any evaluation
# split: procedural generators repeat (7 of gsm_symbolic's first 400 seed-1 questions are in
# seed 42's first 1000). Fixed, so a memory never depends on how large an evaluation is.
HELD_OUT_EVAL_SIZE = 500


@dataclass(frozen=True, kw_only=True)
class SolveResult(Solution):
    """What a solver returns for one question: a ``Solution`` (answer, path, agreement
    figures, model and program) and the answers it passed over.

    Attributes:
        alternatives: Other answers the solver's paths reached, each with its own path and
            program: when the chosen answer is wrong, a learner that knows the ground truth
            may keep a right one instead (rejection sampling, as in STaR).
    """

    alternatives: tuple[SolveResult, ...] = ()


Solver = Callable[[str], SolveResult]


@dataclass(kw_only=True)
class SplitReport:
    """What every pass over a training split counts (``learn``, ``traffic.serve_stream``)."""

    dataset: str
    seed: int
    attempted: int = 0
    correct: int = 0
    merged: int = 0
    skipped_eval_overlap: int = 0


@dataclass(kw_only=True)
class LearnReport(SplitReport):
    """Outcome of one ``learn`` run."""

    recovered: int = 0
    added: int = 0
    rejections: Counter[str] = field(default_factory=Counter)

    @property
    def accuracy(self) -> float:
        """Share of attempted questions answered correctly."""
        return self.correct / self.attempted if self.attempted else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "dataset": self.dataset,
            "seed": self.seed,
            "attempted": self.attempted,
            "correct": self.correct,
            "accuracy": round(self.accuracy, 4),
            "recovered": self.recovered,
            "added": self.added,
            "merged": self.merged,
            "skipped_eval_overlap": self.skipped_eval_overlap,
            "rejections": dict(self.rejections),
        }


def check_training_seed(seed: int) -> None:
    """Raise ``ReservedSeedError`` if ``seed`` is reserved for evaluation."""
    if seed in EVAL_SEEDS:
        raise ReservedSeedError(
            f"seed {seed} is reserved for evaluation ({sorted(EVAL_SEEDS)}); "
            "choose another training seed"
        )


def eval_questions(dataset: str, size: int) -> set[str]:
    """Normalised questions of every evaluation split of ``dataset`` with ``size`` entries."""
    questions: set[str] = set()
    for seed in sorted(EVAL_SEEDS):
        for entry in open_dataset(dataset, size=size, seed=seed):
            questions.add(normalize_question(entry["question"]))
    return questions


def training_entries(
    report: SplitReport, data: Iterable[dict[str, Any]], exclude_eval_size: int
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``data``'s entries in order with their index, but those that occur among the first
    ``exclude_eval_size`` questions of an evaluation split (``report`` counts them)."""
    held_out = eval_questions(report.dataset, exclude_eval_size) if exclude_eval_size > 0 else set()
    for number, entry in enumerate(data):
        if held_out and normalize_question(entry["question"]) in held_out:
            report.skipped_eval_overlap += 1
            continue
        yield number, entry


def learn(
    store: MemoryInterface,
    solve: Solver,
    dataset: str = "gsm_symbolic",
    size: int = 50,
    seed: int = DEFAULT_TRAIN_SEED,
    *,
    thresholds: WriteBackThresholds | None = None,
    exclude_eval_size: int = 0,
    on_step: Callable[[int, dict[str, Any], SolveResult, bool], None] | None = None,
    retry: Solver | None = None,
) -> LearnReport:
    """Solve a reasoning-gym training split and store every correctly solved path.

    Each stored row is committed as soon as it is solved, so an interrupted run keeps its
    progress. Errors raised by ``solve`` propagate.

    Args:
        store: Where verified paths go.
        solve: The solver (the agent graph, or a plain chain-of-thought call).
        dataset: reasoning-gym dataset name (``gsm_symbolic``, ``basic_arithmetic``, ...).
        size: Number of questions to draw.
        seed: Training seed; must not be in ``EVAL_SEEDS``.
        thresholds: Write-back thresholds (default: the store's).
        exclude_eval_size: When > 0, skip training questions that also occur in the
            evaluation splits of this size (procedural generators can repeat questions).
        on_step: Called after each question with (index, entry, result, correct), where
            ``correct`` is the first answer's score (what the solver alone would have got).
        retry: When the answer is wrong, and none of its alternatives is right, a second
            solver (e.g. several sampled programs) whose right answer, if any, is stored:
            the ground truth picks among its draws. ``recovered`` counts these.

    Returns:
        Counts of attempted, correct, added and merged questions.

    Raises:
        ReservedSeedError: ``seed`` is an evaluation seed.
    """
    check_training_seed(seed)
    policy = thresholds or store.memory.writeback
    data = open_dataset(dataset, size=size, seed=seed)
    report = LearnReport(dataset=dataset, seed=seed)
    source = f"{dataset}:train:seed={seed}"
    for number, entry in training_entries(report, data, exclude_eval_size):
        report.attempted += 1
        first = solve(entry["question"])

        def right(r: SolveResult, entry: dict[str, Any] = entry) -> bool:
            return bool(r.answer) and float(data.score_answer(r.answer, entry)) >= 1.0

        correct = right(first)
        report.correct += int(correct)
        result = first
        if not correct:
            found = next((a for a in first.alternatives if right(a)), None)
            if found is None and retry is not None:
                again = retry(entry["question"])
                found = next((a for a in (again, *again.alternatives) if right(a)), None)
            if found is not None:
                result = found
                report.recovered += 1
        evidence = Evidence.of(
            result,
            question=entry["question"],
            domain=dataset,
            ground_truth=str(entry["answer"]),
            ground_truth_match=right(result),
            source=source,
        )
        verdict = decide(evidence, policy)
        if isinstance(verdict, Rejection):
            report.rejections[verdict.reason] += 1
        else:
            added = store.add_problem(verdict)
            if added.action == "added":
                report.added += 1
            else:
                report.merged += 1
        if on_step is not None:
            on_step(number, entry, first, correct)
    logger.info(
        "learned %s seed=%d: %d/%d correct (+%d recovered), %d added, %d merged",
        dataset,
        seed,
        report.correct,
        report.attempted,
        report.recovered,
        report.added,
        report.merged,
    )
    return report
