from __future__ import annotations

import pytest
from pydantic import ValidationError

import memory
import retrieval
from retrieval import RetrievalConfig


@pytest.mark.parametrize("package", [memory, retrieval], ids=["memory", "retrieval"])
def test_all_is_sorted_and_every_name_exists(package: object) -> None:
    names = package.__all__  # type: ignore[attr-defined]
    assert names == sorted(names)
    for name in names:
        assert hasattr(package, name), name


def test_every_config_field_has_a_description() -> None:
    for model in (RetrievalConfig, memory.MemoryConfig, memory.WriteBackThresholds):
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name}"


def test_unknown_index_kind_is_rejected() -> None:
    with pytest.raises(ValidationError):
        RetrievalConfig(index_kind="annoy")  # type: ignore[arg-type]


@pytest.mark.parametrize("package", [memory, retrieval], ids=["memory", "retrieval"])
def test_package_never_imports_agent_or_api(package: object) -> None:
    import ast
    from pathlib import Path

    root = Path(package.__file__).parent  # type: ignore[attr-defined]
    for source in root.rglob("*.py"):
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                assert module.split(".")[0] not in {"agent", "api"}, f"{source}: {module}"
