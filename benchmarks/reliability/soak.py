"""The soak case: mixed traffic for a long while; resources and latency minute by minute.

Eight clients loop over the four things users do (ask, ask streaming, confirm an answer,
search memory) against one ``reason serve``. Once a minute the server's resident memory,
open file descriptors and threads are read from /proc, and each minute's requests give a
latency p50/p99. A leak shows as a level that keeps rising after the warm-up minute.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from benchmarks.reliability.server import Progress, Server, running

# Growth from the end of the first (warm-up) minute to the end that still counts as no leak:
# allocator arenas and caches settle within a few MB; a leak per request grows without end.
RSS_BOUND_MB = 64.0
FD_BOUND = 8
THREAD_BOUND = 4

KINDS = ("chat", "stream", "feedback", "search")


def process_resources(pid: int) -> dict[str, float]:
    """Resident memory (MB), open file descriptors and threads of a process (Linux /proc)."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = dict(line.split(":", 1) for line in status if ":" in line)
    return {
        "rss_mb": round(int(fields["VmRSS"].split()[0]) / 1024, 1),
        "fds": len(list(Path(f"/proc/{pid}/fd").iterdir())),
        "threads": int(fields["Threads"]),
    }


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def _one_request(client: httpx.Client, url: str, kind: str, n: int) -> int:
    """Send one request of ``kind``; its HTTP status (a streamed one is read to the end)."""
    question = f"Soak {n}: what is {n} plus {n % 13}?"
    chat = {"model": "reason-greedy", "max_tokens": 16,
            "messages": [{"role": "user", "content": question}]}  # fmt: skip
    if kind == "search":
        return client.get(f"{url}/v1/memory/search", params={"q": question, "k": 3}).status_code
    if kind == "stream":
        with client.stream("POST", f"{url}/v1/chat/completions",
                           json={**chat, "stream": True}) as r:  # fmt: skip
            for _ in r.iter_lines():
                pass
            return r.status_code
    r = client.post(f"{url}/v1/chat/completions", json=chat)
    if kind == "chat" or r.status_code != 200:
        return r.status_code
    verdict = {"answer_id": r.json()["x_answer_id"], "correct": True}
    return client.post(f"{url}/v1/feedback", json=verdict).status_code


def mixed_traffic_soak(
    work: Path, model: str, *, minutes: float = 20.0, clients: int = 8, seed: int = 0,
    on_progress: Progress = print,
) -> dict[str, Any]:  # fmt: skip
    """``clients`` loop mixed requests for ``minutes``; per-minute resources and latency."""
    data = work / "soak"
    data.mkdir(parents=True, exist_ok=True)
    # A retrieving default graph loads the embedder at start, so search is warm from minute 1.
    env = {"REASON_GRAPH": "retrieval+sc", "REASON_MAX_TOKENS": "16",
           "REASON_MAX_CONCURRENCY": "2", "REASON_QUEUE_SIZE": "32"}  # fmt: skip
    server = Server(data, model, env)
    stop = threading.Event()
    lock = threading.Lock()
    counter = iter(range(10**9))
    # (minute, kind, status, seconds) per request
    done: list[tuple[int, str, int, float]] = []
    started = 0.0

    def client_loop(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        with httpx.Client(timeout=120) as client:
            while not stop.is_set():
                kind = rng.choice(KINDS)
                t0 = time.monotonic()
                try:
                    status = _one_request(client, server.url, kind, next(counter))
                except httpx.HTTPError:
                    status = 0
                with lock:
                    done.append((int((t0 - started) // 60), kind, status, time.monotonic() - t0))

    samples: list[dict[str, float]] = []
    with running(server):
        assert server.process is not None
        pid = server.process.pid
        samples.append({"minute": 0, **process_resources(pid)})
        started = time.monotonic()
        threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        for minute in range(1, int(minutes) + 1):
            time.sleep(max(0.0, started + 60 * minute - time.monotonic()))
            samples.append({"minute": minute, **process_resources(pid)})
            with lock:
                count = sum(1 for m, *_ in done if m == minute - 1)
            on_progress(f"soak minute {minute}/{int(minutes)}: {count} requests, {samples[-1]}")
        stop.set()
        for t in threads:
            t.join(180)
    per_minute = []
    requests: list[int] = []  # per minute
    for minute in range(int(minutes)):
        rows = [r for r in done if r[0] == minute]
        requests.append(len(rows))
        ok = [s for _, _, status, s in rows if status == 200]
        per_minute.append({
            "minute": minute + 1,
            "requests": len(rows),
            "p50_s": _percentile(ok, 0.5),
            "p99_s": _percentile(ok, 0.99),
            **{k: v for k, v in samples[minute + 1].items() if k != "minute"},
        })  # fmt: skip
    statuses = Counter(status for _, _, status, _ in done)
    warm, end = samples[1], samples[-1]
    growth = {k: round(end[k] - warm[k], 1) for k in ("rss_mb", "fds", "threads")}
    latencies = [s for _, _, status, s in done if status == 200]
    return {
        "minutes": minutes,
        "clients": clients,
        "requests": len(done),
        "by_kind": dict(Counter(kind for _, kind, _, _ in done)),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "start": samples[0],
        "after_warmup": warm,
        "end": end,
        "growth_after_warmup": growth,
        "bounds": {"rss_mb": RSS_BOUND_MB, "fds": FD_BOUND, "threads": THREAD_BOUND},
        "p50_s": _percentile(latencies, 0.5),
        "p99_s": _percentile(latencies, 0.99),
        "median_requests_per_minute": statistics.median(requests),
        "per_minute": per_minute,
        "ok": set(statuses) <= {200}
        and growth["rss_mb"] <= RSS_BOUND_MB
        and growth["fds"] <= FD_BOUND
        and growth["threads"] <= THREAD_BOUND,
    }
