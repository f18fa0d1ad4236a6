"""Settings: env names are the public contract; bad values fail with one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import ConfigError
from service.settings import load_settings


def test_defaults_use_embedded_default_model(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("REASON_MODEL", "REASON_BACKEND", "REASON_DATA_DIR", "REASON_API_KEYS"):
        monkeypatch.delenv(var, raising=False)
    s = load_settings()
    assert s.model == "qwen2.5-1.5b"
    assert s.backend == "llamacpp"
    assert s.data_dir == Path("indexes")
    assert s.api_keys == []


def test_public_env_names_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REASON_MODEL", "smollm2-135m")
    monkeypatch.setenv("REASON_BACKEND", "openai")
    monkeypatch.setenv("REASON_BACKEND_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("REASON_BACKEND_API_KEY", "secret")
    monkeypatch.setenv("REASON_DATA_DIR", "/tmp/reason-data")
    monkeypatch.setenv("REASON_API_KEYS", "k1, k2,,")
    s = load_settings()
    cfg = s.backend_config()
    assert (cfg.kind, cfg.model, cfg.url, cfg.api_key) == (
        "openai",
        "smollm2-135m",
        "http://127.0.0.1:9/v1",
        "secret",
    )
    assert cfg.models_dir == Path("/tmp/reason-data/models")
    assert s.api_keys == ["k1", "k2"]


@pytest.mark.parametrize(
    ("var", "value", "named"),
    [
        ("REASON_BACKEND", "tensorrt", "REASON_BACKEND"),
        ("REASON_THREADS", "zero", "REASON_THREADS"),
        ("REASON_TEMPERATURE", "9", "REASON_TEMPERATURE"),
    ],
    ids=["unknown-backend", "non-integer-threads", "temperature-out-of-range"],
)
def test_invalid_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, named: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert named in message
    assert "\n" not in message


def test_openai_backend_requires_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REASON_BACKEND", "openai")
    monkeypatch.delenv("REASON_BACKEND_URL", raising=False)
    with pytest.raises(ConfigError, match="REASON_BACKEND_URL"):
        load_settings()


def test_n_above_max_n_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REASON_N", "32")
    monkeypatch.setenv("REASON_MAX_N", "16")
    with pytest.raises(ConfigError, match="REASON_MAX_N"):
        load_settings()
