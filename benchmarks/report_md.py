"""report.md from the aggregated results: one table per part of the report, then the plots."""

from __future__ import annotations

from typing import Any


def _f(x: float | None, fmt: str) -> str:
    return "—" if x is None else format(x, fmt)


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _accuracy_rows(rows: list[dict[str, Any]], on: set[str]) -> list[list[str]]:
    out = []
    for r in rows:
        lo, hi = r["ci95"]
        name = r["config"] + (" (derived)" if r.get("derived") else "")
        out.append([
            name, str(r["questions"]), f"{r['accuracy']:.1%}", f"{lo:.0%}–{hi:.0%}",
            _f(r.get("avg_paths"), ".2f"), _f(r.get("completion_tokens"), ".0f"),
            _f(r.get("prompt_tokens"), ".0f"),
            _f(r.get("median_seconds", r.get("seconds")), ".1f"),
            "yes" if r["config"] in on else "",
        ])  # fmt: skip
    return out


def render(results: dict[str, Any], rows_by_ds: dict[str, list[dict[str, Any]]]) -> str:
    """The whole report as Markdown."""
    meta = results["meta"]
    suite = meta["suite"]
    parts = [
        f"# Benchmark report: {meta['name']} ({meta['date']})",
        "",
        f"Model **{meta['model']}** (`{meta['gguf']}`), suite `{suite['name']}`, "
        f"commit `{meta['git_commit']}`. Evaluation seed {meta['eval_seed']} "
        f"(reserved evaluation seeds {meta['reserved_eval_seeds']}), training seed "
        f"{meta['train_seed']}; max tokens per path: {suite['max_tokens'] or 'config default'}. "
        f"This run took {meta['seconds_this_run']:.0f} s (draw cache: "
        f"{meta['draw_cache']['hits']} hits, {meta['draw_cache']['misses']} misses)."
        + (f" Tables re-rendered at `{meta['rendered_at']}`." if meta.get("rendered_at") else ""),
        "",
        "Tokens are generated tokens per question (the cost that matters on CPU); s/q is the "
        "median of model seconds per question as first drawn (cached draws are charged at their "
        "original cost; the median because this shared 2-core machine stalls; optillm rows: "
        "mean wall seconds); `derived` rows (sc@k, adaptive rules) are replayed from the "
        "ordered draws of sc@8. "
        "Retrieval configurations recall from the memory learned at the largest curve size.",
        "",
    ]
    if rows_by_ds:
        parts.append("## Accuracy per data set")
    header = ["config", "n", "accuracy", "95% CI", "paths", "gen tok/q", "prompt tok/q",
              "s/q", "frontier"]  # fmt: skip
    for name, rows in rows_by_ds.items():
        task = results["datasets"][name]["task"]
        parts += ["", f"### {name} ({task})", ""]
        parts.append(_table(header, _accuracy_rows(rows, set(results["frontier"][name]))))
        parts += ["", f"Frontier: {', '.join(results['frontier'][name])}."]

    curve = results["learning_curve"]
    parts += ["", *_curve_section(curve)]
    if not rows_by_ds:  # a learning-curve suite: nothing else was evaluated
        parts += ["", "## Plots", ""]
        parts += [f"![{name}]({name})" for name in results.get("plots", [])]
        return "\n".join(parts) + "\n"

    peer = results["peers"]
    parts += ["", "## Peer: optillm on the same model", ""]
    if peer.get("unavailable"):
        parts.append(f"Not run: {peer['unavailable']}")
    else:
        note = (peer.get("meta") or {}).get("settings", {})
        parts.append(f"Data set {peer['dataset']}, approaches through optillm 0.4.0 in front of "
                     f"`llama_cpp.server`; settings: {note}.")  # fmt: skip
        parts += ["", _table(
            ["approach", "n", "accuracy", "95% CI", "gen tok/q", "prompt tok/q", "s/q", "errors"],
            [[r["config"], str(r["questions"]), f"{r['accuracy']:.1%}",
              f"{r['ci95'][0]:.0%}–{r['ci95'][1]:.0%}", _f(r["completion_tokens"], ".0f"),
              _f(r["prompt_tokens"], ".0f"), _f(r["seconds"], ".1f"),
              str(r["errors"]) + (f" ({r['first_error'][:120]})" if r["first_error"] else "")]
             for r in peer["rows"]],
        )]  # fmt: skip

    t = results["time"]
    nodes = sorted({n for v in t["nodes"].values() for n in v})
    parts += [
        "",
        "## Where the time goes",
        "",
        f"Graph overhead (wall time outside model calls and embedding/search): "
        f"**{_f(t['overhead_percent'], '.2f')}%** of node time over the suite. Mean seconds "
        "per question; a call served by the draw cache is charged at its original cost to "
        "`sample`, so step-back and verifier calls drawn in an earlier run show up there.",
        "",
    ]
    parts.append(_table(
        ["config", *nodes, "model s", "sampling tok", "other gen tok", "overhead %"],
        [[c, *(_f(t["nodes"][c].get(n), ".3f") for n in nodes),
          _f(d["model_seconds"], ".3f"), _f(d["sampling_tokens"], ".0f"),
          _f(d["other_completion_tokens"], ".0f"), _f(d["overhead_percent"], ".2f")]
         for c, d in t["configs"].items()],
    ))  # fmt: skip

    tput = results.get("throughput")
    parts += ["", "## Throughput", ""]
    if not tput:
        parts.append("Not run.")
    else:
        parts.append(
            f"`reason batch` runner, configuration `{tput['config']}`, raw backend (no draw cache)."
        )
        parts += ["", _table(
            ["concurrency", "questions", "errors", "seconds", "questions/min"],
            [[str(r["concurrency"]), str(r["questions"]), str(r["errors"]),
              f"{r['seconds']:.1f}", _f(r["questions_per_minute"], ".2f")]
             for r in tput["batch"]],
        )]  # fmt: skip
        p = tput["paths"]
        parts += ["", f"{p['n']} paths in one batched call vs {p['n']} separate calls "
                  f"(same seeds, max {p['max_tokens']} tokens):", "", _table(
            ["mode", "seconds", "gen tokens", "tok/s"],
            [[m, f"{p[m]['seconds']:.2f}", str(p[m]["completion_tokens"]),
              _f(p[m]["tokens_per_second"], ".1f")] for m in ("batched", "separate")],
        ), "", f"Speed-up of batching: {_f(p['speedup'], '.2f')}x tokens/s."]  # fmt: skip

    parts += ["", "## Plots", ""]
    parts += [f"![{name}]({name})" for name in results.get("plots", [])]
    return "\n".join(parts) + "\n"


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole}" + (f" ({part / whole:.0%})" if whole else "")


