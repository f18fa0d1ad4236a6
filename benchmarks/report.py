"""``reason bench report``: run a suite and write results.json, report.md and the plots.

A suite is data: data sets (with the graph's answer kind), configurations, memory sizes for
the learning curve, optillm approaches and the throughput settings. A suite of the issue's
size takes days on 2 cores, so it runs in parts (``learn``, ``curve``, ``eval``, ``peers``,
``throughput``) over many sessions: the run directory ``benchmarks/results/<date>-<name>/``
keeps the resumable record under ``work/`` (per-data-set ``run_eval`` files, learning-curve
files, peer answers, throughput) and is committed; draws go to the shared committed draw
cache, and the learned memories (``work/memory/``) are rebuilt from those draws at the cost
of embedding. Every report assembles all parts that exist, whichever were run this time.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

from agent.config import named_config
from agent.extract import TaskKind
from agent.reasoner import Reasoner
from benchmarks.learning_curve import build_memory, memory_dir, run_learning_curve
from benchmarks.memory_analysis import analyse_curve
from benchmarks.report_md import render
from evaluation.evaluate import Evaluation, git_commit, load_questions, run_eval
from evaluation.learn import EVAL_SEEDS
from memory import MemoryConfig, open_store
from retrieval import RetrievalConfig
from service.compose import Service

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]
NODE_EXTERNAL = ("model", "embed_search")  # waits inside nodes, not nodes themselves


@dataclass(frozen=True)
class DatasetSpec:
    """One reasoning-gym data set and the answer kind its questions need."""

    name: str
    task: TaskKind | Literal["auto"]  # GraphConfig.task (auto: read from each question)
    size: int
    configs: tuple[str, ...] | None = None  # None: the suite's configurations

    def configs_in(self, suite: Suite) -> tuple[str, ...]:
        """The configurations this data set is evaluated with."""
        return self.configs or suite.configs


@dataclass(frozen=True)
class Suite:
    """Everything one report runs; ``--size`` and ``--max-tokens`` can shrink it."""

    name: str
    datasets: tuple[DatasetSpec, ...]
    configs: tuple[str, ...]
    max_tokens: int | None
    lc_sizes: tuple[int, ...]
    lc_eval_size: int
    lc_configs: tuple[str, ...] = ("retrieval+sc", "full")
    peer_approaches: tuple[str, ...] = ("self_consistency", "re2", "cot_reflection")
    peer_size: int = 0
    throughput_size: int = 4
    throughput_config: str = "sc@8"
    concurrencies: tuple[int, ...] = (1, 2, 4)
    eval_seed: int = 42
    train_seed: int = 1
    lc_eval_start: int = 0
    learn_config: str = "cot"
    learn_retry_config: str | None = None
    # False: the training stream is served as traffic (no ground truth; evaluation.traffic).
    labels: bool = True
    # With labels False: every k-th training question is served poisoned (0: clean).
    poison_every: int = 0
    # With labels False: every k-th wrong answer is corrected by a reviewer (0: none).
    correct_every: int = 0
    # The parts a plain run of this suite runs (``--parts`` chooses others).
    default_parts: tuple[str, ...] = ("learn", "curve", "eval", "peers", "throughput")


# retrieval+sc is left out of the sized full run: a full sc@8 per question (~40 min for 20).
_ALL = ("greedy", "cot", "cot-decoding@8", "sc@8", "sc@8+verifier", "adaptive@8",
        "adaptive-giveup@8", "ensemble", "stepback+sc", "full")  # fmt: skip
_SAMPLING = ("greedy", "cot", "sc@8", "adaptive@8", "adaptive-giveup@8")
SUITES: dict[str, Suite] = {
    # ~15-25 min on qwen2.5-1.5b (2 cores): a development check of every part, not a result.
    "quick": Suite(
        name="quick",
        datasets=(
            DatasetSpec("gsm_symbolic", "math", 4),
            DatasetSpec("chain_sum", "math", 2),
            DatasetSpec("leg_counting", "math", 2),
            DatasetSpec("family_relationships", "text", 2),
        ),
        configs=(
            "greedy",
            "cot",
            "sc@8",
            "adaptive@8",
            "adaptive-giveup@8",
            "retrieval+sc",
            "full",
        ),
        max_tokens=256,
        lc_sizes=(0, 4),
        lc_eval_size=2,
        peer_size=2,
        throughput_size=2,
    ),  # fmt: skip
    # The README run, sized to what one 3-hour session on 2 cores can answer with
    # qwen2.5-1.5b (~15 s per cot path, ~2 min per sc@8 question): every gsm_symbolic
    # configuration on 20 questions (most draws shared with ``reason eval``), the secondary
    # data sets with the sampling configurations only, the curve for ``full`` (the cheap
    # learner; retrieval+sc costs a full sc@8 per question and size). Grow it with more
    # sessions: every part resumes.
    "full": Suite(
        name="full",
        datasets=(
            DatasetSpec("gsm_symbolic", "math", 20),
            DatasetSpec("chain_sum", "math", 6, _SAMPLING),
            DatasetSpec("leg_counting", "math", 6, _SAMPLING),
            DatasetSpec("syllogism", "yesno", 6, _SAMPLING),
        ),
        configs=_ALL,
        max_tokens=None,
        lc_sizes=(0, 50, 100, 200, 300),
        lc_eval_size=20,
        lc_configs=("full",),
        # optillm's self_consistency costs ~70-100 s a question (5 sequential answers at T = 1).
        peer_approaches=("self_consistency", "re2", "cot_reflection"),
        peer_size=12,
        throughput_size=4,
        throughput_config="cot",
    ),  # fmt: skip
    # The memory learning curve of ``full`` (issue: a memory that helps): the training
    # stream solved by the cheap pot+memory learner, the same 100 held-out evaluation
    # questions (seed 42, q28-127; q0-27 chose the program_first rule) at every size.
    # ~20 s a training question and ~30 s an evaluation question on 2 cores, so it runs
    # over sessions; every part resumes from the committed draw cache.
    "memory": Suite(
        name="memory",
        datasets=(DatasetSpec("gsm_symbolic", "math", 100, ("full",)),),
        configs=("full",),
        max_tokens=None,
        lc_sizes=(0, 100, 200, 400),
        lc_eval_size=100,
        lc_eval_start=28,
        lc_configs=("full",),
        learn_config="pot+memory",
        default_parts=("learn", "curve"),
    ),  # fmt: skip
}
# The same curve with a learner that also keeps a right program among 4 sampled ones when
# its greedy program is wrong (the ground truth chooses): memory then covers the kinds of
# question the greedy learner never solves, which are the ones full gets wrong.
SUITES["memory-retry"] = replace(
    SUITES["memory"], name="memory-retry", learn_retry_config="pot-sc@4+memory"
)
# Better with use, without labels: the training stream answered by ``full`` exactly as a
# user's requests (write-back on, no ground truth), the same held-out questions at each size.
SUITES["memory-traffic"] = replace(
    SUITES["memory"],
    name="memory-traffic",
    learn_config="full",
    labels=False,
    lc_sizes=(0, 100, 200, 400, 800),
)
# The same stream with every 5th question poisoned (an instruction to answer 42, a wrong
# answer given as the question's own, one question with a wrong answer sent 20 times): held-out
# accuracy must stay within 2 points of the clean stream's at the same size.
SUITES["memory-traffic-poisoned"] = replace(
    SUITES["memory-traffic"], name="memory-traffic-poisoned", poison_every=5, lc_sizes=(0, 100)
)
# The same stream with a reviewer who corrects every 2nd wrong answer ("the right answer is X",
# through the service's feedback): does learning from people's corrections move the curve?
SUITES["memory-traffic-corrected"] = replace(
    SUITES["memory-traffic"],
    name="memory-traffic-corrected",
    correct_every=2,
    lc_sizes=(0, 100, 200),
)
# The same unlabelled stream on other kinds of question, where the curve must not fall:
# chain_sum (programs fit) and family_relationships (they fit badly; answers are words, so the
# kind is read from each question as a user's request would be). Held out: seed 42 from q20
# (q0-19 chose the views rule and the focused facts). Their generators seed entry i of seed s
# like entry i+1 of seed s-1, so a stream from seed 1 is entirely evaluation questions (all
# skipped): the stream starts at seed 2000, clear of every evaluation split's first 500.
for _family in ("chain_sum", "family_relationships"):
    SUITES[f"memory-traffic-{_family}"] = replace(
        SUITES["memory-traffic"],
        name=f"memory-traffic-{_family}",
        datasets=(DatasetSpec(_family, "auto", 100, ("full",)),),
        lc_sizes=(0, 100, 200),
        lc_eval_start=20,
        train_seed=2000,
    )


def shrink(
    suite: Suite, size: int | None, max_tokens: int | None, lc_sizes: tuple[int, ...] | None
) -> Suite:
    """The suite with every question count capped at ``size`` and other overrides applied."""
    if size is not None:
        suite = replace(
            suite,
            datasets=tuple(replace(d, size=min(d.size, size)) for d in suite.datasets),
            lc_eval_size=min(suite.lc_eval_size, size),
            peer_size=min(suite.peer_size, size),
            throughput_size=min(suite.throughput_size, size),
        )
    if max_tokens is not None:
        suite = replace(suite, max_tokens=max_tokens)
    if lc_sizes is not None:
        suite = replace(suite, lc_sizes=lc_sizes)
    return suite


def _overrides(suite: Suite, task: str) -> dict[str, Any]:
    return {"task": task, **({"max_tokens": suite.max_tokens} if suite.max_tokens else {})}


def frontier(rows: list[dict[str, Any]]) -> list[str]:
    """Configurations no other row beats on both accuracy and generated tokens."""
    pts = [r for r in rows if r.get("completion_tokens") is not None]
    out = []
    for r in pts:
        dominated = any(
            o["completion_tokens"] <= r["completion_tokens"] and o["accuracy"] >= r["accuracy"]
            and (o["completion_tokens"] < r["completion_tokens"] or o["accuracy"] > r["accuracy"])
            for o in pts
        )  # fmt: skip
        if not dominated:
            out.append(r["config"])
    return out


def cost_timings(record: dict[str, Any]) -> dict[str, float]:
    """Node timings with cached draws charged at what they cost when drawn.

    A draw served by the cache takes no time now; ``model_seconds`` keeps its original cost,
    and the gap is put back on the sampling node so cached and fresh runs compare.
    """
    t = dict(record.get("timings") or {})
    gap = record.get("model_seconds", 0.0) - t.get("model", 0.0)
    if gap > 0:
        t["sample"] = t.get("sample", 0.0) + gap
        t["model"] = t.get("model", 0.0) + gap
    return t


def time_breakdown(datasets: dict[str, Any]) -> dict[str, Any]:
    """Per-configuration node seconds and tokens per question, and the graph's overhead."""
    per: dict[str, list[dict[str, Any]]] = {}
    for ds in datasets.values():
        for recs in ds["results"].values():
            for name, rec in recs.items():
                if "timings" in rec:
                    per.setdefault(name, []).append(rec)
    nodes: dict[str, dict[str, float]] = {}
    detail: dict[str, dict[str, Any]] = {}
    wall = external = 0.0
    for name, recs in per.items():
        sums: dict[str, float] = {}
        for rec in recs:
            for k, v in cost_timings(rec).items():
                sums[k] = sums.get(k, 0.0) + v
        avg = {k: round(v / len(recs), 4) for k, v in sums.items()}
        nodes[name] = {k: v for k, v in avg.items() if k not in NODE_EXTERNAL}
        sampling = sum(sum(p["tokens"] for p in r["paths"]) for r in recs) / len(recs)
        completion = sum(r["completion_tokens"] for r in recs) / len(recs)
        node_wall = sum(nodes[name].values())
        ext = sum(avg.get(k, 0.0) for k in NODE_EXTERNAL)
        wall, external = wall + node_wall * len(recs), external + ext * len(recs)
        detail[name] = {
            "questions": len(recs),
            "model_seconds": avg.get("model", 0.0),
            "embed_search_seconds": avg.get("embed_search", 0.0),
            "sampling_tokens": round(sampling, 1),
            "other_completion_tokens": round(completion - sampling, 1),  # step-back, verifier
            "prompt_tokens": round(sum(r["prompt_tokens"] for r in recs) / len(recs), 1),
            "overhead_percent": round(100 * max(0.0, node_wall - ext) / node_wall, 3)
            if node_wall
            else None,
        }
    return {
        "nodes": nodes,
        "configs": detail,
        "overhead_percent": round(100 * max(0.0, wall - external) / wall, 3) if wall else None,
    }


