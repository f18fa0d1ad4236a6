"""``reason eval``: configurations side by side on the same reasoning-gym questions.

Cheap by design (DEVELOPERS.md): every draw goes through a ``CachingBackend``, so
configurations that send the same prompt share draws; ``sc@k`` for k < n and the adaptive
stopping rule are derived from the ordered draws of ``sc@n`` (as the self-consistency and
Adaptive-Consistency papers do); results are saved after every question, so a killed run
resumes where it stopped. Evaluation never writes to memory.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from agent.backends.caching import CachingBackend
from agent.config import DERIVED_FROM, GraphConfig, named_config
from agent.extract import same_answer
from agent.paths import ReasoningPath
from agent.programs import Execution, program_text
from agent.strategies import VoteConfig
from agent.strategies.adaptive import replay
from agent.strategies.majority import aggregate as majority
from agent.trace import answer_program
from evaluation.datasets import open_dataset
from evaluation.learn import SolveResult
from memory import agreement_of
from service.compose import Ask, Service

RESULTS_DIR = Path("benchmarks/results")
# Every sampled path of every evaluation, keyed by prompt, model, settings and seed.
DRAW_CACHE = RESULTS_DIR / "cache" / "draws.db"

DEFAULT_CONFIGS = (
    "greedy",
    "cot",
    "sc@8",
    "adaptive@8",
    "adaptive-giveup@8",
    "cot-decoding@8",
)


@dataclass(frozen=True)
class Question:
    """One evaluation question with what the data set's scorer needs."""

    index: int
    question: str
    answer: str
    entry: dict[str, Any]


def load_questions(
    dataset: str, size: int, seed: int, start: int = 0
) -> tuple[list[Question], Callable[..., float]]:
    """Questions ``start .. start+size-1`` of a reasoning-gym split, and its own scorer.

    reasoning-gym derives item i from (seed, i) alone, so question i is the same whatever
    the split's size: a later range is a held-out part of the same split.
    """
    data = open_dataset(dataset, size=start + size, seed=seed)
    questions = [
        Question(i, e["question"], str(e["answer"]), e) for i, e in enumerate(data) if i >= start
    ]
    return questions, _yes_no_tolerant(data.score_answer)


def _yes_no_tolerant(scorer: Callable[..., float]) -> Callable[..., float]:
    """The data set's scorer, also accepting our normalized "yes"/"no" for its "Yes"/"No".

    Extraction lower-cases yes/no answers so that votes group; reasoning-gym's yes/no tasks
    (syllogism, ...) compare exact strings against the capitalized form.
    """

    def score(answer: str, entry: dict[str, Any]) -> float:
        result = scorer(answer, entry)
        if result < 1.0 and isinstance(answer, str) and answer.lower() in ("yes", "no"):
            result = max(result, scorer(answer.capitalize(), entry))
        return result

    return score


def training_solver(
    service: Service, config: GraphConfig, source: str
) -> Callable[[str], SolveResult]:
    """A ``solve(question)`` for ``evaluation.learn``: the answer, its evidence and its program.

    Every other answer a program path printed comes along as an alternative, with its
    program, for a learner that knows the ground truth to keep when the vote is wrong.
    """

    def solve(question: str) -> SolveResult:
        ans = service.answer(Ask(question, config, source=source))
        ev = ans.trace.get("verification") or {}
        program, output = answer_program(ans.trace, ans.answer) or (None, None)
        others: dict[str, SolveResult] = {}
        for p in ans.trace.get("paths") or []:
            other = p.get("answer")
            if p.get("kind") != "program" or p.get("status") != "ok" or not other:
                continue
            if same_answer(other, ans.answer) or other in others:
                continue
            run = Execution(p["program"], p["stdout"], None, "ok", p.get("run_seconds", 0.0))
            others[other] = SolveResult(
                answer=other,
                path=program_text(run),
                model=service.backend.model_name,
                program=p["program"],
                program_output=p["stdout"],
            )
        return SolveResult(
            answer=ans.answer or "",
            path=ans.rationale,
            principle=ans.trace.get("principle"),
            **agreement_of(ev),
            model=service.backend.model_name,
            program=program,
            program_output=output,
            alternatives=tuple(others.values()),
        )

    return solve


