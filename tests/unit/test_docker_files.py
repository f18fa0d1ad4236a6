"""docker/: the compose file wires this service to a vLLM server by settings."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

DOCKER = Path(__file__).resolve().parents[2] / "docker"


def test_compose_points_the_service_at_the_vllm_server() -> None:
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    vllm, app = compose["services"]["vllm"], compose["services"]["reason"]
    assert vllm["image"].startswith("vllm/vllm-openai")
    assert vllm["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    env = app["environment"]
    assert env["REASON_BACKEND"] == "openai"
    assert env["REASON_BACKEND_URL"] == "http://vllm:8000/v1"


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
