"""Re-count every stored vote with the answer normalisation before and after issue 25.

Issue 25: program paths print floats, and exact keys split ``31.999999999999996`` from
``32`` (agent/numeric.py says what changed). Nothing is sampled here; two sources are read:

- **Votes**: every committed per-question record under ``benchmarks/results`` (evaluation
  files, learning-curve work files, the suites' results.json) holds its paths' canonical
  answers (as the old code stored them), their kinds and the data set's answer. Each vote is
  re-grouped with the old key and comparison (``agent/extract.py`` at ``--before``, read from
  git) and with the current ones, in tally's order (first-seen buckets, ties to the first).
  Weights: the ``mixed`` configurations' kind weights, one per path for every other
  configuration (adaptive stopping and confidence weights are not replayed). Records that
  several files hold (a suite's results.json repeats its work files) count once.
- **Program outputs**: every program completion in the draw cache is run in the sandbox
  again and its output read with both normalisations: how many canonical answers change.

    python -m benchmarks.normalization_votes
"""

from __future__ import annotations

import json
import subprocess
import sys
import types
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import typer

from agent import extract
from agent.config import named_config
from agent.errors import ConfigError
from agent.numeric import MAX_DIGITS
from agent.paths import ReasoningPath
from agent.strategies.tally import tally
from evaluation.evaluate import DRAW_CACHE, RESULTS_DIR

BEFORE = "ec49493^"  # the last commit whose keys were exact rationals
OUTPUT = RESULTS_DIR / "normalization-votes.json"

Key = Callable[[str], str]
Same = Callable[[str | None, str | None], bool]


def module_at(rev: str, path: str = "agent/extract.py") -> types.ModuleType:
    """Import ``path`` as it was at git revision ``rev``, under a private module name."""
    source = subprocess.run(
        ["git", "show", f"{rev}:{path}"], check=True, capture_output=True, text=True
    ).stdout
    module = types.ModuleType(f"_before_{rev.replace('^', '_')}")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{rev}:{path}", "exec"), module.__dict__)
    return module


@dataclass(frozen=True)
class Vote:
    """One stored vote: a configuration's paths for one question."""

    source: str
    dataset: str
    task: str
    question: str
    config: str
    truth: str | None
    answers: tuple[str | None, ...]
    kinds: tuple[str, ...]


def votes_in(data: Any, source: str, dataset: str = "?", task: str = "math") -> Iterator[Vote]:
    """Every record with paths in a results file, wherever the file nests them."""
    if not isinstance(data, dict):
        return
    meta: dict[str, Any] = data["meta"] if isinstance(data.get("meta"), dict) else {}
    dataset = meta.get("dataset", dataset)
    task = data.get("task") or (meta.get("overrides") or {}).get("task") or task
    results = data.get("results")
    if isinstance(results, dict):
        for qid, by_config in results.items():
            if not isinstance(by_config, dict):
                continue
            for config, rec in by_config.items():
                if isinstance(rec, dict) and isinstance(rec.get("paths"), list):
                    paths = [p for p in rec["paths"] if isinstance(p, dict)]
                    yield Vote(
                        source,
                        dataset,
                        task,
                        str(qid),
                        str(config),
                        None if rec.get("truth") is None else str(rec["truth"]),
                        tuple(p.get("answer") for p in paths),
                        tuple(p.get("kind") or "prose" for p in paths),
                    )
    for name, part in (data.get("datasets") or {}).items():
        yield from votes_in(part, source, name, task)


def weights_of(config: str) -> dict[str, float]:
    """Vote weight per path kind: the ``mixed`` strategy's kind weights, else 1."""
    try:
        vote = named_config(config).vote
    except ConfigError:  # a peer's or an old configuration's name
        return {}
    return dict(vote.kind_weights) if vote.strategy == "mixed" else {}


@dataclass
class Group:
    """One bucket of a re-count: its first answer, member path indices and summed weight."""

    answer: str
    members: list[int]
    weight: float = 0.0


