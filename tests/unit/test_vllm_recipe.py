"""docker/compose.yaml's vLLM service is the recipe tests/integration/test_vllm.py proved on CPU."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from benchmarks.vllm_server import HF_MODELS_DIR, ROOT, SERVE_FLAGS, VllmServer

COMPOSE = ROOT / "docker" / "compose.yaml"


def _default(value: str) -> str:
    """``${VAR:-default}`` as compose resolves it with VAR unset."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def _services() -> dict[str, dict[str, object]]:
    services: dict[str, dict[str, object]] = yaml.safe_load(COMPOSE.read_text())["services"]
    return services


def _flags(command: list[str]) -> dict[str, str]:
    args = [_default(a) for a in command]
    return {a: b for a, b in zip(args, args[1:], strict=False) if a.startswith("--")}


def test_compose_passes_vllm_the_flags_the_tests_used() -> None:
    compose = _flags(_services()["vllm"]["command"])  # type: ignore[arg-type]
    tested = _flags(list(SERVE_FLAGS))
    assert {k: compose.get(k) for k in tested} == tested


def test_the_served_name_is_the_model_the_service_asks_for() -> None:
    services = _services()
    compose = _flags(services["vllm"]["command"])  # type: ignore[arg-type]
    # Every replica of the service asks vLLM for the served name.
    replicas = [name for name in services if name.startswith("reason")]
    assert replicas == ["reason-a", "reason-b"]
    for name in replicas:
        env = services[name]["environment"]
        assert _default(env["REASON_MODEL"]) == compose["--served-model-name"]  # type: ignore[index]
    # The served name is the catalogue name, and the folder is the one env.sh makes for it.
    assert compose["--model"] == f"/models/{compose['--served-model-name']}"


def test_compose_mounts_the_folder_env_sh_writes() -> None:
    volumes = _services()["vllm"]["volumes"]
    host = (COMPOSE.parent / "../indexes/models/hf").resolve()
    assert host == HF_MODELS_DIR.resolve()
    assert "../indexes/models/hf:/models:ro" in volumes  # type: ignore[operator]


def test_the_test_server_runs_the_same_flags() -> None:
    command = VllmServer("smollm2-135m", port=1).command()
    assert command[command.index("--model") + 1] == str(HF_MODELS_DIR / "smollm2-135m")
    joined = " ".join(command)
    assert " ".join(SERVE_FLAGS) in joined
    assert Path(command[0]).parent.parent.name == ".venv-vllm"
