"""A backend wrapper that caches every sampled path by (prompt, model, settings, seed).

Evaluations share draws through it: two configurations that send the same prompt with the
same seeds get the same completions without running the model again, and a killed run
resumes where it stopped. Each draw is stored with the seconds its original call cost (its
share of the batch), so reports can still state what the draws cost when they were made.
New rows are zlib-compressed JSON (token log-probs make a path ~60 KB of text, and the
cache is committed so later sessions reuse it); rows written as plain JSON still read.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from agent.backends.base import (
    Backend,
    BackendBase,
    Completion,
    GenerateRequest,
    GenerationStats,
    Message,
    SamplingParams,
    TokenLogprob,
)


def _encode(c: Completion) -> bytes:
    return zlib.compress(json.dumps(asdict(c), separators=(",", ":")).encode(), 6)


def _decode(blob: bytes | str) -> dict[str, Any]:
    if isinstance(blob, bytes):
        blob = zlib.decompress(blob).decode()
    fields: dict[str, Any] = json.loads(blob)
    return fields


def _completion_from(data: dict[str, Any]) -> Completion:
    lps = data.get("logprobs")
    return Completion(
        text=data["text"],
        finish_reason=data["finish_reason"],
        prompt_tokens=data["prompt_tokens"],
        completion_tokens=data["completion_tokens"],
        seed=data.get("seed"),
        logprobs=None
        if lps is None
        else tuple(
            TokenLogprob(t["token"], t["logprob"], tuple(tuple(x) for x in t["top"])) for t in lps
        ),
        model=data.get("model", ""),
    )


class CachingBackend(BackendBase):
    """Wraps a backend; ``generate`` draws are looked up per sample before running the model."""

    def __init__(self, inner: Backend, path: Path, *, owns_inner: bool = False) -> None:
        """Open (or create) the SQLite cache at ``path``; ``owns_inner``: close it too."""
        self.inner = inner
        self.path = path
        self._owns_inner = owns_inner
        self.model_name = inner.model_name
        self.last_stats = GenerationStats()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS draws (key TEXT PRIMARY KEY, completion TEXT NOT NULL,"
            " seconds REAL NOT NULL, created REAL NOT NULL)"
        )
        self._db.commit()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.drawn_seconds = 0.0  # original cost of every draw returned, cached or not

    def _key(
        self, messages: Sequence[Message], params: SamplingParams, i: int, prefix: str | None
    ) -> str:
        """Sample ``i``'s key. Its JSON is what every stored draw was keyed by: keep it."""
        blob = json.dumps(
            {
                "model": self.model_name,
                "messages": list(messages),
                **params.keywords(),
                "seed": params.seed_of(i),
                "prefix": prefix,
            },
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()

    def _generate(self, req: GenerateRequest) -> list[Completion]:
        """Cached draws first; the model runs only from the first missing sample on."""
        messages, params, n, prefixes = req.messages, req.params, req.n, req.prefixes
        keys = [self._key(messages, params, i, prefixes[i] if prefixes else None) for i in range(n)]
        with self._lock:
            rows = {
                key: (blob, seconds)
                for key, blob, seconds in self._db.execute(
                    f"SELECT key, completion, seconds FROM draws WHERE key IN "
                    f"({','.join('?' * len(keys))})",
                    keys,
                )
            }
        found: list[tuple[Completion, float]] = []
        for key in keys:
            if key not in rows:
                break
            blob, seconds = rows[key]
            found.append((_completion_from(_decode(blob)), float(seconds)))
        self.hits += len(found)
        start = len(found)
        if start < n:
            t0 = time.perf_counter()
            fresh = self.inner.generate(
                messages,
                n=n - start,
                prefixes=None if prefixes is None else prefixes[start:],
                **replace(params, seed=params.seed_of(start)).keywords(),
            )
            share = (time.perf_counter() - t0) / max(1, len(fresh))
            self.misses += len(fresh)
            with self._lock, self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO draws VALUES (?, ?, ?, ?)",
                    [
                        (keys[start + j], _encode(c), share, time.time())
                        for j, c in enumerate(fresh)
                    ],
                )
            found.extend((c, share) for c in fresh)
        self.drawn_seconds += sum(s for _, s in found)
        comps = [c for c, _ in found]
        self.last_stats = GenerationStats(
            completion_tokens=sum(c.completion_tokens for c in comps),
            generate_seconds=sum(s for _, s in found),
        )
        return comps

    def _stream(self, messages: Sequence[Message], params: SamplingParams) -> Iterator[str]:
        """Streaming is never cached."""
        return self.inner.stream(
            messages,
            temperature=params.temperature,
            top_p=params.top_p,
            max_tokens=params.max_tokens,
            stop=params.stop,
            seed=params.seed,
        )

    def health(self) -> bool:
        """The inner backend's health."""
        return bool(getattr(self.inner, "health", lambda: True)())

    def close(self) -> None:
        """Close the cache, and the inner backend when this wrapper owns it."""
        self._db.close()
        if self._owns_inner:
            self.inner.close()
