"""The mix of kinds, side by side: one ``reason eval`` result file per reasoning-gym family.

Reads the held-out result files of each family (the same questions for every
configuration within a family), and reports per family and over the whole mix: accuracy with
a 95% interval, paths and generated tokens per question, median model seconds, and `full`
against the best other configuration of that family, paired question by question. Over the
mix only questions every listed configuration answered count, so the rows compare like with
like. Nothing is run: the model's work is in the files (and the draw cache behind them).

    python -m benchmarks.family_mix FILE.json [FILE.json ...] --out RESULT.json --markdown
"""

from __future__ import annotations

import json
import statistics
from datetime import date
from pathlib import Path
from typing import Any

import typer

from evaluation.evaluate import wilson

CONFIGS = ("cot", "pot", "sc@8", "full")


def _row(records: list[dict[str, Any]]) -> dict[str, Any]:
    right = sum(bool(r["correct"]) for r in records)
    timed = [r["model_seconds"] for r in records if r.get("model_seconds") is not None]
    low, high = wilson(right, len(records))
    return {
        "questions": len(records),
        "right": right,
        "accuracy": round(right / len(records), 4),
        "ci95": [round(low, 4), round(high, 4)],
        "paths": round(statistics.mean(r["n_paths"] for r in records), 2),
        "tokens": round(statistics.mean(r["completion_tokens"] for r in records), 1),
        # Derived rows (sc@k, adaptive from sc@8's draws) have no seconds of their own.
        "median_model_seconds": round(statistics.median(timed), 1) if timed else None,
    }


def family_report(path: Path, configs: tuple[str, ...] = CONFIGS) -> dict[str, Any]:
    """One family's rows, each over the questions that configuration answered (a run still
    growing answers fewer), and `full` against the best other on the questions both did."""
    data = json.loads(path.read_text())
    results: dict[str, dict[str, Any]] = data["results"]
    present = [c for c in configs if any(c in r for r in results.values())]
    answered = {c: sorted((q for q, r in results.items() if c in r), key=int) for c in present}
    rows = {c: _row([results[q][c] for q in answered[c]]) for c in present}
    report: dict[str, Any] = {
        "dataset": data["meta"]["dataset"],
        "seed": data["meta"]["seed"],
        "questions": {c: [int(qs[0]), int(qs[-1])] for c, qs in answered.items()},
        "rows": rows,
        "records": {c: [results[q][c] for q in qs] for c, qs in answered.items()},
    }
    others = [c for c in present if c != "full"]
    if "full" in present and others:
        best = max(others, key=lambda c: rows[c]["accuracy"])
        both = [q for q in answered["full"] if best in results[q]]
        won = sum(1 for q in both if results[q]["full"]["correct"] > results[q][best]["correct"])
        lost = sum(1 for q in both if results[q]["full"]["correct"] < results[q][best]["correct"])
        report["full_vs_best"] = {
            "best_other": best, "questions": len(both), "won": won, "lost": lost,
        }  # fmt: skip
    return report


def mix_report(paths: list[Path], configs: tuple[str, ...] = CONFIGS) -> dict[str, Any]:
    """Every family's report and the mix's rows (each configuration's answers of all
    families pooled; a configuration missing a family has no mix row)."""
    families = [family_report(p, configs) for p in paths]
    everywhere = [c for c in configs if all(c in f["rows"] for f in families)]
    pooled = {c: [rec for f in families for rec in f["records"][c]] for c in everywhere}
    for fam in families:
        del fam["records"]
    return {
        "date": date.today().isoformat(),
        "families": families,
        "mix": {c: _row(pooled[c]) for c in everywhere},
    }


def markdown(report: dict[str, Any], configs: tuple[str, ...] = CONFIGS) -> str:
    """The README's table: accuracy per family and configuration, and the mix; a cell over
    fewer questions than the family's `full` row says how many."""
    head = "| family (held-out questions) | " + " | ".join(f"`{c}`" for c in configs) + " |"
    lines = [head, "|---|" + "---:|" * len(configs)]

    def cell(row: dict[str, Any] | None, n: int) -> str:
        if row is None:
            return "—"
        lo, hi = row["ci95"]
        text = f"{row['accuracy']:.0%} ({lo:.0%}–{hi:.0%})"
        return text if row["questions"] == n else f"{text}, {row['questions']} q"

    for fam in report["families"]:
        rows = fam["rows"]
        n = (
            rows["full"]["questions"]
            if "full" in rows
            else max(r["questions"] for r in rows.values())
        )
        cells = [cell(rows.get(c), n) for c in configs]
        lines.append(f"| {fam['dataset']} ({n}) | " + " | ".join(cells) + " |")
    mix = report["mix"]
    n = mix["full"]["questions"] if "full" in mix else 0
    lines.append(f"| **mix** ({n}) | " + " | ".join(cell(mix.get(c), n) for c in configs) + " |")
    return "\n".join(lines)


def main(
    files: list[Path] = typer.Argument(..., help="reason eval result files, one per family."),
    out: Path | None = typer.Option(None, help="Write the report as JSON here."),
    config: list[str] = typer.Option(list(CONFIGS), "--config", "-c", help="Columns."),
    as_markdown: bool = typer.Option(False, "--markdown", help="Print the Markdown table."),
) -> None:
    """Print (and write) the mix-of-kinds report."""
    configs = tuple(config)
    report = mix_report(files, configs)
    if out is not None:
        out.write_text(json.dumps(report, indent=1) + "\n")
    if as_markdown:
        typer.echo(markdown(report, configs))
    else:
        typer.echo(json.dumps({f["dataset"]: f["rows"] for f in report["families"]}, indent=1))
        typer.echo(json.dumps({"mix": report["mix"]}, indent=1))


if __name__ == "__main__":
    typer.run(main)
