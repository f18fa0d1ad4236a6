"""Schema-driven fuzzing: every operation in /openapi.json, fed invalid input, answers 4xx.

Schemathesis generates requests that violate the published schema (wrong types, missing
fields, out-of-range numbers, odd strings) and sends them to the real app under uvicorn,
with the tiny real model behind it. Bad input must get a 4xx with a JSON message saying what
was wrong, never a 500 or a stack trace.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from api.http.app import create_app
from service.compose import build_service
from service.settings import Settings
from tests.support.servers import serving

pytestmark = pytest.mark.integration

KEY = "sk-fuzz-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def server(llamacpp_backend: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data: Path = tmp_path_factory.mktemp("fuzz")
    # Tight sampling defaults: a generated request that happens to be valid stays cheap.
    settings_ = Settings(_env_file=None, data_dir=data, api_keys=[KEY], n=2, max_tokens=16)  # type: ignore[call-arg]
    service = build_service(settings_, memory=True, backend=llamacpp_backend)
    with serving(create_app(settings_, service)) as url:
        yield url
    service.close()


def _fuzz(op: Any, server: str, seen: dict[str, set[int]]) -> None:
    """Send ``op`` the schema-violating requests Hypothesis draws; check every response."""

    @settings(max_examples=25, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=op.as_strategy(GenerationMode.NEGATIVE))
    def check(case: schemathesis.Case) -> None:
        response = case.call(base_url=server, headers=AUTH, timeout=120)
        assert response.status_code < 500, (op.label, case.body, response.text[:500])
        seen.setdefault(op.label, set()).add(response.status_code)
        if response.status_code >= 400:
            body = response.json()
            error = body.get("error")
            message = error.get("message") if isinstance(error, dict) else body.get("detail")
            assert message, (op.label, body)
            assert "Traceback" not in response.text

    try:
        check()
    except Unsatisfiable:
        seen.setdefault(op.label, set())  # no parameters or body: nothing to make invalid


@pytest.mark.timeout(900)
def test_invalid_requests_get_a_4xx_with_a_message(server: str) -> None:
    doc = httpx.get(f"{server}/openapi.json").json()
    schema = schemathesis.openapi.from_dict(doc)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} >= {"POST /v1/chat/completions", "POST /v1/feedback"}
    seen: dict[str, set[int]] = {}
    for op in operations:
        _fuzz(op, server, seen)
    # The fuzzer reached the validation of the main endpoint, not only the auth layer.
    assert seen["POST /v1/chat/completions"] & {400, 413, 422}


def _validate(op: Any, server: str, seen: dict[str, set[int]], examples: int) -> None:
    """Send ``op`` schema-valid requests and run every schemathesis check on each response
    (no server error, status codes, content types and bodies as documented, ...)."""

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=op.as_strategy(GenerationMode.POSITIVE))
    def check(case: schemathesis.Case) -> None:
        response = case.call_and_validate(base_url=server, headers=AUTH, timeout=120)
        seen.setdefault(op.label, set()).add(response.status_code)

    check()


# A schema-valid conversation can still be longer than the model's context (the schema caps
# characters; a model counts tokens, and fuzzed unicode costs several a character): that is
# the documented 413, so valid data may get it besides schemathesis's accepted statuses.
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "413", "429", "5xx"]


@pytest.mark.timeout(900)
def test_valid_requests_pass_every_check_and_reach_the_chat_logic(server: str) -> None:
    doc = httpx.get(f"{server}/openapi.json").json()
    config = SchemathesisConfig.from_dict(
        {"checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}}}
    )
    schema = schemathesis.openapi.from_dict(doc, config=config)
    seen: dict[str, set[int]] = {}
    for result in schema.get_all_operations():
        op = result.ok()
        # Each valid chat request runs the real model: fewer of them.
        _validate(op, server, seen, 8 if op.label == "POST /v1/chat/completions" else 15)
    # The model enum lets generated requests name real models: they are answered.
    assert 200 in seen["POST /v1/chat/completions"], seen
