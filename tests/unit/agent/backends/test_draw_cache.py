"""The draw cache's bookkeeping, with a scripted backend that counts what it is asked for.

(The real model behind the cache is covered by tests/integration/test_eval_real.py.)
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from pathlib import Path
from typing import Any

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


def test_keys_are_those_the_stored_draws_were_made_under(tmp_path: Path) -> None:
    """The committed draws (benchmarks/results/cache/draws.db) are found by these keys.

    The hashes were taken from the cache before ``generate``'s settings became one
    ``SamplingParams``; a change to how a key is built would orphan every stored draw.
    """
    cache = CachingBackend(CountingBackend(), tmp_path / "draws.db")
    requests: list[tuple[dict[str, Any], list[str]]] = [
        (
            {"n": 2, "seed": 10},
            [
                "91bc7f8696e3cf2b93e1065f0cbbe788a81e2fa4497e54c2532989e7d6cc6a06",
                "a25f406734405c3995c647273d50ff54dbfb7c1f794e0d8e84d6f66a2f365a7d",
            ],
        ),
        (
            {
                "n": 1,
                "seed": 3,
                "temperature": 0,
                "top_p": 1.0,
                "max_tokens": 64,
                "stop": ["\n\n", "Question:"],
                "logprobs": 5,
            },
            ["e1cd53b0b99905df22be766d44a1e22066a7783f159ef54df748d13829d05992"],
        ),
        (
            {"n": 2, "seed": 0, "prefixes": ["```python\n", "```python\n"]},
            [
                "1f74d55ed15a05d05e3c65b5772c9d320d25d62481a7e384e059f82bc7312f05",
                "bbb5389edfbf351b4bd26001c46c235c6de25af0893df4b998c3e21e0a39c1f3",
            ],
        ),
    ]
    for kwargs, expected in requests:
        before = {key for (key,) in cache._db.execute("SELECT key FROM draws")}
        cache.generate(MSG, **kwargs)
        after = {key for (key,) in cache._db.execute("SELECT key FROM draws")}
        assert after - before == set(expected), kwargs