def _stream_sentence(curve: dict[str, Any], asked: str) -> str:
    """How the curve's memories were filled, and what it was evaluated on."""
    evaluated = (
        f"evaluation: {asked} of seed {curve['eval_seed']}, the same at every size, each size "
        "in its own memory directory."
    )
    if curve.get("labels", True) is False:
        reviewer = (
            f"a reviewer corrects one in {curve['correct_every']} wrong answers with the data "
            "set's answer through the service's feedback, stored only when a program it writes "
            "prints it; "
            if curve.get("correct_every")
            else ""
        )
        return (
            f"Training stream: seed {curve['train_seed']} answered by `{curve['learn_config']}` "
            "as a user's traffic (write-back on, no ground truth: the write-back policy decides "
            'what is stored; "stored right" is scored against the data set afterwards); '
            + reviewer
            + evaluated
        )
    retry = (
        f" (a question it gets wrong is tried again with `{curve['retry_config']}`, and a "
        "right program among those draws is kept)"
        if curve.get("retry_config")
        else ""
    )
    return (
        f"Training stream: seed {curve['train_seed']} solved by `{curve['learn_config']}`"
        f"{retry}, the paths its scorer marks right stored (programs with them); " + evaluated
    )


def _curve_section(curve: dict[str, Any]) -> list[str]:
    """The learning curve: accuracy and cost per memory size, then what memory did."""
    start = curve.get("eval_start", 0)
    size = curve.get("eval_size")
    asked = f"questions {start}-{start + size - 1}" if size else "the evaluation questions"
    lines = [
        f"## Memory learning curve ({curve['dataset']})",
        "",
        _stream_sentence(curve, asked),
        "",
        _table(
            ["learned", "stored", "stored right", "config", "n", "accuracy", "95% CI", "paths",
             "gen tok/q", "prompt tok/q", "s/q", "first round"],
            [[str(r["size"]), str(r["stored"]), _f(r.get("stored_precision"), ".1%"),
              r["config"], str(r["questions"]),
              f"{r['accuracy']:.1%}", f"{r['ci95'][0]:.0%}–{r['ci95'][1]:.0%}",
              f"{r['avg_paths']:.2f}", f"{r['completion_tokens']:.0f}",
              f"{r['prompt_tokens']:.0f}", _f(r.get("median_seconds"), ".1f"),
              _f(r.get("first_round_share"), ".0%")] for r in curve["rows"]],
        ),
    ]  # fmt: skip
    analysis = curve.get("analysis") or {}
    if analysis.get("sizes"):
        rows = []
        for learned, a in analysis["sizes"].items():
            pair = a.get("paired_vs_empty")
            rows.append([
                learned,
                _share(a["top_same_template"], a["recalled"]) + f" of {a['questions']}",
                _share(a["copying_paths"], a["program_paths_with_analog"]),
                _f(a["copying_accuracy"], ".0%"), _f(a["clean_accuracy"], ".0%"),
                f"+{len(pair['won'])} / −{len(pair['lost'])}" if pair else "—",
                ", ".join(f"q{q}" for q in pair["lost"]) if pair and pair["lost"] else "—",
            ])  # fmt: skip
        lines += [
            "",
            f"What memory did (`{analysis['config']}`): questions with an analog recalled and "
            "how many of those had a top analog of the same template; program paths shown an "
            "analog that used one of its numbers missing from their own question (copying), "
            "and the accuracy of those and of the others; questions won / lost against the "
            "empty memory, and the lost ones.",
            "",
            _table(
                [
                    "learned",
                    "top analog same template",
                    "copying paths",
                    "copying right",
                    "others right",
                    "won / lost vs 0",
                    "lost",
                ],
                rows,
            ),
        ]
    if curve.get("labels", True) is False:
        lines += _stream_section(curve.get("learned") or {}, analysis.get("sizes") or {})
    return lines


