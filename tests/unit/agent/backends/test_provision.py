"""Model provisioning without the network: names, local files, hub failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.backends.catalog import CATALOG
from agent.backends.provision import HF_PREFIX, is_verified, resolve
from agent.errors import ConfigError, ModelError


def test_unknown_model_name_lists_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        resolve("gpt-7", tmp_path)
    for name in CATALOG:
        assert name in str(info.value)


def test_local_gguf_path_is_accepted(tmp_path: Path) -> None:
    f = tmp_path / "m.gguf"
    f.write_bytes(b"GGUF" + b"\0" * 16)
    assert resolve(str(f), tmp_path) == f


def test_local_file_without_gguf_magic_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "m.gguf"
    f.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(ModelError, match="magic"):
        resolve(str(f), tmp_path)


def test_missing_local_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        resolve(str(tmp_path / "absent.gguf"), tmp_path)


def test_partial_file_is_not_verified(tmp_path: Path) -> None:
    entry = CATALOG["smollm2-135m"]
    f = tmp_path / entry.filename
    f.write_bytes(b"GGUF" + b"\0" * 100)
    assert not is_verified(entry, f)


def test_hub_download_offline_fails_with_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match="Hugging Face repo Qwen/Qwen2.5-0.5B-Instruct-GGUF"):
        resolve(
            f"{HF_PREFIX}Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf",
            tmp_path,
        )


def test_malformed_hub_spec_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="OWNER/REPO/FILE"):
        resolve(f"{HF_PREFIX}only-owner", tmp_path)