def _peers(
    suite: Suite, backend_name: str, gguf: Path, work: Path, settings: Any, on_progress: Progress
) -> dict[str, Any]:
    from benchmarks.peers.optillm import PeerUnavailable, optillm_proxy, run_peer, summarize

    spec = suite.datasets[0]  # the main data set
    out: dict[str, Any] = {"dataset": spec.name, "model": backend_name, "rows": []}
    if spec.task == "auto":
        out["unavailable"] = "optillm's answers are read with one answer kind; this suite has none"
        return out
    questions, scorer = load_questions(spec.name, suite.peer_size, suite.eval_seed)

    def score(answer: str | None, q: Any) -> bool:
        return answer is not None and scorer(answer, q.entry) >= 1.0

    try:
        with optillm_proxy(gguf, work / "peers", threads=settings.threads) as (url, meter):
            on_progress(f"optillm up at {url}")
            data = run_peer(url, questions, score, work / "peers" / f"{spec.name}.json",
                            dataset=spec.name, task=spec.task,
                            approaches=suite.peer_approaches, max_tokens=suite.max_tokens or 400,
                            meter=meter,
                            on_question=lambda a, i: on_progress(f"optillm {a} q{i}"))  # fmt: skip
    except PeerUnavailable as ex:
        logger.warning("optillm not run: %s", ex)
        out["unavailable"] = str(ex)
        return out
    out.update(meta=data["meta"], rows=summarize(data), results=data["results"])
    return out


