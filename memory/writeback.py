"""The write-back policy: only evidence that passes it becomes a ``VerifiedPath``.

``MemoryStore.add_problem`` accepts nothing but a ``VerifiedPath``, and a ``VerifiedPath``
can only be created by ``decide`` (its constructor checks a private token), so "only verified
paths are written back" is enforced by the types, not by a convention.

Rules, in order:

1. An empty answer or reasoning path is rejected.
2. A known ground truth decides alone: match -> verified, mismatch -> rejected.
3. Any failed deterministic check rejects.
4. Without a ground truth (a user's traffic), agreement must be independent of memory and
   unopposed: no answered path may reach another answer (``max_dissenting_paths``), and at
   least ``min_blind_agreeing`` agreeing paths must have been shown no recalled record at
   all, so a stored record never vouches for the question it was recalled into; and an
   executed program and a prose path must both reach it (``require_program_and_prose``;
   a configuration that draws no programs stores nothing from traffic).
   Chosen on the development word problems (seed 42, q0-27, empty memory): unanimous programs
   stored 8 answers, 7 right (the answer's "verified" flag: 14 of 21), and with the greedy
   prose path agreeing too 6 of 6; on the held-out q28-127 the same rules kept 42 answers
   (40 right) and 37 (36 right). A program agreeing with a prose path without the others was
   right 8 times in 11 (``python -m benchmarks.storage_rules``).
5. The vote share, the number of agreeing paths and (when configured) the answer confidence
   must reach the thresholds in ``WriteBackThresholds``. ``verified_by`` says ``execution``
   when a program and a prose path agreed as well, else ``consensus``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from memory.config import WriteBackThresholds

logger = logging.getLogger(__name__)

VerifiedBy = Literal["ground_truth", "execution", "consensus"]

_POLICY_TOKEN = object()

# The verify step's record names its agreement figures as Evidence does.
AGREEMENT_FIELDS = ("vote_share", "agreeing_paths", "total_paths", "confidence")


@dataclass(frozen=True, kw_only=True)
class Solution:
    """One answer and how it was reached: what a solver returns, and the part of the
    ``Evidence`` that a solver measures.

    Attributes:
        answer: The aggregated final answer.
        path: The full reasoning path that reached ``answer`` (the worked example).
        principle: The step-back principle or abstraction used, if any.
        vote_share: Share of sampled paths that agree with ``answer`` (0..1).
        agreeing_paths: Number of sampled paths that agree with ``answer``.
        total_paths: Number of sampled paths with a usable answer.
        confidence: Answer confidence (0..1), e.g. from token log-probs, if measured.
        model: The model that produced the path.
        program: The code of an executed program that printed ``answer``, if any.
        program_output: What that program printed.
    """

    answer: str
    path: str
    principle: str | None = None
    vote_share: float | None = None
    agreeing_paths: int | None = None
    total_paths: int | None = None
    confidence: float | None = None
    model: str | None = None
    program: str | None = None
    program_output: str | None = None


@dataclass(frozen=True, kw_only=True)
class Evidence(Solution):
    """What the reasoning graph knows about one answered question: its ``Solution`` (the
    answer, path and agreement figures) and the question's context.

    Attributes:
        question: The question as asked.
        domain: Task tag (e.g. ``gsm_symbolic``, ``arithmetic``), if known.
        checks: Deterministic checks by name and whether they passed.
        independent_agreement: A program the sandbox ran and a prose path reached ``answer``
            independently.
        dissenting_paths: Answered paths that reached another answer (None: not counted).
        blind_agreeing: Agreeing paths shown no recalled record (None: not counted; every
            path is blind when nothing was recalled).
        ground_truth: The known correct answer, if any.
        ground_truth_match: Whether ``answer`` matches ``ground_truth`` (None when unknown).
        source: Where the question came from (``gsm_symbolic:train:seed=1``, ``api``).
    """

    question: str
    domain: str | None = None
    checks: Mapping[str, bool] = field(default_factory=dict)
    independent_agreement: bool = False
    dissenting_paths: int | None = None
    blind_agreeing: int | None = None
    ground_truth: str | None = None
    ground_truth_match: bool | None = None
    source: str | None = None

    @classmethod
    def of(cls, solution: Solution, **context: Any) -> Evidence:
        """Evidence for ``solution`` (its ``Solution`` fields only), with the question's
        ``context`` (``question`` and any of the fields above) as keyword arguments."""
        solved = {f.name: getattr(solution, f.name) for f in fields(Solution)}
        return cls(**solved, **context)

    def summary(self) -> dict[str, Any]:
        """The numbers behind the verdict, stored as the row's evidence JSON."""
        return {
            **{name: getattr(self, name) for name in AGREEMENT_FIELDS},
            "checks": dict(self.checks),
            "independent_agreement": self.independent_agreement,
            "dissenting_paths": self.dissenting_paths,
            "blind_agreeing": self.blind_agreeing,
            "ground_truth_match": self.ground_truth_match,
        }


