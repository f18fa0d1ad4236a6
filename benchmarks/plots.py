"""The report's pictures (matplotlib, Agg backend, PNG): frontier, paths, learning curve, time.

Every function takes the aggregated ``results.json`` data (or a part of it) and a file path,
and draws nothing when it has no data, returning whether it wrote the file.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server
import matplotlib.pyplot as plt  # noqa: E402

logger = logging.getLogger(__name__)

Row = dict[str, Any]


def _errors(rows: Sequence[Row]) -> list[list[float]]:
    lows = [max(0.0, r["accuracy"] - r["ci95"][0]) for r in rows]
    highs = [max(0.0, r["ci95"][1] - r["accuracy"]) for r in rows]
    return [lows, highs]


def frontier_plot(
    rows_by_dataset: dict[str, list[Row]], frontier: dict[str, list[str]], path: Path
) -> bool:
    """Accuracy vs generated tokens per question, one panel per data set, CI error bars."""
    panels = {ds: rows for ds, rows in rows_by_dataset.items() if rows}
    if not panels:
        return False
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.5), squeeze=False)
    for ax, (ds, rows) in zip(axes[0], panels.items(), strict=True):
        on = set(frontier.get(ds, []))
        for r in rows:
            peer = r["config"].startswith("optillm:")
            ax.errorbar(
                [r["completion_tokens"] or 0.0], [r["accuracy"]], yerr=_errors([r]),
                fmt="s" if peer else "o", color="tab:red" if peer else
                ("tab:blue" if r["config"] in on else "tab:gray"), capsize=3,
            )  # fmt: skip
            ax.annotate(
                r["config"],
                (r["completion_tokens"] or 0.0, r["accuracy"]),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
        pts = sorted((r["completion_tokens"], r["accuracy"]) for r in rows if r["config"] in on)
        if pts:
            ax.plot(*zip(*pts, strict=True), "--", color="tab:blue", alpha=0.6)
        ax.set_title(ds)
        ax.set_xlabel("generated tokens / question")
        ax.set_ylabel("accuracy (95% CI)")
        ax.set_ylim(-0.05, 1.05)
        ax.grid(alpha=0.3)
    fig.suptitle("Cost / accuracy frontier (blue: on the frontier, red: optillm)")
    return _save(fig, path)


def paths_plot(rows: Sequence[Row], path: Path, title: str) -> bool:
    """Accuracy vs average paths: fixed sc@k as a line, adaptive as single points."""
    fixed = sorted((r for r in rows if r["config"].startswith("sc@")), key=lambda r: r["avg_paths"])
    adaptive = [r for r in rows if r["config"].startswith("adaptive@") or r["config"] == "full"]
    if not fixed:
        return False
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.errorbar(
        [r["avg_paths"] for r in fixed],
        [r["accuracy"] for r in fixed],
        yerr=_errors(fixed),
        fmt="o-",
        capsize=3,
        label="fixed n (sc@k)",
    )
    for r in adaptive:
        ax.errorbar(
            [r["avg_paths"]],
            [r["accuracy"]],
            yerr=_errors([r]),
            fmt="D",
            capsize=3,
            label=f"{r['config']} (avg paths)",
        )
    ax.set_xlabel("paths / question")
    ax.set_ylabel("accuracy (95% CI)")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def learning_curve_plot(curve: dict[str, Any] | None, path: Path) -> bool:
    """Accuracy, paths (unlabelled: generated tokens) and prompt tokens per question at each
    memory size, per configuration; a curve learned without labels adds what it stored and
    how much of it was right."""
    if not curve or not curve.get("rows"):
        return False
    unlabelled = curve.get("labels", True) is False
    second = ("completion_tokens", "generated tokens per question")
    panels = (
        ("accuracy", "accuracy (95% CI)"),
        second if unlabelled else ("avg_paths", "paths per question"),
        ("prompt_tokens", "prompt tokens per question"),
    )
    fig, axes = plt.subplots(
        1, len(panels) + unlabelled, figsize=(4.4 * (len(panels) + unlabelled), 4.2)
    )
    if unlabelled:
        _stored_panel(axes[-1], curve["rows"])
    for config in curve["configs"]:
        rows = sorted((r for r in curve["rows"] if r["config"] == config), key=lambda r: r["size"])
        if not rows:
            continue
        sizes = [r["size"] for r in rows]
        for ax, (key, _) in zip(axes, panels, strict=False):
            values = [r[key] for r in rows]
            if key == "accuracy":
                ax.errorbar(sizes, values, yerr=_errors(rows), fmt="o-", capsize=3, label=config)
            else:
                ax.plot(sizes, values, "o-", label=config)
    for ax, (key, label) in zip(axes, panels, strict=False):
        ax.set_xlabel("training questions learned into memory")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if key == "accuracy":
            ax.set_ylim(-0.05, 1.05)
            ax.legend(fontsize=8)
        else:
            ax.set_ylim(bottom=0)
    fig.suptitle(f"Memory learning curve ({curve['dataset']})")
    return _save(fig, path)


def _stored_panel(ax: Any, rows: Sequence[Row]) -> None:
    """Stored records' share right (95% CI), each point labelled with how many were stored."""
    from evaluation.evaluate import wilson

    points = sorted({r["size"]: r for r in rows if r.get("stored_precision") is not None}.values(),
                    key=lambda r: r["size"])  # fmt: skip
    for r in points:
        right = round(r["stored_precision"] * r["stored"])
        low, high = wilson(right, r["stored"])
        p = r["stored_precision"]
        ax.errorbar([r["size"]], [p], yerr=[[p - low], [high - p]], fmt="o", capsize=3, color="C2")
        ax.annotate(f"{right}/{r['stored']}", (r["size"], p), textcoords="offset points",
                    xytext=(6, -12), fontsize=8)  # fmt: skip
    ax.axhline(0.97, color="grey", linestyle=":", linewidth=1, label="target 97%")
    ax.set_xlim(-10, max([r["size"] for r in rows], default=0) + 10)
    ax.set_xlabel("training questions served")
    ax.set_ylabel("stored records right (95% CI)")
    ax.set_ylim(0.5, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def time_plot(breakdown: dict[str, dict[str, float]], path: Path) -> bool:
    """Stacked bar of average seconds per graph node, one bar per configuration."""
    configs = [c for c, nodes in breakdown.items() if nodes]
    if not configs:
        return False
    nodes = sorted({n for c in configs for n in breakdown[c]})
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(configs)), 4.5))
    bottom = [0.0] * len(configs)
    for node in nodes:
        heights = [breakdown[c].get(node, 0.0) for c in configs]
        ax.bar(configs, heights, bottom=bottom, label=node)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set_ylabel("seconds / question")
    ax.set_title("Where the time goes (graph nodes, averaged over the suite)")
    ax.tick_params(axis="x", rotation=30, labelsize=8)
    ax.legend(fontsize=7)
    return _save(fig, path)


def _save(fig: Any, path: Path) -> bool:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    logger.info("wrote %s", path)
    return True
