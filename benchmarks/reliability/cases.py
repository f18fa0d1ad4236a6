"""The reliability cases: each starts the service, does one unkind thing, checks."""

from __future__ import annotations

import random
import sqlite3
import statistics
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from benchmarks.net import free_port
from benchmarks.reliability.server import (
    Progress,
    Server,
    ask_question,
    model_server,
    running,
)


def kill_during_writeback(
    work: Path, model: str, *, rounds: int = 20, clients: int = 3, seed: int = 0,
    on_progress: Progress = print,
) -> dict[str, Any]:  # fmt: skip
    """SIGKILL a serving, learning service ``rounds`` times; check memory afterwards."""
    rng = random.Random(seed)
    data = work / "kill"
    data.mkdir(parents=True, exist_ok=True)
    # Requests ask reason-greedy; a retrieving default graph makes the service load its
    # embedder at start-up, so kills land during answering and storing, not loading.
    server = Server(data, model, {"REASON_GRAPH": "retrieval+sc", "REASON_MAX_TOKENS": "16"})
    # memory id -> the questions whose feedback it acknowledged (several when the store merged
    # a near-duplicate into an earlier row, which its policy does for a same-answer neighbour)
    acknowledged: dict[int, set[str]] = {}
    lock = threading.Lock()
    counter = iter(range(10**9))
    outcomes: Counter[str] = Counter()

    def client_loop(stop: threading.Event) -> None:
        with httpx.Client() as client:
            while not stop.is_set():
                n = next(counter)
                question = f"Reliability check {n}: what is {n} plus {n + 7}?"
                try:
                    r = ask_question(client, server.url, question, "reason-greedy")
                    if r.status_code != 200:
                        outcomes[f"chat {r.status_code}"] += 1
                        continue
                    fb = client.post(
                        f"{server.url}/v1/feedback",
                        # "Correct" on the answer given: a write to memory, acknowledged
                        # with its record id.
                        json={"answer_id": r.json()["x_answer_id"], "correct": True},
                        timeout=60,
                    )
                except httpx.HTTPError:
                    outcomes["connection lost"] += 1
                    continue
                outcomes[f"feedback {fb.status_code}"] += 1
                if fb.status_code == 200 and fb.json().get("memory_id") is not None:
                    with lock:
                        acknowledged.setdefault(int(fb.json()["memory_id"]), set()).add(question)

    started = time.perf_counter()
    for i in range(rounds):
        server.start()
        stop = threading.Event()
        threads = [threading.Thread(target=client_loop, args=(stop,)) for _ in range(clients)]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(1.0, 8.0))
        stop.set()  # no new requests; those in flight die with the process
        server.kill()
        for t in threads:
            t.join(120)
        acks = sum(len(q) for q in acknowledged.values())
        on_progress(f"kill {i + 1}/{rounds}: {acks} feedback acknowledged so far")
    # After the last kill: what a restart finds.
    server.start()
    try:
        stats = httpx.get(f"{server.url}/v1/memory/stats", timeout=30).json()
    finally:
        server.stop()
    db = sqlite3.connect(data / "memory.db")
    integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    rows = dict(db.execute("SELECT id, question FROM problems").fetchall())
    hashes = [h for (h,) in db.execute("SELECT content_hash FROM problems")]
    db.close()
    # Lost: an acknowledged record that is not there, or is not one of the questions stored.
    lost = sorted(i for i, qs in acknowledged.items() if rows.get(i) not in qs)
    return {
        "rounds": rounds,
        "clients": clients,
        "acknowledged": sum(len(qs) for qs in acknowledged.values()),
        "acknowledged_records": len(acknowledged),
        "merged_into_an_earlier_record": sum(len(qs) - 1 for qs in acknowledged.values()),
        "lost": len(lost),
        "lost_ids": lost[:20],
        "rows": len(rows),
        "duplicate_rows": len(hashes) - len(set(hashes)),
        "integrity_check": integrity,
        "indexed_problems": stats.get("indexed_problems"),
        "index_matches_sqlite": stats.get("indexed_problems") == stats.get("problems"),
        "outcomes": dict(outcomes),
        "seconds": round(time.perf_counter() - started, 1),
        "ok": not lost and integrity == "ok" and len(hashes) == len(set(hashes))
        and stats.get("indexed_problems") == stats.get("problems"),
    }  # fmt: skip


