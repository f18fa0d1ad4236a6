"""``reason eval`` plumbing on the real tiny model: shared draws, derived rows, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.backends.llamacpp import LlamaCppBackend
from agent.draw_cache import CachingBackend
from agent.eval import run_eval
from agent.reasoner import Reasoner

pytestmark = pytest.mark.integration

CONFIGS = ["cot", "sc@8", "adaptive@8"]


def test_eval_derives_rows_and_resumes_without_new_draws(
    llamacpp_backend: LlamaCppBackend, tmp_path: Path
) -> None:
    cache = CachingBackend(llamacpp_backend, tmp_path / "draws.db")
    reasoner = Reasoner(cache)
    out = tmp_path / "eval.json"
    kwargs = dict(
        dataset="gsm_symbolic",
        size=3,
        seed=42,
        configs=CONFIGS,
        output=out,
        overrides={"max_tokens": 24},
    )
    ev = run_eval(reasoner, **kwargs)  # type: ignore[arg-type]
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
    run_eval(reasoner, **kwargs)  # type: ignore[arg-type]
    assert cache.misses == misses  # everything was already done or cached