def _misses(m: dict[str, int] | None) -> str:
    if not m:
        return "—"
    right = m["right_stored"] + m["right_not_stored"]
    wrong = m["wrong_stored"] + m["wrong_not_stored"]
    return (
        f"{m['wrong']} wrong; their templates served {m['same_template_served']}x: "
        f"right {right} (stored {m['right_stored']}), wrong {wrong} (stored {m['wrong_stored']})"
    )


def _stream_section(learned: dict[str, Any], analysis: dict[str, Any]) -> list[str]:
    """What serving each stream did: answers right, stored, demoted, why not stored, and how
    it answered the templates of the held-out questions still wrong."""
    rows = []
    for size, r in sorted(learned.items(), key=lambda kv: int(kv[0])):
        if not r.get("requests", r.get("attempted")):
            continue
        requests = r.get("requests", r["attempted"])
        why = "; ".join(f"{k} {v}" for k, v in (r.get("not_stored_because") or {}).items())
        rows.append([
            size, str(requests), str(r.get("poisoned", 0)), _share(r["correct"], requests),
            str(r["answers_stored"]), _f(r.get("stored_precision"), ".1%"),
            str(r["demoted"]) if "demoted" in r else "—",
            f"{r['corrections']} ({r['corrections_stored']})" if r.get("corrections") else "—",
            why or "—",
            _misses((analysis.get(size) or {}).get("misses_in_stream")),
        ])  # fmt: skip
    if not rows:
        return []
    return [
        "",
        "The stream as served: requests (a poisoned question may send several), how many of "
        "them were poisoned, answered right, answers stored and the share of those right, "
        "records no longer recalled since (demoted, or marked wrong by a reviewer), wrong "
        "answers a reviewer corrected (and how many of those it stored), why the other "
        "answers were not stored, and the held-out questions still wrong at that size: how "
        "often the stream served their templates and how it answered them (memory can only "
        "help a template it stored).",
        "",
        _table(
            [
                "learned",
                "requests",
                "poisoned",
                "answered right",
                "stored",
                "stored right",
                "demoted",
                "corrected (stored)",
                "not stored because",
                "held-out misses in the stream",
            ],
            rows,
        ),  # fmt: skip
    ]
