"""The draw cache's bookkeeping, with a scripted backend that counts what it is asked for.

(The real model behind the cache is covered by tests/integration/test_eval_real.py.)
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from pathlib import Path

from agent.backends.base import Completion, TokenLogprob
from agent.backends.caching import CachingBackend


class CountingBackend:
    model_name = "scripted"

    def __init__(self) -> None:
        self.calls: list[tuple[int, int | None]] = []

    def generate(self, messages, *, n=1, seed=None, logprobs=None, **_kw):  # noqa: ANN001
        self.calls.append((n, seed))
        lp = (TokenLogprob("7", -0.1, (("7", -0.1), ("8", -2.5))),) if logprobs else None
        return [
            Completion(f"path seed={seed + i}", "stop", 5, 3, seed=seed + i, logprobs=lp)
            for i in range(n)
        ]


MSG = [{"role": "user", "content": "What is 3 + 4?"}]


def test_second_call_is_served_from_the_cache(tmp_path: Path) -> None:
    inner = CountingBackend()
    cache = CachingBackend(inner, tmp_path / "draws.db")
    first = cache.generate(MSG, n=3, seed=10, logprobs=2)
    again = cache.generate(MSG, n=3, seed=10, logprobs=2)
    assert inner.calls == [(3, 10)]
    assert again == first  # log-probs survive the round trip
    assert (cache.hits, cache.misses) == (3, 3)


def test_a_larger_budget_draws_only_the_missing_tail(tmp_path: Path) -> None:
    inner = CountingBackend()
    cache = CachingBackend(inner, tmp_path / "draws.db")
    cache.generate(MSG, n=2, seed=0)
    out = cache.generate(MSG, n=5, seed=0)
    assert inner.calls == [(2, 0), (3, 2)]  # the 3 new paths continue at seed 2
    assert [c.seed for c in out] == [0, 1, 2, 3, 4]


def test_other_settings_do_not_share_draws(tmp_path: Path) -> None:
    inner = CountingBackend()
    cache = CachingBackend(inner, tmp_path / "draws.db")
    cache.generate(MSG, n=1, seed=0, temperature=0.7)
    cache.generate(MSG, n=1, seed=0, temperature=0.0)
    cache.generate(MSG, n=1, seed=0, temperature=0.7, max_tokens=64)
    assert len(inner.calls) == 3


def test_rows_are_compressed_and_old_plain_json_rows_still_read(tmp_path: Path) -> None:
    path = tmp_path / "draws.db"
    inner = CountingBackend()
    cache = CachingBackend(inner, path)
    cache.generate(MSG, n=1, seed=0)
    cache.close()
    db = sqlite3.connect(path)
    (blob,) = db.execute("SELECT completion FROM draws").fetchone()
    assert isinstance(blob, bytes)
    # Rewrite the row the way the first version of the cache stored it: plain JSON text.
    old = Completion("plain json row", "stop", 5, 3, seed=0)
    db.execute("UPDATE draws SET completion = ?", (json.dumps(asdict(old)),))
    db.commit()
    db.close()
    cache = CachingBackend(inner, path)
    assert cache.generate(MSG, n=1, seed=0)[0].text == "plain json row"
    assert len(inner.calls) == 1


def test_a_wrapper_that_owns_its_backend_closes_it(tmp_path: Path) -> None:
    class Closable(CountingBackend):
        closed = False

        def close(self) -> None:
            self.closed = True

    kept, owned = Closable(), Closable()
    CachingBackend(kept, tmp_path / "a.db").close()
    CachingBackend(owned, tmp_path / "b.db", owns_inner=True).close()
    assert (kept.closed, owned.closed) == (False, True)
