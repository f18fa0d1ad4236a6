"""``reason eval`` and ``reason memory learn``: answer a data set split, score, remember.

Both solve reasoning-gym questions through the same Reasoner the service uses, behind a
draw cache: ``eval`` compares configurations on an evaluation seed and prints the table;
``learn`` solves a training seed and stores the paths whose answers match the ground truth.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from agent.config import named_config
from agent.errors import ConfigError
from api.cli.common import err, open_service, out, progress_bar, settings_of
from evaluation.evaluate import (
    DEFAULT_CONFIGS,
    DRAW_CACHE,
    RESULTS_DIR,
    Evaluation,
    run_eval,
    training_solver,
)
from evaluation.learn import EVAL_SEEDS, ReservedSeedError


def eval_command(
    ctx: typer.Context,
    dataset: str = typer.Option("gsm_symbolic", help="reasoning-gym data set."),
    size: int = typer.Option(20, help="Number of evaluation questions."),
    start: int = typer.Option(
        0, help="Index of the first question (a later range is a held-out part of the split)."
    ),
    seed: int = typer.Option(42, help="Evaluation seed (never used for training memory)."),
    config: list[str] = typer.Option(
        list(DEFAULT_CONFIGS), "--config", "-c", help="Configurations to compare (repeat)."
    ),
    model: str | None = typer.Option(None, help="Model name or .gguf path (REASON_MODEL)."),
    max_tokens: int | None = typer.Option(None, help="Length cap per path."),
    output: Path | None = typer.Option(None, help="Results JSON (resumed when it exists)."),
    markdown: bool = typer.Option(
        False, "--markdown", help="Print the table as Markdown (for the README)."
    ),
    draws: Path = typer.Option(DRAW_CACHE, help="Draw cache shared by evaluations."),
    memory_dir: Path | None = typer.Option(
        None,
        help="Memory for retrieval configurations (default: the data directory's), e.g. "
        "benchmarks/results/<run>/work/memory/size-400 learned by `reason bench report`.",
    ),
) -> None:
    """Run configurations side by side on the same questions and print the table."""
    from evaluation.learn import check_training_seed

    settings = settings_of(ctx)
    try:
        check_training_seed(seed)
        raise ConfigError(f"seed {seed} is not an evaluation seed; use one of {sorted(EVAL_SEEDS)}")
    except ReservedSeedError:
        pass  # reserved for evaluation: exactly what we want
    for name in config:
        named_config(name)  # unknown names fail before any work
    model_name = model or settings.model
    model_tag = Path(model_name).name.removesuffix(".gguf")
    output = output or RESULTS_DIR / f"eval-{dataset}-{model_tag}-seed{seed}.json"
    needs_memory = any(named_config(c).retrieval for c in config)
    if memory_dir is not None and not (memory_dir / "memory.db").exists():
        raise ConfigError(f"--memory-dir {memory_dir}: no memory.db there")
    service = open_service(
        settings, model=model, memory=needs_memory, cache=draws, memory_dir=memory_dir
    )
    overrides = {"max_tokens": max_tokens} if max_tokens else {}
    with progress_bar() as bar:
        task = bar.add_task("eval", total=size * len(config))

        def step(qid: int, name: str, record: dict[str, object]) -> None:
            bar.update(task, advance=1, description=f"q{qid} {name}")
            if not err.is_terminal:  # a background run's log: one line per answer
                verdict = "right" if record["correct"] else "wrong"
                err.print(
                    f"q{qid} {name}: {verdict}, {record['n_paths']} path(s), "
                    f"{record['wall_seconds']:.0f} s",
                    highlight=False,
                )

        evaluation = run_eval(
            service,
            dataset=dataset,
            size=size,
            seed=seed,
            configs=config,
            output=output,
            overrides=overrides,
            on_question=step,
            start=start,
        )
    rows = evaluation.summary(config)
    if markdown:
        typer.echo(markdown_table(evaluation, rows, config))
    else:
        out.print(rich_table(rows, f"{dataset} seed {seed}, {service.backend.model_name}"))
    out.print(f"results: {output}")


def rich_table(rows: list[dict[str, Any]], title: str) -> Table:
    """The evaluation table for the terminal."""
    table = Table("config", "n", "accuracy", "95% CI", "paths", "gen tok/q", "prompt tok/q",
                  "median s/q", title=title)  # fmt: skip
    for row in rows:
        lo, hi = row["ci95"]
        table.add_row(
            row["config"] + (" (derived)" if row["derived"] else ""),
            str(row["questions"]),
            f"{row['accuracy']:.1%}",
            f"{lo:.0%}-{hi:.0%}",
            f"{row['avg_paths']:.2f}",
            f"{row['completion_tokens']:.0f}",
            f"{row['prompt_tokens']:.0f}",
            "" if row["median_seconds"] is None else f"{row['median_seconds']:.1f}",
        )
    return table


def markdown_table(evaluation: Evaluation, rows: list[dict[str, Any]], configs: list[str]) -> str:
    """The evaluation table as Markdown, with each row's paired wins/losses against cot."""
    lines = [
        "| configuration | correct | accuracy (95% CI) | paths / q | generated tokens / q "
        "| median model s / q | first round: share (accuracy) "
        "| vs cot: right where cot wrong / wrong where cot right |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lo, hi = row["ci95"]
        correct = round(row["accuracy"] * row["questions"])
        name = row["config"] + (" (derived)" if row["derived"] else "")
        seconds = "—" if row["median_seconds"] is None else f"{row['median_seconds']:.0f}"
        vs = (
            ""
            if row["config"] == "cot"
            else "{} / {}".format(*evaluation.paired(row["config"], "cot", configs))
        )
        first = (
            f"{row['first_round_share']:.0%} ({row['first_round_accuracy']:.0%})"
            if row["first_round_accuracy"] is not None
            else "—"
        )
        lines.append(
            f"| {name} | {correct}/{row['questions']} | {row['accuracy']:.0%} "
            f"({lo:.0%}–{hi:.0%}) | {row['avg_paths']:.2f} | {row['completion_tokens']:.0f} "
            f"| {seconds} | {first} | {vs} |"
        )
    return "\n".join(lines)


def learn_command(
    ctx: typer.Context,
    dataset: str = typer.Option("gsm_symbolic", help="reasoning-gym data set."),
    size: int = typer.Option(50, help="Training questions to solve."),
    seed: int = typer.Option(7, help="Training seed (must not be an evaluation seed)."),
    config: str = typer.Option("cot", "--config", "-c", help="Graph configuration to solve with."),
    retry_config: str | None = typer.Option(
        None,
        "--retry-config",
        help="Configuration that solves again the questions --config got wrong; a right "
        "draw is kept (e.g. pot-sc@4+memory).",
    ),
    model: str | None = typer.Option(None, help="Model name or .gguf path (REASON_MODEL)."),
    max_tokens: int | None = typer.Option(None, help="Length cap per path."),
) -> None:
    """Solve a training split and store the paths whose answers match the ground truth."""
    from evaluation.learn import HELD_OUT_EVAL_SIZE, check_training_seed, learn

    settings = settings_of(ctx)
    check_training_seed(seed)
    overrides = {"max_tokens": max_tokens} if max_tokens else {}
    cfg = named_config(config, write_back=False, **overrides)
    # Training draws are cached beside the memory they feed, not in the committed eval cache.
    cache = settings.data_dir / "draws.db"
    service = open_service(settings, model=model, memory=True, cache=cache)
    store = service.memory
    assert store is not None

    solve = training_solver(service, cfg, f"{dataset}:train:seed={seed}")
    retry = None
    if retry_config is not None:
        again = named_config(retry_config, write_back=False, **overrides)
        retry = training_solver(service, again, f"{dataset}:train:seed={seed}")

    with progress_bar() as bar:
        task = bar.add_task("learn", total=size)
        report = learn(
            store,
            solve,
            dataset,
            size,
            seed,
            thresholds=settings.memory.writeback,
            exclude_eval_size=HELD_OUT_EVAL_SIZE,
            on_step=lambda i, entry, result, ok: bar.update(task, advance=1),
            retry=retry,
        )
    out.print_json(json.dumps(report.to_dict()))
    service.close()
