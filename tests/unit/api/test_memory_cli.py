from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from api.cli.memory import memory_app
from memory import MemoryConfig, open_store
from retrieval import RetrievalConfig

runner = CliRunner()


@pytest.fixture
def settings(tmp_path: Path) -> SimpleNamespace:
    return SimpleNamespace(
        data_dir=tmp_path / "data",
        memory=MemoryConfig(),
        retrieval=RetrievalConfig(embedding_model="hashing-64", min_score=0.0),
    )


@pytest.fixture
def imported(tmp_path: Path, settings: SimpleNamespace) -> Path:
    source = tmp_path / "in.jsonl"
    lines = [
        {"question": "What is 12 times 12?", "answer": "144", "path": "12*12", "verified": True},
        {"question": "How many days are in 3 weeks?", "answer": "21", "verified": True},
    ]
    source.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    result = runner.invoke(memory_app, ["import", str(source)], obj=settings)
    assert result.exit_code == 0, result.output
    return source


def test_stats_json_reports_imported_problems(settings: SimpleNamespace, imported: Path) -> None:
    result = runner.invoke(memory_app, ["stats", "--json"], obj=settings)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["problems"] == 2


def test_search_prints_the_best_match_first(settings: SimpleNamespace, imported: Path) -> None:
    result = runner.invoke(
        memory_app, ["search", "How many days are in 3 weeks?", "-k", "1"], obj=settings
    )
    assert result.exit_code == 0
    assert "21" in result.stdout and "144" not in result.stdout


def test_show_of_unknown_id_fails_with_one_line(settings: SimpleNamespace, imported: Path) -> None:
    result = runner.invoke(memory_app, ["show", "99"], obj=settings)
    assert result.exit_code == 1
    assert "no problem with id 99" in result.output
    assert "Traceback" not in result.output


def test_delete_then_show_fails(settings: SimpleNamespace, imported: Path) -> None:
    assert runner.invoke(memory_app, ["delete", "1"], obj=settings).exit_code == 0
    assert runner.invoke(memory_app, ["show", "1"], obj=settings).exit_code == 1


def test_import_with_a_bad_line_lists_it_and_exits_non_zero(
    tmp_path: Path, settings: SimpleNamespace
) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text('{"question": "What is 1+1?", "answer": "2"}\n{oops\n')
    result = runner.invoke(memory_app, ["import", str(source)], obj=settings)
    assert result.exit_code == 1
    assert f"{source}:2:" in result.output
    assert "added 1" in result.output


def test_export_writes_every_problem(
    tmp_path: Path, settings: SimpleNamespace, imported: Path
) -> None:
    out = tmp_path / "out.jsonl"
    assert runner.invoke(memory_app, ["export", str(out)], obj=settings).exit_code == 0
    assert len(out.read_text().splitlines()) == 2


def test_rebuild_index_re_embeds_after_a_model_change(
    settings: SimpleNamespace, imported: Path
) -> None:
    settings.retrieval = RetrievalConfig(embedding_model="hashing-32", min_score=0.0)
    failed = runner.invoke(memory_app, ["stats"], obj=settings)
    assert failed.exit_code == 1
    assert "reason memory rebuild-index" in failed.output
    result = runner.invoke(memory_app, ["rebuild-index"], obj=settings)
    assert result.exit_code == 0, result.output
    assert "indexed 2 problems" in result.stdout
    with open_store(settings.data_dir, settings.memory, settings.retrieval) as store:
        assert store.stats().dim == 32


def test_commands_fall_back_to_defaults_without_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(memory_app, ["delete", "5"])
    assert result.exit_code == 1
    assert "no problem with id 5" in result.output
    assert (tmp_path / "indexes" / "memory.db").exists()


def test_seed_loads_principles_once(settings: SimpleNamespace) -> None:
    first = runner.invoke(memory_app, ["seed"], obj=settings)
    again = runner.invoke(memory_app, ["seed"], obj=settings)
    assert first.exit_code == 0 and again.exit_code == 0
    assert again.stdout.startswith("added 0 principles")
