"""Graph configurations: every technique is a switch, and named configurations compare them.

One graph serves "greedy", "cot", "sc@8", "sc@8+verifier", "adaptive@8", "adaptive-giveup@8",
"cot-decoding@8", "stepback+sc", "retrieval+sc", "ensemble" and "full": each is a
``GraphConfig``; the graph reads the switches and skips what is off. ``reason eval`` runs
several on the same questions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from agent.errors import ConfigError
from agent.extract import TaskKind
from agent.strategies import STRATEGIES, VoteConfig

PromptStyle = Literal["cot", "analogical", "plain"]
Sampling = Literal["fixed", "adaptive", "cot_decoding", "program_first", "views"]
PathKinds = Literal["prose", "program", "mixed"]


class GraphConfig(BaseModel):
    """Which nodes run and with what budget."""

    name: str = Field("custom", description="Name shown in traces and eval tables")
    task: TaskKind | Literal["auto"] = Field(
        "auto",
        description="Answer kind: math, choice, yesno or text; auto: read from each question "
        "(agent/kinds.py)",
    )
    route_by_kind: bool = Field(
        False,
        description="Draw the paths that pay for the question's answer kind (agent/routing.py): "
        "e.g. prose paths, not programs, for a question answered by a word",
    )
    step_back: bool = Field(False, description="Ask for the principle behind the question first")
    retrieval: bool = Field(False, description="Recall analogous solved problems and principles")
    k_analogs: int = Field(3, ge=0, le=10, description="Worked analogs put in the prompt")
    k_principles: int = Field(2, ge=0, le=10, description="Stored principles put in the prompt")
    min_score: float = Field(0.45, ge=-1, le=1, description="Cosine floor for recalled analogs")
    principle_min_score: float | None = Field(
        None, ge=-1, le=1, description="Cosine floor for recalled principles (None: any)"
    )
    rotate_analogs: bool = Field(
        True,
        description="Show each program path one recalled program, rotating over them, so "
        "programs that agree saw different examples; else every program sees all of them",
    )
    prompt: PromptStyle = Field(
        "cot",
        description="cot: step-by-step instruction; analogical: the model recalls related "
        "problems itself when memory has none; plain: the bare question, no instruction",
    )
    empty_memory_prompt: Literal["cot", "analogical"] = Field(
        "cot",
        description="Prompt style when retrieval is on but recalled nothing: plain CoT, or "
        "analogical prompting (the model recalls related problems itself)",
    )
    sampling: Sampling = Field(
        "fixed",
        description="fixed: n paths in one batch; adaptive: rounds until the vote is decided; "
        "cot_decoding: branch on the top-k first tokens, continue each greedily; "
        "program_first: a round of programs, one greedy prose path when they disagree, "
        "the rest of the programs when that prose path agrees with none of them; "
        "views: greedy paths of different kinds (a program, the bare question, and a chain of "
        "thought when those two differ), one vote",
    )
    paths: PathKinds = Field(
        "prose",
        description="prose: chains of thought; program: Python programs the sandbox runs; "
        "mixed: half of the n paths of each kind, pooled in one vote",
    )
    program_max_tokens: int = Field(
        300, ge=16, le=4096, description="Length cap per program (never above max_tokens)"
    )
    program_round: int = Field(
        3, ge=1, le=64, description="program_first: programs drawn in the first round"
    )
    program_agree: int = Field(
        2,
        ge=1,
        le=64,
        description="program_first: answer after the first round when this many programs agree",
    )
    # Off: on the 28 development word problems it drew 28% more tokens for the same 17
    # right answers (benchmarks/results/weak-agreement-dev.json). Two agreeing programs
    # still answer, but are not "verified" (agent/nodes/verify.py), so they are not stored.
    weak_check: bool = Field(
        False,
        description="program_first: when fewer than all first-round programs agree, draw the "
        "prose path and stop only if it agrees with them (else draw the remaining programs)",
    )
    n: int = Field(8, ge=1, le=64, description="Paths (or CoT-decoding branches) at most")
    temperature: float = Field(0.7, ge=0, le=2, description="Sampling temperature")
    top_p: float = Field(0.95, gt=0, le=1, description="Nucleus sampling mass")
    max_tokens: int = Field(400, ge=16, le=8192, description="Length cap per path")
    seed: int = Field(0, description="Seed of the first path; path i uses seed + i")
    think_first: bool = Field(
        False, description="Draw one path first and answer at once when it is confident"
    )
    confidence: bool = Field(
        False, description="Ask for token log-probs and compute each path's answer confidence"
    )
    vote: VoteConfig = Field(default_factory=VoteConfig, description="Aggregation strategy")
    ensemble: dict[str, float] = Field(
        default_factory=dict,
        description="Extra models and their vote weights; their paths join the vote",
    )
    checks: bool = Field(True, description="Recompute arithmetic claims in the winning path")
    verifier: bool = Field(
        False, description="Let the model score the top candidates (P(Yes)); off by default"
    )
    write_back: bool = Field(True, description="Offer verified answers to memory")
    confirm_draws: int = Field(
        2,
        ge=0,
        le=8,
        description="write-back without a ground truth: programs drawn from the plain prompt "
        "(no recalled record shown) to confirm an unanimous answer before storing it, when its "
        "agreement leans on recalled records or falls this many paths short; 0: never",
    )
    deadline_s: float | None = Field(
        None, gt=0, description="Stop sampling at this wall time and answer with what exists"
    )

    @model_validator(mode="after")
    def _consistent(self) -> GraphConfig:
        if self.vote.strategy not in STRATEGIES:
            known = ", ".join(sorted(STRATEGIES))
            raise ValueError(f"unknown vote strategy {self.vote.strategy!r}; known: {known}")
        if self.sampling in ("program_first", "views") and self.paths != "mixed":
            raise ValueError(f"{self.sampling} draws programs and prose: set paths='mixed'")
        if self.sampling == "program_first":
            # A smaller budget (a request's reasoning_paths) shrinks the first round with it.
            self.program_round = min(self.program_round, self.n)
            self.program_agree = min(self.program_agree, self.program_round)
        if self.vote.n != self.n:
            update = {"n": self.n, "min_n": min(self.vote.min_n, self.n)}
            self.vote = self.vote.model_copy(update=update)
        return self


def _sc(n: int, **kw: object) -> dict[str, object]:
    return {"n": n, "temperature": 0.7, **kw}


_NAMED: dict[str, dict[str, object]] = {
    # One greedy answer to the bare question: the model alone.
    "greedy": {"prompt": "plain", "n": 1, "temperature": 0.0, "write_back": False},
    # One greedy chain of thought with the answer format instruction.
    "cot": {"n": 1, "temperature": 0.0, "write_back": False},
    # CoT-decoding: no instruction, top-8 first tokens, greedy continuations, confidence vote.
    "cot-decoding@8": {
        "prompt": "plain",
        "sampling": "cot_decoding",
        "n": 8,
        "temperature": 0.0,
        "confidence": True,
        "vote": {"strategy": "cot_decoding"},
        "write_back": False,
    },
    "sc@8": _sc(8, write_back=False),
    # sc@8's draws (same prompt, same seeds), re-ranked by the model's own P("Yes") per
    # distinct answer: the generative verifier measured at the cost of its short calls only.
    "sc@8+verifier": _sc(8, verifier=True, write_back=False),
    "adaptive@8": _sc(
        8,
        sampling="adaptive",
        write_back=False,
        vote={"stop_rule": "beta", "beta_threshold": 0.9, "min_n": 3, "round_size": 1},
    ),
    # The same rule, less patient: stop at P > 0.8, and give up once 3 draws all disagree.
    # Chosen on questions 0-19 of the seed-42 evaluation; later questions are its check.
    "adaptive-giveup@8": _sc(
        8,
        sampling="adaptive",
        write_back=False,
        vote={"stop_rule": "beta", "beta_threshold": 0.8, "min_n": 1, "give_up_after": 3},
    ),
    "ensemble": _sc(
        8, ensemble={"qwen2.5-0.5b": 0.5}, vote={"strategy": "ensemble"}, write_back=False
    ),
    "stepback+sc": _sc(8, step_back=True, write_back=False),
    "retrieval+sc": _sc(8, retrieval=True, write_back=False),
    # Program-aided paths (agent/programs.py): the coder model writes Python, the sandbox runs it.
    "pot": {"paths": "program", "n": 1, "temperature": 0.0, "write_back": False},
    "pot-sc@4": _sc(4, paths="program", write_back=False),
    "pot-sc@8": _sc(8, paths="program", write_back=False),
    # pot shown the nearest verified program (same floor as full): the cheap learner that
    # fills memory from a training stream, each solved question helping the next ones.
    # The learner's second try on a question it got wrong: 4 sampled programs (each shown
    # the nearest verified program, or none), of which the ground truth keeps a right one.
    "pot-sc@4+memory": _sc(
        4,
        paths="program",
        retrieval=True,
        k_analogs=1,
        k_principles=0,
        min_score=0.7,
        write_back=False,
    ),  # fmt: skip
    "pot+memory": {
        "paths": "program",
        "n": 1,
        "temperature": 0.0,
        "retrieval": True,
        "k_analogs": 1,
        "k_principles": 0,
        "min_score": 0.7,
        "write_back": False,
    },
    # 4 sampled prose paths (sc@8's first 4 draws) and 4 programs (pot-sc@8's first 4), one vote.
    "mixed@8": _sc(8, paths="mixed", vote={"strategy": "mixed"}, write_back=False),
    "mixed-adaptive@8": _sc(
        8, paths="mixed", sampling="program_first", vote={"strategy": "mixed"}, write_back=False
    ),
    # The default: the best measured combination (README, "Evaluation"). Step-back, think-first
    # on answer confidence and the model's own verifier each measured below their absence on
    # this model, so they are off here (their nodes stay, for other configurations). Memory
    # shows each program path one recalled verified program of a similar problem (the first
    # round: one program per analog, the top 2), only above cosine 0.7: on the training
    # stream that floor keeps 92% of same-template pairs at 96% precision
    # (benchmarks/analog_threshold.py). With nothing recalled, a question answered by a
    # number is mixed-adaptive@8 exactly.
    "full": _sc(
        8,
        paths="mixed",
        sampling="program_first",
        vote={"strategy": "mixed"},
        retrieval=True,
        k_analogs=2,
        # One stored principle, only when it is about this very kind of question (cosine >=
        # 0.55: the leg-count facts for all of 200 leg-counting questions, nothing for any
        # gsm_symbolic, chain_sum, lcm, family or syllogism one), focused on the question
        # (agent/focus.py): leg_counting development questions 1/20 -> 18/20.
        k_principles=1,
        principle_min_score=0.55,
        min_score=0.7,
        # Words, yes/no and letters get three greedy views, a chain of thought, a program and
        # the bare answer, one vote (agent/routing.py): on development questions programs
        # first answered 0 of 7 family relationships; sampled prose paths voted worse than
        # the greedy chain of thought on syllogisms (3/6 vs 5/6); the views 17/20 vs 14/20.
        route_by_kind=True,
    ),
}
NAMED_CONFIGS: tuple[str, ...] = tuple(_NAMED)

# Adaptive configurations draw a prefix of their fixed-n twin's draws (same prompt, same
# seeds), so an evaluation derives them from the twin's record instead of sampling again.
DERIVED_FROM: dict[str, str] = {"adaptive@8": "sc@8", "adaptive-giveup@8": "sc@8"}


def named_config(name: str, **overrides: object) -> GraphConfig:
    """Build a named configuration, optionally overriding fields (e.g. ``n``, ``seed``)."""
    try:
        base = _NAMED[name]
    except KeyError:
        raise ConfigError(
            f"unknown graph configuration {name!r}; known: {', '.join(NAMED_CONFIGS)}"
        ) from None
    return GraphConfig(name=name, **{**base, **overrides})


def with_defaults(config: GraphConfig, defaults: dict[str, float | int | None]) -> GraphConfig:
    """Apply service-wide sampling defaults (REASON_N, REASON_TEMPERATURE, ...) to a config.

    ``max_tokens`` applies to every configuration; ``n``, ``temperature`` and ``top_p`` only
    to configurations that sample (n > 1), so "greedy" and "cot" stay single greedy paths.
    """
    update = {"max_tokens": defaults.get("max_tokens")}
    if config.n > 1 and config.sampling != "cot_decoding":
        update |= {k: defaults.get(k) for k in ("n", "temperature", "top_p")}
    update = {k: v for k, v in update.items() if v is not None}
    return GraphConfig(**{**config.model_dump(), **update}) if update else config


def configure(
    config: GraphConfig | str,
    defaults: Mapping[str, float | int | None] | None = None,
    **overrides: Any,
) -> GraphConfig:
    """The configuration one request runs: a name (with the service's sampling defaults) or
    an object, then the request's own overrides (``None`` values are left out).

    The one place a configuration is merged; every way in calls it.

    Raises:
        pydantic.ValidationError: An override the configuration refuses.
    """
    base = (
        config
        if isinstance(config, GraphConfig)
        else with_defaults(named_config(config), dict(defaults or {}))
    )
    update = {k: v for k, v in overrides.items() if v is not None}
    return GraphConfig(**{**base.model_dump(), **update}) if update else base
