"""Typed configuration of the memory package (storage place, write-back policy, limits)."""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict, Field

from retrieval.config import UnitInterval

logger = logging.getLogger(__name__)


class WriteBackThresholds(BaseModel):
    """When a solved question counts as verified and may be written back to memory.

    A ground-truth match (when known) decides alone; otherwise every threshold must hold.
    """

    model_config = ConfigDict(extra="forbid")

    min_vote_share: UnitInterval = Field(
        default=0.6,
        description="Smallest share of sampled paths that must agree with the final answer.",
    )
    min_agreeing_paths: int = Field(
        default=3, ge=1, description="Smallest number of sampled paths agreeing on the answer."
    )
    min_confidence: UnitInterval = Field(
        default=0.0,
        description="Smallest answer confidence (e.g. from token log-probs); 0 disables it.",
    )
    require_confidence: bool = Field(
        default=False,
        description="Reject evidence without an answer confidence instead of skipping the check.",
    )
    max_dissenting_paths: int | None = Field(
        default=0,
        ge=0,
        description=(
            "Most answered paths that may reach another answer when no ground truth is "
            "known; None disables. A dissenting path says the question reads two ways."
        ),
    )
    require_program_and_prose: bool = Field(
        default=True,
        description=(
            "Without a ground truth, an executed program and a prose path must both reach the "
            "answer (on the development questions: 6 of 6 stored answers right, against 7 of 8 "
            "for unanimous programs alone)."
        ),
    )
    require_computed_program: bool = Field(
        default=False,
        description=(
            "Without a ground truth, the stored program must compute its answer, not print "
            "it as a literal (relation = 'spouse'; print(relation) checks nothing). Off: on the "
            "family_relationships stream all 7 stored records were such programs, 3 wrong, and "
            "still lifted held-out accuracy from 7% to 20% (their one-word answers); no "
            "word-problem or chain-sum record was one."
        ),
    )
    min_blind_agreeing: int = Field(
        default=1,
        ge=0,
        description=(
            "Fewest agreeing paths shown no recalled record when no ground truth is known, "
            "so that memory never vouches for its own recall (0 disables)."
        ),
    )
    demote_after_lost: int | None = Field(
        default=2,
        ge=1,
        description=(
            "Recalls that led only to answers the verified verdict (or the ground truth) "
            "rejected before a record stops being recalled, once it has lost more recalls "
            "than it won; feedback's verdict is never overridden. None: never demote."
        ),
    )


class MemoryConfig(BaseModel):
    """Settings for the memory store."""

    model_config = ConfigDict(extra="forbid")

    db_name: str = Field(
        default="memory.db",
        description="SQLite file name inside the data directory (the source of truth).",
    )
    url: str | None = Field(
        default=None,
        description=(
            "PostgreSQL URL (postgresql://user:pass@host:5432/db) of a memory that several "
            "replicas share, vectors in pgvector; None keeps SQLite + FAISS in the data "
            "directory."
        ),
    )
    writeback: WriteBackThresholds = Field(
        default_factory=WriteBackThresholds,
        description="Thresholds a solved question must pass to be stored as verified.",
    )
    near_duplicate_cosine: UnitInterval = Field(
        default=0.95,
        description=(
            "A new problem at least this similar to a stored one with the same answer updates "
            "the stored row's counts instead of adding a row."
        ),
    )
    max_text_chars: int = Field(
        default=20000,
        ge=100,
        description="Largest question, reasoning path or principle accepted, in characters.",
    )
    index_save_every: int = Field(
        default=50,
        ge=1,
        description=(
            "Save the FAISS index files after this many writes (and on close); after a crash "
            "the index catches up from SQLite at the next open."
        ),
    )
