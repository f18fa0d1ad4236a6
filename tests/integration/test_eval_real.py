"""``reason eval`` plumbing on the real tiny model: shared draws, derived rows, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.backends.caching import CachingBackend
from agent.backends.llamacpp import LlamaCppBackend
from agent.reasoner import Reasoner
from evaluation.evaluate import run_eval
from service.compose import Service

pytestmark = pytest.mark.integration

CONFIGS = ["cot", "sc@8", "adaptive@8"]


def test_eval_derives_rows_and_resumes_without_new_draws(
    llamacpp_backend: LlamaCppBackend, tmp_path: Path
) -> None:
    cache = CachingBackend(llamacpp_backend, tmp_path / "draws.db")
    service = Service(Reasoner(cache))
    out = tmp_path / "eval.json"
    kwargs = dict(
        dataset="gsm_symbolic",
        size=3,
        seed=42,
        configs=CONFIGS,
        output=out,
        overrides={"max_tokens": 24},
    )
    ev = run_eval(service, **kwargs)  # type: ignore[arg-type]
    data = json.loads(out.read_text())
    assert data["meta"]["seed"] == 42 and data["meta"]["model"] == "smollm2-135m"
    for record in data["results"].values():
        assert set(record) == {"cot", "sc@8", "adaptive@8", *(f"sc@{k}" for k in range(1, 8))}
        assert record["adaptive@8"]["derived_from"] == "sc@8"
        assert 3 <= record["adaptive@8"]["n_paths"] <= 8
    rows = {r["config"]: r for r in ev.summary(CONFIGS)}
    assert rows["cot"]["questions"] == 3
    # sc@1 derived from the ordered draws is the first draw's answer
    for record in data["results"].values():
        assert record["sc@1"]["answer"] == record["sc@8"]["paths"][0]["answer"]
    misses = cache.misses
    run_eval(service, **kwargs)  # type: ignore[arg-type]
    assert cache.misses == misses  # everything was already done or cached


def test_an_ensembles_second_model_draws_through_the_same_cache(
    llamacpp_backend: LlamaCppBackend, small_model_path: Path, tmp_path: Path
) -> None:
    import sqlite3

    from agent.config import named_config
    from service.compose import build_service
    from service.settings import Settings

    settings = Settings(_env_file=None, model=str(small_model_path), data_dir=tmp_path, n_ctx=2048)  # type: ignore[call-arg]
    cache = CachingBackend(llamacpp_backend, tmp_path / "draws.db")
    service = build_service(settings, memory=False, threads=False, backend=cache)
    # The second model is the same file under its path: the service builds it from settings.
    cfg = named_config("ensemble", n=4, ensemble={str(small_model_path): 0.5}, max_tokens=16)
    first = service.reasoner.solve("What is 2 + 5?", cfg)
    rows = sqlite3.connect(tmp_path / "draws.db").execute("SELECT count(*) FROM draws").fetchone()
    assert rows[0] == 4  # 2 paths from each model, every one cached
    again = service.reasoner.solve("What is 2 + 5?", cfg)
    assert [p["answer"] for p in again.trace["paths"]] == [
        p["answer"] for p in first.trace["paths"]
    ]
    service.close()


def test_a_traffic_stream_learns_without_ever_seeing_the_answer(
    llamacpp_backend: LlamaCppBackend, tmp_path: Path
) -> None:
    from agent.config import named_config
    from evaluation.datasets import open_dataset
    from evaluation.traffic import serve_stream
    from memory import MemoryConfig, open_store
    from retrieval import RetrievalConfig

    store = open_store(tmp_path, MemoryConfig(), RetrievalConfig(embedding_model="hashing-64"))
    service = Service(Reasoner(llamacpp_backend, memory=store))
    try:
        config = named_config("full", max_tokens=24)
        report = serve_stream(service, config, dataset="gsm_symbolic", size=2, seed=1)
        with pytest.raises(ValueError, match="does not write back"):
            serve_stream(service, named_config("cot"), dataset="gsm_symbolic", size=1, seed=1)
    finally:
        service.close()
    data = report.to_dict()
    assert data["labels"] is False and data["attempted"] == 2 and len(data["marks"]) == 2
    assert data["answers_stored"] == data["marks"].count("S") + data["marks"].count("X")
    truths = {e["question"]: str(e["answer"]) for e in open_dataset("gsm_symbolic", size=2, seed=1)}
    for record in [store.get(i) for i in range(1, store.count() + 1)]:
        # What was stored came from traffic (the service's own evidence), not from labels.
        assert record.source == "gsm_symbolic:traffic:seed=1" and record.ground_truth is None
        assert record.question in truths
    assert data["answers_stored"] == 0 or store.count() >= 1
    store.close()
