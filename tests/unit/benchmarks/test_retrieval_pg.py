"""The pgvector-vs-FAISS benchmark runs end to end at a small size and writes its report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.retrieval_pg import run_benchmark
from retrieval import RetrievalConfig
from tests.support.postgres import PostgresServer, postgres_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.postgres


def test_small_run_reports_both_indexes_with_recall_and_latency(
    postgres_server: PostgresServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    config = RetrievalConfig(index_kind="hnsw", hnsw_m=8, hnsw_ef_construction=16)
    out = tmp_path / "report.json"
    payload = run_benchmark(
        size=500, queries=20, url=postgres_server.new_database(), config=config, out=out
    )
    rows = {r["index"]: r for r in json.loads(out.read_text())["results"]}
    assert set(rows) == {"faiss-hnsw", "pgvector-hnsw"}
    for row in rows.values():
        assert 0.5 <= row["recall_at_5"] <= 1.0 and row["p95_ms"] >= row["p50_ms"] > 0
    assert rows["pgvector-hnsw"]["pgvector"] == "0.8.6"
    assert "| pgvector-hnsw |" in out.with_suffix(".md").read_text()
    assert payload["hnsw"] == {"M": 8, "efConstruction": 16, "efSearch": 64}