def _load_peers(suite: Suite, work: Path) -> dict[str, Any]:
    """optillm's results from an earlier run, or a row-less entry saying it has not run."""
    from benchmarks.peers.optillm import summarize

    spec = suite.datasets[0]
    data = _load_json(work / "peers" / f"{spec.name}.json")
    if data is None:
        return {"dataset": spec.name, "rows": [], "unavailable": "not run yet"}
    meta = data.get("meta", {})
    return {"dataset": spec.name, "model": meta.get("model"), "meta": meta,
            "rows": summarize(data), "results": data["results"]}  # fmt: skip


PARTS = ("learn", "curve", "eval", "peers", "throughput")


def _eval_part(
    suite: Suite,
    backend: Any,
    work: Path,
    run: bool,
    on_progress: Progress,
    extra_backend: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """Every data set's evaluation: run (resuming) when ``run``, else loaded as it stands.

    ``extra_backend`` builds the other models of an ensemble configuration by name.
    """
    datasets: dict[str, Any] = {}
    store = None
    configs = {c for d in suite.datasets for c in d.configs_in(suite)}
    if run and any(named_config(c).retrieval for c in configs):
        # Retrieval configurations in the main tables recall from the largest learned memory.
        biggest = max(suite.lc_sizes)
        main = suite.datasets[0]
        build_memory(
            backend, memory_dir(work, biggest), dataset=main.name, size=biggest,
            train_seed=suite.train_seed, learn_config=suite.learn_config,
            retry_config=suite.learn_retry_config,
            overrides=_overrides(suite, main.task),
        )  # fmt: skip
        store = open_store(memory_dir(work, biggest), MemoryConfig(), RetrievalConfig())
    try:
        for spec in suite.datasets:
            output = work / f"eval-{spec.name}.json"
            if run:
                on_progress(f"evaluating {spec.name} ({spec.size} questions)")
                service = Service(Reasoner(backend, memory=store, backend_factory=extra_backend))

                def said(i: int, c: str, r: dict[str, Any], d: str = spec.name) -> None:
                    on_progress(f"{d} q{i} {c}")

                try:
                    ev: Evaluation | None = run_eval(
                        service, dataset=spec.name, size=spec.size, seed=suite.eval_seed,
                        configs=list(spec.configs_in(suite)), output=output,
                        overrides=_overrides(suite, spec.task), on_question=said,
                    )  # fmt: skip
                finally:
                    service.close()  # its workers and the ensemble's extra backends
            else:
                ev = Evaluation.load(output)
            if ev is None:
                continue
            datasets[spec.name] = {
                "task": spec.task, "meta": ev.data["meta"],
                "summary": ev.summary(list(spec.configs_in(suite))), "results": ev.data["results"],
            }  # fmt: skip
    finally:
        if store is not None:
            store.close()
    return datasets


def _load_json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.exists() else None


def run_report(
    settings: Any,
    suite: Suite,
    run_dir: Path,
    *,
    model: str | None = None,
    parts: Sequence[str] = PARTS,
    draws: Path | None = None,
    on_progress: Progress = logger.info,
) -> dict[str, Any]:
    """Run ``parts`` of ``suite`` into ``run_dir`` (resuming) and write the report.

    Parts not run this time are read from what earlier runs left in ``run_dir/work``, so a
    long suite can advance one part per session and every report shows all of it.

    Args:
        settings: Service settings (model, threads, data dir for nothing but defaults).
        suite: What to run.
        run_dir: ``benchmarks/results/<date>-<name>``.
        model: Model name or .gguf path (default: the settings' model).
        parts: Subset of ``PARTS`` to run.
        draws: The draw cache (default ``run_dir/work/draws.db``); the CLI passes the
            committed one so evaluations and reports share draws across sessions.
        on_progress: Called with a short line per step.
    """
    from agent.backends import build_backend
    from agent.backends.caching import CachingBackend
    from agent.backends.provision import model_path
    from benchmarks.throughput import run_throughput
    from service.compose import ensemble_backends

    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown report part(s) {sorted(unknown)}; known: {', '.join(PARTS)}")
    started = time.perf_counter()
    work = run_dir / "work"
    work.mkdir(parents=True, exist_ok=True)
    # Evaluation files are the resumable record and are committed; memories are rebuilt
    # from cached draws, caches and logs stay local.
    (run_dir / ".gitignore").write_text("work/memory/\nwork/*.db*\nwork/**/*.log\n")
    backend_config = settings.backend_config()
    inner = build_backend(
        backend_config.model_copy(update={"model": model}) if model else backend_config
    )
    backend = CachingBackend(inner, draws or work / "draws.db")
    main = suite.datasets[0]
    curve = run_learning_curve(
        backend, work, sizes=suite.lc_sizes, dataset=main.name, task=main.task,
        eval_size=suite.lc_eval_size, eval_seed=suite.eval_seed, train_seed=suite.train_seed,
        configs=suite.lc_configs, overrides=_overrides(suite, main.task),
        eval_start=suite.lc_eval_start, learn_config=suite.learn_config,
        retry_config=suite.learn_retry_config,
        build="learn" in parts, evaluate="curve" in parts, on_progress=on_progress,
        labels=suite.labels, poison_every=suite.poison_every, correct_every=suite.correct_every,
    )  # fmt: skip
    if suite.lc_configs:
        curve["analysis"] = analyse_curve(
            work, dataset=main.name, sizes=suite.lc_sizes, config=suite.lc_configs[-1],
            eval_seed=suite.eval_seed, eval_start=suite.lc_eval_start,
            eval_size=suite.lc_eval_size, train_seed=suite.train_seed,
            learned=curve.get("learned"),
        )  # fmt: skip
    # Ensemble members draw through the same cache as the main model.
    extra_backend = ensemble_backends(settings.backend_config(), backend)
    datasets = _eval_part(suite, backend, work, "eval" in parts, on_progress, extra_backend)
    gguf = Path(model or settings.model)
    if gguf.suffix != ".gguf":
        gguf = model_path(str(gguf), settings.models_dir)
    if "peers" in parts:
        peer = _peers(suite, inner.model_name, gguf, work, settings, on_progress)
    else:
        peer = _load_peers(suite, work)
    tput = _load_json(work / "throughput" / "throughput.json")
    if "throughput" in parts:
        on_progress("throughput")
        qs, _ = load_questions(main.name, suite.throughput_size, suite.eval_seed)
        tput = run_throughput(
            inner, settings, [{"id": str(q.index), "question": q.question, "answer": q.answer}
                              for q in qs],
            work / "throughput", config=suite.throughput_config,
            overrides=_overrides(suite, main.task), concurrencies=suite.concurrencies, n=8,
            resume=True,
        )  # fmt: skip
    meta: dict[str, Any] = {
        "suite": asdict(suite), "name": run_dir.name, "date": date.today().isoformat(),
        "model": inner.model_name, "gguf": gguf.name, "eval_seed": suite.eval_seed,
        "train_seed": suite.train_seed, "reserved_eval_seeds": sorted(EVAL_SEEDS),
        "git_commit": git_commit(), "parts_run": list(parts),
        "seconds_this_run": round(time.perf_counter() - started, 1),
        "draw_cache": {"hits": backend.hits, "misses": backend.misses},
    }  # fmt: skip
    earlier = _load_json(run_dir / "results.json")
    if not parts and earlier:
        # Only re-rendered: the figures are the last measuring run's, so is its provenance.
        meta |= {k: earlier["meta"][k] for k in _PROVENANCE if k in earlier["meta"]}
        meta["rendered_at"] = git_commit()
    results = {
        "meta": meta,
        "datasets": datasets,
        "frontier": {},
        "peers": peer,
        "learning_curve": curve,
        "time": time_breakdown(datasets),
        "throughput": tput,
    }  # fmt: skip
    backend.close()
    inner.close()
    if datasets or curve["rows"]:  # tables and plots need something evaluated
        write_outputs(results, run_dir)
    return results


_PROVENANCE = ("date", "git_commit", "parts_run", "seconds_this_run", "draw_cache")


def write_outputs(results: dict[str, Any], run_dir: Path) -> None:
    """Frontier, plots, results.json and report.md from the aggregated results."""
    from benchmarks import plots  # matplotlib: only when a report is written

    main = next(iter(results["datasets"]), None)
    rows_by_ds = {}
    for name, ds in results["datasets"].items():
        rows = list(ds["summary"])
        if name == results["peers"].get("dataset"):
            rows += results["peers"]["rows"]
        rows_by_ds[name] = rows
        results["frontier"][name] = frontier(rows)
    pictures = {
        "frontier.png": plots.frontier_plot(rows_by_ds, results["frontier"],
                                            run_dir / "frontier.png"),
        "paths.png": main is not None and plots.paths_plot(
            results["datasets"][main]["summary"], run_dir / "paths.png",
            f"Accuracy vs paths ({main})"),
        "learning_curve.png": plots.learning_curve_plot(results["learning_curve"],
                                                        run_dir / "learning_curve.png"),
        "time.png": plots.time_plot(results["time"]["nodes"], run_dir / "time.png"),
    }  # fmt: skip
    results["plots"] = [name for name, ok in pictures.items() if ok]
    (run_dir / "results.json").write_text(json.dumps(results, indent=1, default=str))
    (run_dir / "report.md").write_text(render(results, rows_by_ds))


def find_run_dir(results_dir: Path, name: str) -> Path | None:
    """The most recent ``<date>-<name>`` run directory, whatever day it was started."""
    runs = sorted(d for d in results_dir.glob(f"????-??-??-{name}") if d.is_dir())
    return runs[-1] if runs else None