@dataclass(frozen=True)
class VerifiedPath:
    """Evidence that passed the write-back policy; created only by ``decide``."""

    evidence: Evidence
    verified_by: VerifiedBy
    _token: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Refuse construction outside the policy."""
        if self._token is not _POLICY_TOKEN:
            raise TypeError("a VerifiedPath is created only by memory.writeback.decide()")


@dataclass(frozen=True)
class Rejection:
    """Evidence that did not pass the write-back policy, with the reason."""

    reason: str
    evidence: Evidence


def _verified(evidence: Evidence, by: VerifiedBy) -> VerifiedPath:
    return VerifiedPath(evidence=evidence, verified_by=by, _token=_POLICY_TOKEN)


def agreement_of(verification: Mapping[str, Any]) -> dict[str, Any]:
    """The agreement figures of a verification record (the graph's ``verification`` dict,
    or a trace's), as keyword arguments for ``Evidence`` or ``SolveResult``."""
    return {name: verification.get(name) for name in AGREEMENT_FIELDS}


def decide(evidence: Evidence, thresholds: WriteBackThresholds) -> VerifiedPath | Rejection:
    """Apply the write-back policy to the evidence of one answered question.

    Args:
        evidence: Answer, path and the numbers the graph measured.
        thresholds: The configured minimums.

    Returns:
        A ``VerifiedPath`` that ``MemoryStore.add_problem`` accepts, or a ``Rejection``.
    """
    verdict = _decide(evidence, thresholds)
    if isinstance(verdict, Rejection):
        logger.debug("write-back rejected: %s", verdict.reason)
    else:
        logger.debug("write-back accepted by %s", verdict.verified_by)
    return verdict


def _decide(evidence: Evidence, t: WriteBackThresholds) -> VerifiedPath | Rejection:
    if not evidence.question.strip():
        return Rejection("empty question", evidence)
    if not evidence.answer.strip():
        return Rejection("empty answer", evidence)
    if not evidence.path.strip():
        return Rejection("empty reasoning path", evidence)
    if evidence.ground_truth_match is True:
        return _verified(evidence, "ground_truth")
    if evidence.ground_truth_match is False:
        return Rejection("answer does not match the ground truth", evidence)
    failed = sorted(name for name, passed in evidence.checks.items() if not passed)
    if failed:
        return Rejection(f"failed checks: {', '.join(failed)}", evidence)
    dissent, blind = evidence.dissenting_paths, evidence.blind_agreeing
    if (
        t.max_dissenting_paths is not None
        and dissent is not None
        and dissent > t.max_dissenting_paths
    ):
        return Rejection(f"{dissent} path(s) reached another answer", evidence)
    if blind is not None and blind < t.min_blind_agreeing:
        return Rejection(
            f"{blind} agreeing path(s) independent of recalled records, "
            f"need {t.min_blind_agreeing}",
            evidence,
        )
    if dissent is not None and t.require_program_and_prose and not evidence.independent_agreement:
        # Traffic (its dissent was counted): of the first 100 questions served (2026-12-02),
        # unanimous programs alone stored 28 answers, 2 wrong; with a prose path agreeing, 8, 0.
        return Rejection("no executed program and prose path agree", evidence)
    if evidence.vote_share is None or evidence.vote_share < t.min_vote_share:
        return Rejection(f"vote share {evidence.vote_share} below {t.min_vote_share}", evidence)
    if evidence.agreeing_paths is None or evidence.agreeing_paths < t.min_agreeing_paths:
        return Rejection(
            f"{evidence.agreeing_paths} agreeing paths, need {t.min_agreeing_paths}", evidence
        )
    if evidence.confidence is None:
        if t.require_confidence:
            return Rejection("no answer confidence measured", evidence)
    elif evidence.confidence < t.min_confidence:
        return Rejection(f"confidence {evidence.confidence} below {t.min_confidence}", evidence)
    return _verified(evidence, "execution" if evidence.independent_agreement else "consensus")
