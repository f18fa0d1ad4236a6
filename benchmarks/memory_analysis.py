"""What memory did at each point of the learning curve: recall quality, copying, wins, losses.

Read from the learning curve's evaluation files and memories (nothing is sampled):

- **Recall quality**: for how many evaluation questions the top recalled analog is a problem
  of the same kind. gsm_symbolic questions come from templates, and a question's template is
  the set of variable names in its metadata, so "the same kind" is exact there.
- **Copying**: program paths that used a number of their analog's question that their own
  question does not contain (``agent/analogs.copied_numbers``), and how often those were right.
- **Paired counts** against the empty memory: questions won and lost, and the lost ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.extract import same_answer
from evaluation.evaluate import Evaluation, load_questions
from memory import MemoryConfig, open_store
from memory.errors import RecordNotFound
from memory.records import normalize_question
from retrieval import RetrievalConfig


def template(entry: dict[str, Any]) -> tuple[str, ...] | None:
    """A reasoning-gym entry's template (gsm_symbolic: its variable names), else None."""
    variables = (entry.get("metadata") or {}).get("variables")
    return tuple(sorted(variables)) if isinstance(variables, dict) else None


def training_templates(dataset: str, size: int, seed: int) -> dict[str, tuple[str, ...] | None]:
    """Normalised training question -> template, for the first ``size`` of the stream."""
    import reasoning_gym

    return {
        normalize_question(e["question"]): template(e)
        for e in reasoning_gym.create_dataset(dataset, size=max(size, 1), seed=seed)
    }


def served_templates(dataset: str, size: int, seed: int) -> list[tuple[str, ...] | None]:
    """The template of each question a stream of ``size`` serves, in order (evaluation
    overlaps skipped, as ``evaluation.traffic.serve_stream`` does)."""
    from evaluation.datasets import open_dataset
    from evaluation.learn import HELD_OUT_EVAL_SIZE, SplitReport, training_entries

    skipped = SplitReport(dataset=dataset, seed=seed)
    data = open_dataset(dataset, size=size, seed=seed)
    return [template(e) for _, e in training_entries(skipped, data, HELD_OUT_EVAL_SIZE)]


def _analog_questions(data_dir: Path, ids: set[str]) -> dict[str, str]:
    """Stored question of each recalled problem id (ids the memory no longer has are left out)."""
    if not ids or not (data_dir / "memory.db").exists():
        return {}
    store = open_store(data_dir, MemoryConfig(), RetrievalConfig())
    try:
        out = {}
        for pid in ids:
            try:
                out[pid] = store.get(int(pid)).question
            except (RecordNotFound, ValueError):
                continue
        return out
    finally:
        store.close()


def analyse_size(
    ev: Evaluation,
    config: str,
    data_dir: Path,
    eval_templates: dict[str, tuple[str, ...] | None],
    train_templates: dict[str, tuple[str, ...] | None],
) -> dict[str, Any]:
    """Recall quality and copying of ``config`` in one evaluation file.

    Args:
        ev: The evaluation at one memory size.
        config: The configuration analysed (its records carry the recalled analog ids).
        data_dir: That size's memory directory (to read the recalled questions).
        eval_templates: Question id -> template of the evaluation questions.
        train_templates: Normalised training question -> template.
    """
    records = {qid: recs[config] for qid, recs in ev.data["results"].items() if config in recs}
    ids = {str(a) for r in records.values() for a in (r.get("retrieved") or {}).get("analogs", [])}
    questions = _analog_questions(data_dir, ids)
    recalled = same = 0
    programs = copying = copying_right = clean_right = with_analog = 0
    for qid, rec in records.items():
        analogs = (rec.get("retrieved") or {}).get("analogs") or []
        if analogs:
            recalled += 1
            top = questions.get(str(analogs[0]))
            kind = train_templates.get(normalize_question(top)) if top else None
            same += int(kind is not None and kind == eval_templates.get(qid))
        for p in rec.get("paths") or []:
            if p.get("kind") != "program":
                continue
            programs += 1
            if "analog" not in p:
                continue
            with_analog += 1
            right = same_answer(p.get("answer"), rec["truth"])
            if p.get("copied"):
                copying += 1
                copying_right += int(right)
            else:
                clean_right += int(right)
    return {
        "questions": len(records),
        "recalled": recalled,
        "top_same_template": same,
        "program_paths": programs,
        "program_paths_with_analog": with_analog,
        "copying_paths": copying,
        "copying_accuracy": copying_right / copying if copying else None,
        "clean_accuracy": clean_right / (with_analog - copying) if with_analog - copying else None,
    }


