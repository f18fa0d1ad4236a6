"""``Service.submit``: a way in hands over a configuration name and overrides; the service
resolves them (its sampling defaults, then the request's fields) before admitting the run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from agent.config import named_config
from agent.errors import ConfigError
from agent.reasoner import Reasoner
from service.compose import Ask, Service
from service.queue import WorkQueue
from tests.support.queue_backend import QueueBackend


@pytest.fixture
def backend() -> QueueBackend:
    return QueueBackend(["so \\boxed{42}"] * 8)


@pytest.fixture
def service(backend: QueueBackend) -> Iterator[Service]:
    svc = Service(Reasoner(backend, sampling_defaults={"n": 3}), WorkQueue(1, 1), "sc@8")
    yield svc
    svc.close()


def test_a_name_takes_the_sampling_defaults_then_the_overrides(service: Service) -> None:
    assert service.resolve(Ask("q", "sc@8")).n == 3
    assert service.resolve(Ask("q", "sc@8", overrides={"n": 2, "seed": None})).n == 2
    assert service.resolve(Ask("q")).name == "sc@8"  # the service's default


def test_a_resolved_configuration_runs_as_given(service: Service) -> None:
    cfg = named_config("sc@8", n=5)
    assert service.resolve(Ask("q", cfg)) is cfg


def test_the_overrides_reach_the_run(service: Service, backend: QueueBackend) -> None:
    answer = service.answer(Ask("What is 6 * 7?", "sc@8", overrides={"n": 2}))
    assert answer.answer == "42"
    assert len(answer.trace["paths"]) == 2
    assert [call["n"] for call in backend.calls] == [2]


def test_a_refused_override_is_raised_before_admission(service: Service) -> None:
    with pytest.raises(ValidationError):
        service.submit(Ask("q", "sc@8", overrides={"n": 0}))
    with pytest.raises(ConfigError):
        service.submit(Ask("q", "no-such-config"))
    assert service.queue.in_flight == 0