def overload(
    work: Path, model: str, *, clients: int = 64, on_progress: Progress = print
) -> dict[str, Any]:
    """``clients`` concurrent chat requests against 1 worker and a waiting line of 8."""
    data = work / f"overload-{clients}"
    data.mkdir(parents=True, exist_ok=True)
    env = {"REASON_GRAPH": "greedy", "REASON_MAX_TOKENS": "16", "REASON_MAX_CONCURRENCY": "1",
           "REASON_QUEUE_SIZE": "8"}  # fmt: skip
    server = Server(data, model, env)
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    missing_retry_after = 0
    lock = threading.Lock()
    with running(server):
        rss_before = server.rss_mb()
        barrier = threading.Barrier(clients)

        def one(i: int) -> None:
            nonlocal missing_retry_after
            with httpx.Client() as client:
                barrier.wait()
                t0 = time.perf_counter()
                try:
                    r = ask_question(client, server.url, f"What is {i} times 3?", "reason-greedy")
                except httpx.HTTPError:
                    with lock:
                        statuses[0] += 1
                    return
                with lock:
                    statuses[r.status_code] += 1
                    if r.status_code == 200:
                        latencies.append(time.perf_counter() - t0)
                    elif r.status_code == 429 and "retry-after" not in r.headers:
                        missing_retry_after += 1

        threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(600)
        seconds = time.perf_counter() - started
        rss_after = server.rss_mb()
    on_progress(f"overload {clients}: {dict(statuses)}")
    lat = sorted(latencies)
    return {
        "clients": clients,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "only_200_or_429": set(statuses) <= {200, 429},
        "429_without_retry_after": missing_retry_after,
        "admitted_p50_s": round(statistics.median(lat), 2) if lat else None,
        "admitted_p99_s": round(lat[min(len(lat) - 1, int(0.99 * len(lat)))], 2) if lat else None,
        "rss_mb_before": None if rss_before is None else round(rss_before),
        "rss_mb_after": None if rss_after is None else round(rss_after),
        "seconds": round(seconds, 1),
    }


def model_server_dies(
    work: Path, model: str, *, timeout_s: float = 20.0, on_progress: Progress = print
) -> dict[str, Any]:
    """The service's model server (a separate llama.cpp server) is SIGKILLed mid-answer.

    What must hold: the request in flight ends within the backend timeout with a 5xx in
    OpenAI's shape; the service stays up (/healthz 200) and /readyz names the backend; once
    a model server is back on the same address the service answers again, not restarted.
    """
    data = work / "model-server"
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {"REASON_BACKEND": "openai", "REASON_BACKEND_URL": f"http://127.0.0.1:{port}/v1",
           "REASON_BACKEND_TIMEOUT_S": str(timeout_s), "REASON_GRAPH": "greedy"}  # fmt: skip
    server = Server(data, "small", env)
    log = data / "llama-server.log"
    body = {"model": "reason-sc", "max_tokens": 64, "reasoning_paths": 8,
            "messages": [{"role": "user", "content": "Tom has 3 apples and buys 5 more. "
                          "How many apples does he have? Explain step by step."}]}  # fmt: skip
    out: dict[str, Any] = {"backend_timeout_s": timeout_s}
    with model_server(model, port, log) as llama:
        with running(server):
            result: dict[str, Any] = {}

            def ask() -> None:
                t0 = time.perf_counter()
                try:
                    r = httpx.post(f"{server.url}/v1/chat/completions", json=body, timeout=300)
                    result.update(status=r.status_code, body=r.json())
                except httpx.HTTPError as ex:
                    result.update(status=None, body={"error": str(ex)})
                result["seconds"] = time.perf_counter() - t0

            thread = threading.Thread(target=ask)
            thread.start()
            time.sleep(2.0)  # paths are being drawn
            llama.kill()
            killed = time.perf_counter()
            thread.join(300)
            error = result.get("body", {}).get("error")
            out["in_flight"] = {
                "status": result.get("status"),
                "seconds_after_kill": round(time.perf_counter() - killed, 1),
                "openai_shape": isinstance(error, dict) and {"message", "type"} <= set(error),
                "message": error.get("message") if isinstance(error, dict) else error,
            }
            out["healthz"] = httpx.get(f"{server.url}/healthz", timeout=10).status_code
            ready = httpx.get(f"{server.url}/readyz", timeout=30)
            checks = ready.json().get("checks", {})
            out["readyz_while_down"] = {
                "status": ready.status_code,
                "backend": checks.get("backend"),
            }
            with model_server(model, port, log):
                again = httpx.post(f"{server.url}/v1/chat/completions",
                                   json={**body, "reasoning_paths": 2}, timeout=300)  # fmt: skip
                out["after_restart"] = again.status_code
                out["readyz_after"] = httpx.get(f"{server.url}/readyz", timeout=30).status_code
    on_progress(f"model server killed mid-answer: {out['in_flight']}, then {out['after_restart']}")
    out["ok"] = (
        out["in_flight"]["status"] in (502, 503, 504)
        and out["in_flight"]["openai_shape"]
        and out["in_flight"]["seconds_after_kill"] <= timeout_s + 5
        and out["healthz"] == 200
        and out["after_restart"] == 200
    )
    return out