def paired(base: Evaluation, other: Evaluation, config: str) -> dict[str, Any]:
    """Questions ``config`` answered right at one size and wrong at the other, both ways."""
    a, b = base.data["results"], other.data["results"]
    common = sorted((q for q in a if config in a[q] and config in b.get(q, {})), key=int)
    won = [q for q in common if b[q][config]["correct"] and not a[q][config]["correct"]]
    lost = [q for q in common if a[q][config]["correct"] and not b[q][config]["correct"]]
    return {"questions": len(common), "won": won, "lost": lost}


def misses_in_stream(
    ev: Evaluation,
    config: str,
    eval_templates: dict[str, tuple[str, ...] | None],
    served: Sequence[tuple[str, ...] | None],
    marks: str,
) -> dict[str, int]:
    """How the traffic stream answered the templates of the questions ``config`` got wrong.

    Memory can only help a question whose template it stored; a template the stream always
    answers wrong, or right but disputed, never gets a record.

    Args:
        ev: The evaluation at one memory size.
        config: The configuration analysed.
        eval_templates: Question id -> template of the evaluation questions.
        served: The template of each question the stream served, in order.
        marks: The stream's marks, one per served question (``evaluation.traffic``).
    """
    results = ev.data["results"]
    wrong = [q for q, recs in results.items() if config in recs and not recs[config]["correct"]]
    counts = dict.fromkeys("SXrwC", 0)
    for qid in wrong:
        kind = eval_templates.get(qid)
        for tpl, mark in zip(served, marks, strict=True):
            if kind is not None and tpl == kind:
                counts[mark] += 1
    return {
        "wrong": len(wrong),
        "same_template_served": sum(counts.values()),
        "right_stored": counts["S"],
        "right_not_stored": counts["r"],
        "wrong_stored": counts["X"],
        "wrong_not_stored": counts["w"],
        "corrected": counts["C"],
    }


def analyse_curve(
    work_dir: Path,
    *,
    dataset: str,
    sizes: Sequence[int],
    config: str,
    eval_seed: int,
    eval_start: int,
    eval_size: int,
    train_seed: int,
    learned: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Per memory size: recall quality, copying and paired counts against size 0; with the
    ``learned`` reports of an unlabelled (unpoisoned) stream, how the stream answered the
    templates of the questions still wrong (``misses_in_stream``)."""
    from benchmarks.learning_curve import curve_file, memory_dir

    questions, _ = load_questions(dataset, eval_size, eval_seed, eval_start)
    eval_templates = {str(q.index): template(q.entry) for q in questions}
    train_templates = training_templates(dataset, max(sizes), train_seed)
    base = Evaluation.load(curve_file(work_dir, dataset, min(sizes)))
    out: dict[str, Any] = {"config": config, "sizes": {}}
    for size in sizes:
        ev = Evaluation.load(curve_file(work_dir, dataset, size))
        if ev is None:
            continue
        row = analyse_size(ev, config, memory_dir(work_dir, size), eval_templates, train_templates)
        if base is not None and size != min(sizes):
            row["paired_vs_empty"] = paired(base, ev, config)
        report = (learned or {}).get(str(size)) or {}
        marks = report.get("marks")
        templated = any(t is not None for t in eval_templates.values())
        if templated and report.get("labels") is False and marks and not report.get("poisoned"):
            served = served_templates(dataset, size, train_seed)
            if len(served) == len(marks):
                row["misses_in_stream"] = misses_in_stream(
                    ev, config, eval_templates, served, marks
                )
        out["sizes"][str(size)] = row
    return out