def wilson(correct: int, total: int) -> tuple[float, float]:
    """95% Wilson score interval for a proportion (scipy's; (0, 0) for no trials)."""
    if total == 0:
        return (0.0, 0.0)
    from scipy.stats import binomtest  # imported on use: scipy.stats takes ~0.5 s to load

    ci = binomtest(correct, total).proportion_ci(confidence_level=0.95, method="wilson")
    return (float(ci.low), float(ci.high))


def git_commit() -> str:
    """The short commit hash results are recorded with ("" outside a git checkout)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        )
    except OSError:  # no git binary
        return ""
    return out.stdout.strip()


def _paths_of(record: dict[str, Any]) -> list[ReasoningPath]:
    return [
        ReasoningPath(
            index=i,
            text="",
            answer=p["answer"],
            confidence=p.get("confidence"),
            completion_tokens=p["tokens"],
        )
        for i, p in enumerate(record["paths"])
    ]


def derived_records(
    record: dict[str, Any],
    score: Callable[[str | None], bool],
    n: int,
    adaptive: dict[str, VoteConfig],
) -> dict[str, dict[str, Any]]:
    """sc@k (k < n) and each adaptive configuration from the ordered draws of one sc@n record."""
    paths = _paths_of(record)
    out: dict[str, dict[str, Any]] = {}
    per_path_prompt = record["prompt_tokens"]  # one batched call: the prompt is paid once
    family = record["config"].rsplit("@", 1)[0]  # "sc", "pot-sc"
    for k in range(1, n):
        verdict = majority(paths[:k], VoteConfig(n=k))
        out[f"{family}@{k}"] = {
            "answer": verdict.answer,
            "correct": score(verdict.answer),
            "n_paths": k,
            "completion_tokens": sum(p.completion_tokens for p in paths[:k]),
            "prompt_tokens": per_path_prompt,
            "derived_from": record["config"],
        }
    for name, vote in adaptive.items():
        verdict = replay(
            paths,
            n,
            vote.stop_rule,
            round_size=vote.round_size,
            threshold=vote.beta_threshold,
            min_n=vote.min_n,
            give_up_after=vote.give_up_after,
        )
        used = verdict.n_paths
        rounds = 1 + max(0, math.ceil((used - vote.min_n) / vote.round_size))
        out[name] = {
            "answer": verdict.answer,
            "correct": score(verdict.answer),
            "n_paths": used,
            "completion_tokens": sum(p.completion_tokens for p in paths[:used]),
            # each round re-sends the prompt; the backend reuses its KV cache, but count it
            "prompt_tokens": per_path_prompt * rounds,
            "derived_from": record["config"],
            "stopped_early": verdict.stopped_early,
        }
    return out


def _first_round(recs: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    """Share of questions answered by the first round (think-first, or agreeing programs)
    and the accuracy on that share: what early answering buys and what it costs."""
    first = [
        r
        for r in recs
        if r.get("think_answer_now")
        or r.get("first_round")
        # records written before the flag existed say it only in the stop text
        or (r.get("stop") or "").endswith("programs agree")
    ]
    return {
        "first_round_share": len(first) / len(recs),
        "first_round_accuracy": sum(1 for r in first if r["correct"]) / len(first)
        if first
        else None,
    }


class Evaluation:
    """A resumable evaluation run written to one JSON file."""

    def __init__(self, path: Path, meta: dict[str, Any]) -> None:
        """Load earlier results from ``path`` when they match ``meta``'s data set and seed."""
        self.path = path
        self.data: dict[str, Any] = {"meta": meta, "results": {}}
        if path.exists():
            old = json.loads(path.read_text())
            same = all(old["meta"].get(k) == meta[k] for k in ("dataset", "seed", "model"))
            if same:
                self.data["results"] = old.get("results", {})
                # A file grows over sessions: keep every configuration and the first date.
                configs = list(old["meta"].get("configs", []))
                configs += [c for c in meta.get("configs", []) if c not in configs]
                first = old["meta"].get("first_date", old["meta"].get("date"))
                meta = {**meta, "configs": configs, "first_date": first}
        self.data["meta"] = meta

    @classmethod
    def load(cls, path: Path) -> Evaluation | None:
        """An earlier run's file as it stands (nothing is run), or None when there is none."""
        if not path.exists():
            return None
        return cls(path, json.loads(path.read_text())["meta"])

    def done(self, qid: int, config: str) -> bool:
        """Whether this question was already answered by this configuration."""
        return config in self.data["results"].get(str(qid), {})

    def put(self, qid: int, config: str, record: dict[str, Any]) -> None:
        """Store one record and save the file atomically."""
        self.put_many(qid, {config: record})

    def put_many(self, qid: int, records: dict[str, dict[str, Any]]) -> None:
        """Store several configurations' records for one question in one atomic save."""
        self.data["results"].setdefault(str(qid), {}).update(records)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1))
        os.replace(tmp, self.path)

    def summary(self, configs: Sequence[str]) -> list[dict[str, Any]]:
        """One row per configuration over the questions every listed configuration answered.

        Comparing on the same questions keeps the table paired when configurations were run
        to different depths (a resumed run, a configuration added later). Configurations
        found in the file but not listed get rows over the same questions.
        """
        results = {qid: self.data["results"][qid] for qid in self.common_questions(configs)}
        names = list(configs)
        for rec in results.values():
            for name in rec:
                if name not in names:
                    names.append(name)
        rows = []
        for name in names:
            recs = [r[name] for r in results.values() if name in r]
            if not recs:
                continue
            correct = sum(1 for r in recs if r["correct"])
            lo, hi = wilson(correct, len(recs))
            timed = [r for r in recs if "model_seconds" in r]
            rows.append(
                {
                    "config": name,
                    "questions": len(recs),
                    "accuracy": correct / len(recs),
                    "ci95": [round(lo, 4), round(hi, 4)],
                    "avg_paths": sum(r["n_paths"] for r in recs) / len(recs),
                    "completion_tokens": sum(r["completion_tokens"] for r in recs) / len(recs),
                    "prompt_tokens": sum(r["prompt_tokens"] for r in recs) / len(recs),
                    "seconds": (sum(r["model_seconds"] for r in timed) / len(timed))
                    if timed
                    else None,
                    # robust to a shared machine's stalls, which inflate a few questions
                    "median_seconds": statistics.median(r["model_seconds"] for r in timed)
                    if timed
                    else None,
                    "overhead_share": (sum(r.get("overhead_share", 0) for r in timed) / len(timed))
                    if timed
                    else None,
                    "derived": "derived_from" in recs[0],
                    "answered_at_once": sum(1 for r in recs if r.get("think_answer_now"))
                    / len(recs),
                    **_first_round(recs),
                }
            )
        return rows

    def common_questions(self, configs: Sequence[str]) -> list[str]:
        """Question ids answered by every listed configuration that has any answer yet."""
        results = self.data["results"]
        listed = [c for c in configs if any(c in r for r in results.values())]
        return [qid for qid, rec in results.items() if all(c in rec for c in listed)]

    def paired(self, a: str, b: str, configs: Sequence[str] = ()) -> tuple[int, int]:
        """Questions ``a`` got right and ``b`` wrong, and the reverse.

        Over the questions both answered, or the common questions of ``configs`` if given.
        """
        results = self.data["results"]
        qids = self.common_questions(configs) if configs else list(results)
        both = [results[q] for q in qids if a in results[q] and b in results[q]]
        a_only = sum(1 for r in both if r[a]["correct"] and not r[b]["correct"])
        b_only = sum(1 for r in both if r[b]["correct"] and not r[a]["correct"])
        return a_only, b_only