def _feedback(client: httpx.Client, url: str, n: int) -> tuple[int, str]:
    """Ask one question and confirm its answer; the feedback's status and error code."""
    question = f"Disk check {n}: a box holds {n} pens and {n + 2} pencils. How many in all?"
    r = ask_question(client, url, question, "reason-greedy")
    if r.status_code != 200:
        return r.status_code, f"chat: {r.json().get('error', {}).get('code')}"
    # "Correct" on the answer given: memory stores it (a write), with no program to write.
    verdict = {"answer_id": r.json()["x_answer_id"], "correct": True}
    fb = client.post(f"{url}/v1/feedback", json=verdict, timeout=60)
    code = fb.json().get("error", {}).get("code") if fb.status_code != 200 else "stored"
    return fb.status_code, str(code)


def _memory_check(server: Server) -> str:
    """What /readyz says of memory."""
    return str(httpx.get(f"{server.url}/readyz", timeout=30).json()["checks"]["memory"])


def disk_full_and_read_only(
    work: Path, model: str, *, size_mb: int = 64, on_progress: Progress = print
) -> dict[str, Any]:
    """The data directory on a small tmpfs: filled up, then remounted read-only.

    What must hold: answers are still served; a write that cannot happen is a 503 saying
    why (not a 500); /readyz says so; nothing is corrupted; writes resume when space returns.
    Needs the right to mount (root with CAP_SYS_ADMIN); otherwise reported as not run.
    """
    disk = work / "small-disk"
    disk.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(disk)],
                             capture_output=True, text=True)  # fmt: skip
    if mounted.returncode != 0:
        return {"not_run": f"cannot mount a tmpfs: {mounted.stderr.strip()}"}
    out: dict[str, Any] = {"size_mb": size_mb}
    env = {"REASON_GRAPH": "retrieval+sc", "REASON_MAX_TOKENS": "16"}  # loads the embedder
    server = Server(disk, model, env, log=work / "disk-serve.log")
    try:
        # A disk that fills up while the service runs.
        with running(server), httpx.Client() as client:
            out["before"] = _feedback(client, server.url, 1)
            filler = disk / "filler"
            with filler.open("wb") as f:
                try:
                    while True:
                        f.write(b"\0" * (1 << 20))
                        f.flush()
                except OSError:
                    pass
            out["full_feedback"] = [_feedback(client, server.url, n) for n in range(2, 5)]
            out["full_readyz"] = _memory_check(server)
            filler.unlink()
            out["after_space"] = _feedback(client, server.url, 5)
        # A data directory that is read-only when the service starts (Linux refuses to
        # remount a filesystem read-only under a process writing to it).
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        try:
            with running(server), httpx.Client() as client:
                out["ro_started"] = True
                out["ro_feedback"] = [_feedback(client, server.url, n) for n in range(6, 8)]
                out["ro_readyz"] = _memory_check(server)
        except RuntimeError as ex:
            out["ro_started"] = False
            out["ro_error"] = str(ex)
            out["ro_feedback"], out["ro_readyz"] = [], ""
        subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
        with running(server), httpx.Client() as client:
            out["after_rw"] = _feedback(client, server.url, 8)
        db = sqlite3.connect(disk / "memory.db")
        out["integrity_check"] = db.execute("PRAGMA integrity_check").fetchone()[0]
        out["rows"] = db.execute("SELECT count(*) FROM problems").fetchone()[0]
        db.close()
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)
    refused = [s for s, _ in out["full_feedback"] + out["ro_feedback"] if s != 200]
    out["ok"] = (
        out["before"][0] == 200 and out["after_space"][0] == 200 and out["after_rw"][0] == 200
        and all(s == 503 for s in refused) and out["integrity_check"] == "ok"
        and out["ro_started"] and "read-only" in out["ro_readyz"]
    )  # fmt: skip
    on_progress(f"disk: full {out['full_feedback']}, read-only {out['ro_feedback']}")
    return out