def group(
    answers: Sequence[str | None], weights: Sequence[float], key: Key, same: Same
) -> list[Group]:
    """``agent.strategies.tally.tally`` with a given key and comparison function."""
    groups: list[Group] = []
    keys: list[str] = []
    by_key: dict[str, Group] = {}
    for i, answer in enumerate(answers):
        if answer is None:
            continue
        k = key(answer)
        g = by_key.get(k)
        if g is None:
            g = next((g for g, gk in zip(groups, keys, strict=True) if same(gk, k)), None)
            if g is None:
                g = Group(answer, [])
                groups.append(g)
                keys.append(k)
            by_key[k] = g
        g.members.append(i)
        g.weight += weights[i]
    return groups


def winner(groups: Sequence[Group]) -> Group | None:
    """The heaviest group; the first seen on a tie (``tally.leader``)."""
    best = None
    for g in groups:
        if best is None or g.weight > best.weight:
            best = g
    return best


def recount(votes: Sequence[Vote], old: types.ModuleType) -> dict[str, Any]:
    """Re-group each vote with the old and the new normalisation and compare."""
    out: dict[str, Any] = {
        "votes": len(votes),
        "tally_changed": 0,
        "winner_changed": 0,
        "shown_answer_changed": 0,
        "became_right": 0,
        "became_wrong": 0,
        "changed_without_truth": 0,
        "tally_mirror_mismatches": 0,
        "questions_with_a_changed_tally": 0,
        "changes": [],
    }
    changed_questions: set[tuple[str, str]] = set()
    for v in votes:
        kind_w = weights_of(v.config)
        weights = [kind_w.get(k, 1.0) for k in v.kinds]
        # A path's answer as the current extractor would store it (math: denoised).
        new_answers = tuple(
            extract.normalize_math(a) if a is not None and v.task == "math" else a
            for a in v.answers
        )
        before = group(v.answers, weights, old.canonical_key, old.same_answer)
        after = group(new_answers, weights, extract.canonical_key, extract.same_answer)
        # The mirror must group exactly as the production tally does.
        real = tally([ReasoningPath(i, "", a) for i, a in enumerate(new_answers)])
        if [[p.index for p in b.members] for b in real] != [g.members for g in after]:
            out["tally_mirror_mismatches"] += 1
        w_old, w_new = winner(before), winner(after)
        shown_old = w_old.answer if w_old else None
        shown_new = w_new.answer if w_new else None
        tally_changed = [g.members for g in before] != [g.members for g in after]
        # The same winner may gain voters (merged spellings); it changed when it lost any.
        winner_changed = (w_old is None) != (w_new is None) or bool(
            w_old and w_new and not set(w_old.members) <= set(w_new.members)
        )
        out["tally_changed"] += tally_changed
        out["winner_changed"] += winner_changed
        out["shown_answer_changed"] += shown_old != shown_new
        if tally_changed:
            changed_questions.add((v.dataset, v.question))
        if not (tally_changed or shown_old != shown_new):
            continue
        right_old = right_new = None
        if v.truth is None:
            out["changed_without_truth"] += 1
        else:
            right_old = bool(old.same_answer(shown_old, v.truth))
            right_new = bool(extract.same_answer(shown_new, v.truth))
            out["became_right"] += right_new and not right_old
            out["became_wrong"] += right_old and not right_new
        out["changes"].append(
            {
                "source": v.source,
                "dataset": v.dataset,
                "question": v.question,
                "config": v.config,
                "truth": v.truth,
                "answers": list(v.answers),
                "before": {g.answer: g.weight for g in before},
                "after": {g.answer: g.weight for g in after},
                "shown_before": shown_old,
                "shown_after": shown_new,
                "tally_changed": tally_changed,
                "winner_changed": winner_changed,
                "right_before": right_old,
                "right_after": right_new,
            }
        )
    out["questions_with_a_changed_tally"] = len(changed_questions)
    return out