def run_eval(
    service: Service,
    *,
    dataset: str,
    size: int,
    seed: int,
    configs: Sequence[str],
    output: Path,
    overrides: dict[str, Any] | None = None,
    on_question: Callable[[int, str, dict[str, Any]], None] | None = None,
    start: int = 0,
) -> Evaluation:
    """Answer every question with every configuration; derive sc@k/adaptive from sc@n."""
    questions, scorer = load_questions(dataset, size, seed, start)
    backend = service.backend
    model = backend.model_name
    meta = {
        "dataset": dataset,
        "size": size,
        "start": start,
        "seed": seed,
        "model": model,
        "configs": list(configs),
        "date": date.today().isoformat(),
        "git_commit": git_commit(),
        "overrides": overrides or {},
    }
    ev = Evaluation(output, meta)
    derived = {c: DERIVED_FROM[c] for c in configs if DERIVED_FROM.get(c) in configs}
    live = [c for c in configs if c not in derived]
    # Behind the draw cache, a record also says how long its draws took when first drawn.
    cache = backend if isinstance(backend, CachingBackend) else None
    for q in questions:

        def score(answer: str | None, q: Question = q) -> bool:
            return answer is not None and scorer(answer, q.entry) >= 1.0

        for name in live:
            if ev.done(q.index, name):
                continue
            cfg: GraphConfig = named_config(name, write_back=False, **(overrides or {}))
            before = cache.drawn_seconds if cache is not None else 0.0
            ans = service.answer(Ask(q.question, cfg, source=f"eval:{dataset}:seed={seed}"))
            drawn = (cache.drawn_seconds - before) if cache is not None else None
            trace = ans.trace
            record = {
                "config": name,
                "answer": ans.answer,
                "truth": q.answer,
                "correct": score(ans.answer),
                "n_paths": len(trace["paths"]),
                "paths": [
                    {
                        "answer": p["answer"],
                        "tokens": p["tokens"],
                        "confidence": p["confidence"],
                        "model": p["model"],
                        "kind": p.get("kind", "prose"),
                        **({"status": p["status"]} if "status" in p else {}),
                        **({"analog": p["analog"], "copied": p["copied"]} if "analog" in p else {}),
                    }
                    for p in trace["paths"]
                ],
                "prompt_tokens": ans.usage.get("prompt_tokens", 0),
                "completion_tokens": ans.usage.get("completion_tokens", 0),
                "wall_seconds": ans.seconds,
                # what the draws cost when they were made (cache hits cost nothing now)
                "model_seconds": drawn if drawn is not None else ans.seconds,
                "overhead_share": trace["overhead_share"],
                "timings": trace["timings"],
                "verified": ans.verified,
                "think_answer_now": "think" in trace["sampling"]
                and trace["sampling"]["think"]["answer_now"],
                "stopped_early": bool(trace["sampling"].get("stopped_early")),
                "stop": trace["sampling"].get("stop"),
                # the answer kind and the paths routed for it (agent/routing.py)
                "route": trace.get("route") or {},
                "first_round": bool(trace["sampling"].get("first_round")),
                # what step-back and retrieval put in the prompt, to see why they help or hurt
                "principle": trace.get("principle"),
                "retrieved": {
                    "analogs": [a["id"] for a in trace["retrieved"]["analogs"]],
                    "analog_scores": [a["score"] for a in trace["retrieved"]["analogs"]],
                    "principles": [p["id"] for p in trace["retrieved"]["principles"]],
                },
            }
            ev.put(q.index, name, record)
            if on_question:
                on_question(q.index, name, record)
        # Derived rows are recomputed from the stored draws every time, so a configuration
        # added later (or a changed stopping rule) covers every question already sampled.
        for twin in sorted(c for c in live if c.startswith(("sc@", "pot-sc@"))):
            record = ev.data["results"].get(str(q.index), {}).get(twin)
            if record is None:
                continue
            n = named_config(twin).n
            adaptive = {c: named_config(c).vote for c, t in derived.items() if t == twin}
            rows = derived_records(record, score, n, adaptive)
            if any(ev.data["results"][str(q.index)].get(k) != v for k, v in rows.items()):
                ev.put_many(q.index, rows)
    return ev
