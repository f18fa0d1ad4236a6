"""Typed configuration of answer aggregation (the ``vote`` section of the settings)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from retrieval.config import UnitInterval

__all__ = ["MissingConfidence", "StopRule", "VoteConfig"]

StopRule = Literal["unbeatable", "beta", "never"]
MissingConfidence = Literal["mean", "zero", "one"]


class VoteConfig(BaseModel):
    """How sampled reasoning paths are turned into one answer."""

    strategy: str = Field(
        default="majority",
        description="Registry name of the aggregation strategy (see agent.strategies.STRATEGIES).",
    )
    n: int = Field(default=8, ge=1, le=256, description="Maximum number of paths to sample.")
    stop_rule: StopRule = Field(
        default="beta",
        description=(
            "Adaptive stopping rule: 'unbeatable' stops when the leader cannot be overtaken "
            "by the remaining budget, 'beta' when the Beta posterior that the leader is the "
            "majority exceeds beta_threshold, 'never' samples all n."
        ),
    )
    beta_threshold: float = Field(
        default=0.95,
        gt=0.5,
        lt=1.0,
        description="Posterior probability that the leader is the true majority needed to stop.",
    )
    round_size: int = Field(
        default=1,
        ge=1,
        description="Paths drawn per adaptive round; the stopping rule is checked after each.",
    )
    min_n: int = Field(
        default=1, ge=1, description="Never stop adaptive sampling before this many paths."
    )
    give_up_after: int | None = Field(
        default=None,
        ge=2,
        description=(
            "Adaptive sampling also stops when this many draws have all disagreed: the "
            "question is beyond the model, and more draws rarely form a majority there. "
            "None: never give up."
        ),
    )
    missing_confidence: MissingConfidence = Field(
        default="mean",
        description=(
            "Weight of a path without answer confidence in the weighted vote: 'mean' of the "
            "paths that have one, 'zero' (it does not vote) or 'one' (full weight)."
        ),
    )
    model_weights: dict[str, float] = Field(
        default_factory=dict,
        description="Per-model vote weights for the ensemble; unlisted models keep path.weight.",
    )
    kind_weights: dict[str, float] = Field(
        default_factory=dict,
        description="Vote weight per path kind ('program', 'prose') for the mixed vote; "
        "unlisted kinds weigh 1.0.",
    )
    usc_threshold: UnitInterval = Field(
        default=0.8,
        description="Similarity at or above which two free-form responses share a USC cluster.",
    )
    think_threshold: UnitInterval = Field(
        default=0.8,
        description="Answer confidence of the first path at or above which it is answered at once.",
    )
    think_require_checks: bool = Field(
        default=True,
        description="Answer at once only when the first path's arithmetic checks all pass.",
    )

    @model_validator(mode="after")
    def _min_n_within_budget(self) -> VoteConfig:
        if self.min_n > self.n:
            raise ValueError(f"min_n ({self.min_n}) must not exceed n ({self.n})")
        return self
