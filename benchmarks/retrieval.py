"""Retrieval benchmark: FAISS flat vs HNSW, rebuild from SQLite, real embedding latency.

Run ``python -m benchmarks.retrieval --sizes 10000,100000``. For each size it builds a flat
and an HNSW index over synthetic, clustered, L2-normalised 384-d vectors (the shape of
all-MiniLM-L6-v2 embeddings) and measures add throughput, single-query search latency
(p50/p95, k=5), HNSW recall@5 against the exact flat result and the serialised index size.
It also times a rebuild of the problems index from a SQLite memory database (the path
``reason memory rebuild-index`` and crash recovery take) and the latency of embedding one
question with the real embedder. Prints a markdown table and writes JSON to
``benchmarks/results/retrieval-<date>.json``.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import typer

from memory.rows import now_iso
from memory.sqlite.indexes import TableIndex, to_blob
from memory.sqlite.migrations import connect, migrate
from retrieval.config import RetrievalConfig
from retrieval.embedder import SentenceTransformerEmbedder, normalize_rows
from retrieval.index import VectorIndex

logger = logging.getLogger(__name__)

DIM = 384
#: FAISS OpenMP threads for every measurement (set from --threads).
THREADS: int | None = 1
RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class IndexRow:
    """Measurements of one index kind at one size."""

    size: int
    kind: str
    build_s: float
    add_per_s: float
    search_p50_ms: float
    search_p95_ms: float
    recall_at_k: float
    index_mb: float


def synthetic(n: int, seed: int, centers: np.ndarray) -> np.ndarray:
    """Clustered unit vectors: a random center plus noise, like embeddings of similar texts."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(centers), size=n)
    out = np.empty((n, DIM), dtype=np.float32)
    step = 100_000
    for start in range(0, n, step):
        part = picks[start : start + step]
        noise = rng.standard_normal((len(part), DIM)).astype(np.float32) * 0.08
        out[start : start + step] = centers[part] + noise
    return normalize_rows(out)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of values."""
    return float(np.percentile(np.asarray(values), q))


def time_searches(
    index: VectorIndex, queries: np.ndarray, k: int
) -> tuple[list[float], list[set[int]]]:
    """Search one query at a time (as the service does); return latencies (ms) and ids."""
    latencies, found = [], []
    index.search(queries[0], k)  # warm-up
    for query in queries:
        start = time.perf_counter()
        hits = index.search(query, k)[0]
        latencies.append((time.perf_counter() - start) * 1000)
        found.append({i for i, _ in hits})
    return latencies, found


def bench_index(
    kind: str, base: np.ndarray, queries: np.ndarray, k: int, truth: list[set[int]] | None
) -> tuple[IndexRow, list[set[int]]]:
    """Build one index kind over ``base`` and measure it."""
    config = RetrievalConfig(index_kind=kind, faiss_threads=THREADS)
    ids = np.arange(1, len(base) + 1, dtype=np.int64)
    start = time.perf_counter()
    index = VectorIndex.build(DIM, config, ids, base)
    build_s = time.perf_counter() - start
    latencies, found = time_searches(index, queries, k)
    recall = 1.0
    if truth is not None:
        recall = statistics.mean(len(f & t) / k for f, t in zip(found, truth, strict=True))
    size = len(faiss.serialize_index(index._index))
    row = IndexRow(
        size=len(base),
        kind=kind,
        build_s=round(build_s, 3),
        add_per_s=round(len(base) / build_s),
        search_p50_ms=round(percentile(latencies, 50), 3),
        search_p95_ms=round(percentile(latencies, 95), 3),
        recall_at_k=round(recall, 4),
        index_mb=round(size / 2**20, 1),
    )
    logger.info("%s", row)
    return row, found


def bench_rebuild(vectors: np.ndarray) -> dict[str, Any]:
    """Write vectors into a memory database, then time rebuilding the flat index from it."""
    with tempfile.TemporaryDirectory() as tmp:
        db = connect(Path(tmp) / "memory.db")
        migrate(db)
        created = now_iso()
        start = time.perf_counter()
        rows = (
            {
                "question": f"synthetic question {i}",
                "question_norm": f"synthetic question {i}",
                "answer": str(i),
                "answer_norm": str(i),
                "path": "synthetic",
                "verified": 1,
                "created_at": created,
                "content_hash": f"{i:064x}",
                "embedding": to_blob(vector),
            }
            for i, vector in enumerate(vectors)
        )
        db.table("problems").insert_all(rows, batch_size=2000)
        insert_s = time.perf_counter() - start
        table_index = TableIndex(
            "problems",
            Path(tmp) / "problems",
            dim=DIM,
            model="bench",
            config=RetrievalConfig(faiss_threads=THREADS),
        )
        start = time.perf_counter()
        count = table_index.rebuild(db)
        rebuild_s = time.perf_counter() - start
        db_mb = (Path(tmp) / "memory.db").stat().st_size / 2**20
        db.close()
    return {
        "rows": count,
        "sqlite_insert_s": round(insert_s, 2),
        "rebuild_s": round(rebuild_s, 2),
        "rebuild_rows_per_s": round(count / rebuild_s),
        "db_mb": round(db_mb, 1),
    }


def bench_embedding(repeats: int = 30) -> dict[str, Any]:
    """Load the real embedder and time embedding one question (and a batch of 64)."""
    start = time.perf_counter()
    embedder = SentenceTransformerEmbedder(RetrievalConfig())
    embedder.embed(["warm up the model"])
    load_s = time.perf_counter() - start
    question = (
        "A baker makes 24 muffins per tray and bakes 7 trays. He sells all but 15 muffins. "
        "How many muffins does he sell?"
    )
    latencies = []
    for _ in range(repeats):
        start = time.perf_counter()
        embedder.embed([question])
        latencies.append((time.perf_counter() - start) * 1000)
    batch = [f"{question} (variant {i})" for i in range(64)]
    start = time.perf_counter()
    embedder.embed(batch)
    batch_s = time.perf_counter() - start
    return {
        "model": embedder.name,
        "load_s": round(load_s, 2),
        "one_question_p50_ms": round(percentile(latencies, 50), 2),
        "one_question_p95_ms": round(percentile(latencies, 95), 2),
        "batch64_texts_per_s": round(64 / batch_s, 1),
    }


def markdown(
    rows: list[IndexRow], rebuild: dict[str, Any] | None, embed: dict[str, Any] | None
) -> str:
    """Render the results as markdown."""
    lines = [
        "| vectors | index | build s | add vec/s | search p50 ms | search p95 ms "
        "| recall@5 | index MB |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.size:,} | {r.kind} | {r.build_s} | {r.add_per_s:,} | {r.search_p50_ms} | "
            f"{r.search_p95_ms} | {r.recall_at_k} | {r.index_mb} |"
        )
    if rebuild:
        lines.append("")
        lines.append(
            f"Rebuild of the flat problems index from SQLite: {rebuild['rows']:,} rows in "
            f"{rebuild['rebuild_s']} s ({rebuild['rebuild_rows_per_s']:,} rows/s; "
            f"database {rebuild['db_mb']} MB)."
        )
    if embed:
        lines.append(
            f"Embedding one question with {embed['model']}: p50 {embed['one_question_p50_ms']} ms, "
            f"p95 {embed['one_question_p95_ms']} ms; batch of 64: {embed['batch64_texts_per_s']} "
            f"texts/s; model load {embed['load_s']} s."
        )
    return "\n".join(lines)


def main(
    sizes: str = typer.Option("10000,100000", help="Comma-separated index sizes."),
    queries: int = typer.Option(200, help="Queries per measurement."),
    k: int = typer.Option(5, "-k", help="Results per query."),
    hnsw_max: int = typer.Option(10**9, help="Skip HNSW above this many vectors."),
    rebuild_size: int = typer.Option(100_000, help="Rows in the SQLite rebuild test (0: skip)."),
    threads: int = typer.Option(1, help="FAISS OpenMP threads (0: FAISS default)."),
    no_embed: bool = typer.Option(False, "--no-embed", help="Skip the real embedder."),
    out: Path | None = typer.Option(None, help="JSON output file."),
) -> None:
    """FAISS flat vs HNSW, rebuild from SQLite, embedding latency."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    global THREADS
    THREADS = threads or None
    if THREADS is not None:
        faiss.omp_set_num_threads(THREADS)
    index_sizes = [int(s) for s in sizes.split(",") if s]
    rng = np.random.default_rng(0)
    centers = normalize_rows(rng.standard_normal((2000, DIM)))
    query_vectors = synthetic(queries, seed=1, centers=centers)
    rows: list[IndexRow] = []
    for size in index_sizes:
        base = synthetic(size, seed=2, centers=centers)
        flat, truth = bench_index("flat", base, query_vectors, k, None)
        rows.append(flat)
        if size <= hnsw_max:
            rows.append(bench_index("hnsw", base, query_vectors, k, truth)[0])
        del base
    rebuild = None
    if rebuild_size > 0:
        rebuild = bench_rebuild(synthetic(rebuild_size, seed=3, centers=centers))
    embed = None if no_embed else bench_embedding()

    table = markdown(rows, rebuild, embed)
    print(table)
    date = datetime.now(UTC).strftime("%Y-%m-%d")
    target = out or RESULTS_DIR / f"retrieval-{date}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "date": date,
        "machine": {
            "cpus": os.cpu_count(),
            "faiss_threads": faiss.omp_get_max_threads(),
            "load_average_at_end": os.getloadavg(),
            "python": platform.python_version(),
            "faiss": faiss.__version__,
        },
        "dim": DIM,
        "k": k,
        "queries": queries,
        "hnsw": {"M": 32, "efConstruction": 80, "efSearch": 64},
        "indexes": [asdict(r) for r in rows],
        "rebuild_from_sqlite": rebuild,
        "embedding": embed,
        "markdown": table,
    }
    target.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nwrote {target}")


if __name__ == "__main__":
    typer.run(main)
