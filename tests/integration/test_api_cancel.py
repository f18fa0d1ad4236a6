"""A client that goes away mid-answer cancels its run, streaming or not.

A real uvicorn server with the tiny real model; the client gives up after half a second (a
timeout closes the connection, as a closed browser tab or a Ctrl-C does). The run stops at
its next graph step and is counted as cancelled in /metrics, instead of finishing for no one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from service.settings import Settings
from tests.support.servers import serving_api

pytestmark = pytest.mark.integration

# Long enough that the tiny model is still writing when the client leaves.
LONG = {
    "model": "reason-cot",
    "max_tokens": 300,
    "messages": [{"role": "user", "content": "Write a long story about a lighthouse keeper."}],
}
CANCELLED = 'reason_questions_total{config="cot",outcome="cancelled"}'


@pytest.fixture
def base_url(llamacpp_backend: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = Settings(_env_file=None, data_dir=tmp_path_factory.mktemp("cancel"))  # type: ignore[call-arg]
    with serving_api(settings, llamacpp_backend) as url:
        yield url


def cancelled_count(base_url: str) -> float:
    for line in httpx.get(f"{base_url}/metrics").text.splitlines():
        if line.startswith(CANCELLED):
            return float(line.split()[-1])
    return 0.0


def wait_for_cancel(base_url: str, within: float = 90.0) -> float:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if cancelled_count(base_url) >= 1:
            return cancelled_count(base_url)
        time.sleep(0.2)
    return cancelled_count(base_url)


def test_a_plain_request_whose_client_leaves_is_cancelled(base_url: str) -> None:
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{base_url}/v1/chat/completions", json=LONG, timeout=0.5)
    assert wait_for_cancel(base_url) == 1
    # the service is free again and answers the next request
    r = httpx.post(f"{base_url}/v1/chat/completions", json={**LONG, "max_tokens": 16}, timeout=120)
    assert r.status_code == 200


def test_a_stream_whose_client_leaves_is_cancelled(base_url: str) -> None:
    with httpx.stream(
        "POST", f"{base_url}/v1/chat/completions", json={**LONG, "stream": True}, timeout=120
    ) as r:
        assert r.status_code == 200
        next(r.iter_lines())  # the first chunk arrived: the run is under way; then leave
    assert wait_for_cancel(base_url) == 1