def program_outputs(old: types.ModuleType, workers: int) -> dict[str, Any]:
    """Run every cached program again; count outputs whose canonical answer changes."""
    import sqlite3

    from agent.backends.caching import _decode
    from agent.programs import PROGRAM_PREFIX, code_of
    from agent.sandbox import Sandbox

    db = sqlite3.connect(DRAW_CACHE)
    texts = [_decode(blob)["text"] for (blob,) in db.execute("SELECT completion FROM draws")]
    db.close()
    codes = [code_of(t) for t in texts if t.startswith(PROGRAM_PREFIX)]
    distinct = sorted(set(codes))
    sandbox = Sandbox()
    with ThreadPoolExecutor(workers) as pool:
        runs = dict(zip(distinct, pool.map(sandbox.run, distinct), strict=True))
    out: dict[str, Any] = {
        "program_completions": len(codes),
        "distinct_programs": len(distinct),
        "ran_ok": 0,
        "answered": 0,
        "canonical_changed": 0,
        "float_noise_removed": 0,
        "rounded_to_max_digits": 0,
        "examples": {"float_noise_removed": {}, "rounded_to_max_digits": {}},
    }
    for code in codes:
        run = runs[code]
        if run.status != "ok":
            continue
        out["ran_ok"] += 1
        a_old = old.extract_answer(run.stdout, "math")
        a_new = extract.extract_answer(run.stdout, "math")
        if a_new is None:
            continue
        out["answered"] += 1
        if a_old is not None and a_old.canonical == a_new.canonical:
            continue
        out["canonical_changed"] += 1
        # Noise: the float was a short number (196, 28.8); else a long quotient cut to 10 digits.
        digits = len(a_new.canonical.lstrip("-").replace(".", "").lstrip("0"))
        kind = "rounded_to_max_digits" if digits >= MAX_DIGITS else "float_noise_removed"
        out[kind] += 1
        out["examples"][kind][a_old.canonical if a_old else "(none)"] = a_new.canonical
    return out


def main(
    before: str = typer.Option(BEFORE, help="Git revision of the old agent/extract.py."),
    programs: bool = typer.Option(True, help="Also run the draw cache's programs again."),
    workers: int = typer.Option(4, help="Programs run at once."),
    output: Path = typer.Option(OUTPUT, help="Where the JSON result is written."),
) -> None:
    """Re-count stored votes (and cached program outputs) with the old and new normalisation."""
    old = module_at(before)
    # Committed records only: a run in progress may be writing others.
    tracked = subprocess.run(
        ["git", "ls-files", "--", f"{RESULTS_DIR}/*.json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    files = sorted(Path(f) for f in tracked if Path(f) != output)
    seen: set[tuple[Any, ...]] = set()
    votes, records = [], 0
    for path in files:
        for v in votes_in(json.loads(path.read_text()), str(path)):
            records += 1
            sig = (v.dataset, v.question, v.config, v.truth, v.answers)
            if sig not in seen and any(a is not None for a in v.answers):
                seen.add(sig)
                votes.append(v)
    result: dict[str, Any] = {
        "date": date.today().isoformat(),
        "before": subprocess.run(
            ["git", "rev-parse", "--short", before], check=True, capture_output=True, text=True
        ).stdout.strip(),
        "files": len(files),
        "records": records,
        "recount": recount(votes, old),
    }
    if programs:
        result["program_outputs"] = program_outputs(old, workers)
    r = result["recount"]
    typer.echo(
        f"{r['votes']} distinct votes ({records} records in {len(files)} files): "
        f"tally changed {r['tally_changed']} ({r['questions_with_a_changed_tally']} questions), "
        f"winner changed {r['winner_changed']}, shown answer changed "
        f"{r['shown_answer_changed']}; became right {r['became_right']}, "
        f"became wrong {r['became_wrong']}"
    )
    if programs:
        p = result["program_outputs"]
        typer.echo(
            f"draw cache: {p['program_completions']} program completions "
            f"({p['distinct_programs']} distinct), {p['answered']} printed an answer, "
            f"{p['canonical_changed']} canonical answers changed "
            f"({p['float_noise_removed']} float noise removed, "
            f"{p['rounded_to_max_digits']} long decimals cut to {MAX_DIGITS} digits)"
        )
    output.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    typer.run(main)
