"""docker/: the compose file wires the replicas to vLLM, PostgreSQL and the load balancer."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"


REPLICAS = ("reason-a", "reason-b")


def compose_services() -> dict[str, Any]:
    return dict(yaml.safe_load((DOCKER / "compose.yaml").read_text())["services"])


def test_compose_points_the_replicas_at_the_vllm_server() -> None:
    services = compose_services()
    vllm = services["vllm"]
    assert vllm["image"].startswith("vllm/vllm-openai")
    assert vllm["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    for name in REPLICAS:
        env = services[name]["environment"]
        assert env["REASON_BACKEND"] == "openai"
        assert env["REASON_BACKEND_URL"] == "http://vllm:8000/v1"


def test_compose_puts_two_postgres_replicas_behind_the_tested_load_balancer() -> None:
    services = compose_services()
    for name in REPLICAS:
        # PostgreSQL memory: threads and answer records there too (stateless replicas).
        assert services[name]["environment"]["REASON_MEMORY__URL"].startswith("postgresql://")
        assert "ports" not in services[name]  # reached through the load balancer only
    lb = services["lb"]
    assert lb["image"].startswith("haproxy:2.6")  # the release Debian 12 ships, as tested
    assert lb["volumes"] == ["./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro"]
    assert lb["environment"] == {
        "LB_BIND": ":8000",
        "REPLICA_A": "reason-a:8000",
        "REPLICA_B": "reason-b:8000",
    }
    assert set(lb["depends_on"]) == set(REPLICAS)
    config = (DOCKER / "haproxy.cfg").read_text()
    assert "balance roundrobin" in config
    assert 'server a "${REPLICA_A}"' in config and 'server b "${REPLICA_B}"' in config
    # The load-balanced replica tests run this very file.
    assert "docker/haproxy.cfg" in (ROOT / "tests" / "support" / "haproxy.py").read_text()


@pytest.mark.skipif(
    shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists(),
    reason="haproxy not installed (scripts/setup.sh installs Debian's as root)",
)
def test_haproxy_accepts_the_load_balancer_config() -> None:
    env = {
        "LB_BIND": "127.0.0.1:8000",
        "REPLICA_A": "127.0.0.1:8001",
        "REPLICA_B": "127.0.0.1:8002",
    }
    result = subprocess.run(
        [shutil.which("haproxy") or "/usr/sbin/haproxy", "-c", "-f", str(DOCKER / "haproxy.cfg")],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_bakes_in_the_default_model_and_serves() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    assert "reason models pull qwen2.5-1.5b" in text
    assert 'CMD ["reason", "serve"' in text


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_compose_file_validates_with_docker_compose() -> None:
    result = subprocess.run(
        ["docker-compose", "-f", str(DOCKER / "compose.yaml"), "config"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
