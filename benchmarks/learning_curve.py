"""The memory learning curve: evaluation accuracy as memory grows from a training stream.

For each size N, a fresh memory data directory learns the first N questions of a training
split (seed from outside ``EVAL_SEEDS``, questions that also occur in the evaluation split
skipped), then the same evaluation questions are answered by each configuration with the
same sampling budget. Relearning every size from scratch costs little: the solver's draws
come from the draw cache, so only embedding and storing are paid again, and each size stays
exactly "the first N training questions" rather than depending on an earlier run.

With ``labels=False`` the training stream is served as a user's traffic instead
(``evaluation.traffic``): the configuration answers with write-back on and no ground truth,
its own policy decides what is stored, and each point reports the precision of what was
stored, scored against the data set afterwards.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from agent.backends.base import Backend
from agent.config import named_config
from agent.reasoner import Reasoner
from evaluation.evaluate import Evaluation, git_commit, run_eval, training_solver
from evaluation.learn import HELD_OUT_EVAL_SIZE, check_training_seed, learn
from evaluation.traffic import serve_stream
from memory import MemoryConfig, open_store
from retrieval import RetrievalConfig
from service.compose import Service

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]


def memory_dir(work_dir: Path, size: int) -> Path:
    """The data directory that holds memory learned from ``size`` training questions."""
    return work_dir / "memory" / f"size-{size}"


def build_memory(
    backend: Backend,
    data_dir: Path,
    *,
    dataset: str,
    size: int,
    train_seed: int,
    learn_config: str,
    overrides: dict[str, Any],
    retry_config: str | None = None,
    labels: bool = True,
    poison_every: int = 0,
    correct_every: int = 0,
) -> dict[str, Any]:
    """Learn the first ``size`` training questions into ``data_dir`` (skipped when done).

    ``labels=False`` serves them as traffic with ``learn_config`` (which must write back):
    no ground truth, the write-back policy decides; ``poison_every`` > 0 poisons every k-th
    question (``evaluation.traffic.POISONS``); ``correct_every`` > 0 corrects every k-th
    wrong answer with the data set's (a reviewer's feedback).

    ``retry_config`` solves again the questions ``learn_config`` got wrong; the ground truth
    keeps a right draw (``evaluation.learn``'s ``retry``). A memory learned by other
    configurations or from another stream is relearned.

    Returns:
        The learn report, with the number of stored problems, as saved in ``learned.json``.
    """
    marker = data_dir / "learned.json"
    if marker.exists():
        done = json.loads(marker.read_text())
        learner = (
            done.get("seed", train_seed),
            done.get("learn_config"),
            done.get("retry_config"),
            done.get("labels", True),
            done.get("poisoned_every", 0),
            done.get("correct_every", 0),
        )
        wanted = (train_seed, learn_config, retry_config, labels, poison_every, correct_every)
        if size == 0 or learner == wanted:
            return dict(done)
    check_training_seed(train_seed)
    if data_dir.exists():
        # A build stopped half-way: start over, so the memory is exactly the first ``size``
        # questions (their draws are cached, so redoing them costs only embedding).
        shutil.rmtree(data_dir)
    store = open_store(data_dir, MemoryConfig(), RetrievalConfig())
    try:
        # Size 0 is the product's fresh state: the shipped principles, no solved problems.
        if store.stats().principles == 0:
            store.seed_principles()
        report: dict[str, Any] = {"dataset": dataset, "seed": train_seed, "attempted": 0}
        if size > 0 and not labels:
            served = Service(Reasoner(backend, memory=store))
            try:
                report = serve_stream(
                    served,
                    named_config(learn_config, **overrides),
                    dataset=dataset,
                    size=size,
                    seed=train_seed,
                    exclude_eval_size=HELD_OUT_EVAL_SIZE,
                    on_step=lambda i, mark: logger.info("traffic %s q%d: %s", dataset, i, mark),
                    poison_every=poison_every,
                    correct_every=correct_every,
                ).to_dict()
            finally:
                served.close()
        elif size > 0:
            cfg = named_config(learn_config, write_back=False, **overrides)
            # The learner recalls from the memory it is filling when its configuration
            # retrieves: each solved question can help the later ones, as in use.
            source = f"{dataset}:train:seed={train_seed}"
            service = Service(Reasoner(backend, memory=store))
            solve = training_solver(service, cfg, source)
            retry = None
            if retry_config is not None:
                again = named_config(retry_config, write_back=False, **overrides)
                retry = training_solver(service, again, source)
            marks: list[str] = []
            try:
                report = learn(
                    store,
                    solve,
                    dataset,
                    size,
                    train_seed,
                    exclude_eval_size=HELD_OUT_EVAL_SIZE,
                    on_step=lambda _i, _entry, _result, ok: marks.append("1" if ok else "0"),
                    retry=retry,
                ).to_dict()
            finally:
                service.close()  # its worker threads; backend and store belong to the caller
            # The learner's own record, question by question ("1" right): with recall on,
            # it shows whether solving gets easier as memory fills.
            report["correct_marks"] = "".join(marks)
            report["accuracy_by_50"] = [
                round(marks[i : i + 50].count("1") / len(marks[i : i + 50]), 3)
                for i in range(0, len(marks), 50)
            ]
        report["stored"] = store.count()
        if not labels:
            # Stored from traffic, then no longer recalled: demoted (their recalls kept leading
            # paths astray) or, in a corrected stream, marked wrong by the reviewer.
            report["demoted"] = store.stats().rejected
        report["learn_config"] = learn_config
        report["retry_config"] = retry_config
        report["labels"] = labels
        report["poisoned_every"] = poison_every
        report["correct_every"] = correct_every
        # The write-back policy is the code's: say which code built this memory.
        report["git_commit"] = git_commit()
    finally:
        store.close()
    marker.write_text(json.dumps(report, indent=1))
    return report


def curve_file(work_dir: Path, dataset: str, size: int) -> Path:
    """The evaluation file of the curve's point at memory size ``size``."""
    return work_dir / f"lc-{dataset}-size{size}.json"


def learned_report(work_dir: Path, size: int) -> dict[str, Any] | None:
    """The learn report of the memory of ``size`` questions, or None when it is not built."""
    marker = memory_dir(work_dir, size) / "learned.json"
    return json.loads(marker.read_text()) if marker.exists() else None


def run_learning_curve(
    backend: Backend,
    work_dir: Path,
    *,
    sizes: Sequence[int],
    dataset: str,
    task: str,
    eval_size: int,
    eval_seed: int,
    train_seed: int,
    configs: Sequence[str],
    eval_start: int = 0,
    overrides: dict[str, Any],
    learn_config: str = "cot",
    retry_config: str | None = None,
    build: bool = True,
    evaluate: bool = True,
    on_progress: Progress | None = None,
    labels: bool = True,
    poison_every: int = 0,
    correct_every: int = 0,
) -> dict[str, Any]:
    """Evaluate ``configs`` on one evaluation split at every memory size.

    Args:
        backend: The (caching) backend every size shares.
        work_dir: Where the memory directories and per-size evaluation files go.
        sizes: Training questions learned before each evaluation (0 = empty memory).
        dataset: reasoning-gym data set of both streams.
        task: Answer kind for the graph (math, choice, yesno, text).
        eval_size: Evaluation questions.
        eval_start: Index of the first evaluation question (later ones are held out from
            whatever chose the configurations on the first ones).
        eval_seed: Evaluation seed (one of ``EVAL_SEEDS``).
        train_seed: Training seed (not one of ``EVAL_SEEDS``).
        configs: Configurations compared, e.g. ``retrieval+sc`` and ``full``.
        overrides: GraphConfig overrides shared by learning and evaluation (max_tokens).
        learn_config: Configuration that solves the training questions.
        retry_config: Configuration that solves again those it got wrong (see
            ``build_memory``), or None.
        build: Learn the memories that are missing (the expensive, once-only part; from
            cached draws it costs only embedding, so a fresh clone rebuilds them quickly).
        evaluate: Answer the evaluation split at each size (building its memory first);
            when False, rows come from the evaluation files of earlier runs.
        on_progress: Called with a short line per step.
        labels: False: the training stream is served as traffic (``evaluation.traffic``).
        poison_every: With ``labels=False``, poison every k-th question (0: a clean stream).
        correct_every: With ``labels=False``, correct every k-th wrong answer (0: none).

    Returns:
        ``{"dataset", "sizes", "configs", "rows": [...], "learned": {size: report}}``.
    """
    rows: list[dict[str, Any]] = []
    # The learn reports are committed beside the evaluation files; memories are not.
    learned_path = work_dir / f"learned-{dataset}.json"
    learned: dict[str, Any] = json.loads(learned_path.read_text()) if learned_path.exists() else {}
    for size in sizes:
        data_dir = memory_dir(work_dir, size)
        if build or evaluate:
            if on_progress:
                on_progress(f"learning curve: memory of {size} training question(s)")
            learned[str(size)] = build_memory(
                backend,
                data_dir,
                dataset=dataset,
                size=size,
                train_seed=train_seed,
                learn_config=learn_config,
                retry_config=retry_config,
                overrides={**overrides, "task": task},
                labels=labels,
                poison_every=poison_every,
                correct_every=correct_every,
            )
            learned_path.write_text(json.dumps(learned, indent=1))
        report = learned_report(work_dir, size) or learned.get(str(size))
        if report is None:
            continue  # not learned yet: a later run with ``build`` fills it in
        output = curve_file(work_dir, dataset, size)
        if evaluate:
            store = open_store(data_dir, MemoryConfig(), RetrievalConfig())
            service = Service(Reasoner(backend, memory=store))

            def said(i: int, c: str, r: dict[str, Any], n: int = size) -> None:
                if on_progress:
                    on_progress(f"memory {n}: q{i} {c} {'right' if r['correct'] else 'wrong'}")

            try:
                if on_progress:
                    on_progress(f"learning curve: evaluating at memory size {size}")
                ev: Evaluation | None = run_eval(
                    service,
                    dataset=dataset,
                    size=eval_size,
                    seed=eval_seed,
                    configs=list(configs),
                    output=output,
                    overrides={**overrides, "task": task},
                    start=eval_start,
                    on_question=said,
                )
            finally:
                service.close()  # its worker threads; the shared backend stays open
                store.close()
        else:
            ev = Evaluation.load(output)
        if ev is None:
            continue
        for row in ev.summary(configs):
            if row["config"] in configs:
                rows.append(
                    {
                        "size": size,
                        "stored": report.get("stored", 0),
                        "stored_precision": report.get("stored_precision"),
                        **row,
                    }
                )
    logger.info("learning curve %s: %d rows", dataset, len(rows))
    return {
        "dataset": dataset,
        "eval_seed": eval_seed,
        "eval_start": eval_start,
        "eval_size": eval_size,
        "train_seed": train_seed,
        "learn_config": learn_config,
        "retry_config": retry_config,
        "labels": labels,
        "poisoned_every": poison_every,
        "correct_every": correct_every,
        "sizes": list(sizes),
        "configs": list(configs),
        "rows": rows,
        "learned": learned,
    }
