from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval import IndexLoadError, RetrievalConfig, VectorIndex, normalize_rows

DIM = 16


def vectors(n: int, seed: int = 0) -> np.ndarray:
    return normalize_rows(np.random.default_rng(seed).standard_normal((n, DIM)))


def build(kind: str = "flat", n: int = 12) -> VectorIndex:
    config = RetrievalConfig(index_kind=kind)  # type: ignore[arg-type]
    ids = np.arange(100, 100 + n, dtype=np.int64)
    return VectorIndex.build(DIM, config, ids, vectors(n))


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_search_returns_the_stored_id_of_each_vector_first(kind: str) -> None:
    index = build(kind)
    for i, vector in enumerate(vectors(12)):
        (best_id, score), *_ = index.search(vector, 3)[0]
        assert best_id == 100 + i
        assert score == pytest.approx(1.0, abs=1e-5)


def test_search_on_an_empty_index_returns_nothing() -> None:
    assert VectorIndex(DIM, RetrievalConfig()).search(vectors(1), 5) == [[]]


def test_search_for_more_than_stored_returns_all_stored() -> None:
    assert len(build(n=4).search(vectors(1), 10)[0]) == 4


def test_remove_drops_the_id_from_a_flat_index() -> None:
    index = build()
    assert index.remove([100]) == 1
    assert 100 not in {i for i, _ in index.search(vectors(1), 12)[0]}


def test_wrong_dimension_is_refused() -> None:
    with pytest.raises(Exception, match="dimension"):
        build().search(np.ones(DIM + 1, dtype=np.float32), 1)


def test_save_then_load_gives_the_same_results(tmp_path: Path) -> None:
    index = build("hnsw")
    manifest = index.save(tmp_path, model="m", last_id=111)
    loaded, read = VectorIndex.load(
        tmp_path, model="m", dim=DIM, config=RetrievalConfig(index_kind="hnsw")
    )
    assert read == manifest
    assert (read.row_count, read.last_id, read.kind) == (12, 111, "hnsw")
    query = vectors(1, seed=5)
    assert loaded.search(query, 4) == index.search(query, 4)


def test_save_leaves_no_temporary_files(tmp_path: Path) -> None:
    build().save(tmp_path, model="m", last_id=111)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.faiss", "manifest.json"]


@pytest.mark.parametrize(
    ("model", "kind", "dim"),
    [("other", "flat", DIM), ("m", "hnsw", DIM), ("m", "flat", DIM * 2)],
    ids=["other-model", "other-kind", "other-dim"],
)
def test_load_refuses_an_index_built_differently(
    tmp_path: Path, model: str, kind: str, dim: int
) -> None:
    build().save(tmp_path, model="m", last_id=111)
    with pytest.raises(IndexLoadError):
        VectorIndex.load(tmp_path, model=model, dim=dim, config=RetrievalConfig(index_kind=kind))  # type: ignore[arg-type]


def test_load_refuses_a_truncated_index_file(tmp_path: Path) -> None:
    build().save(tmp_path, model="m", last_id=111)
    path = tmp_path / "index.faiss"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(IndexLoadError, match="bytes"):
        VectorIndex.load(tmp_path, model="m", dim=DIM, config=RetrievalConfig())


def test_load_refuses_a_corrupt_index_file_of_the_right_size(tmp_path: Path) -> None:
    build().save(tmp_path, model="m", last_id=111)
    path = tmp_path / "index.faiss"
    path.write_bytes(b"\xff" * path.stat().st_size)
    with pytest.raises(IndexLoadError, match="corrupt"):
        VectorIndex.load(tmp_path, model="m", dim=DIM, config=RetrievalConfig())


def test_load_without_manifest_raises_index_load_error(tmp_path: Path) -> None:
    with pytest.raises(IndexLoadError, match="manifest"):
        VectorIndex.load(tmp_path, model="m", dim=DIM, config=RetrievalConfig())


def test_ids_stay_correct_after_a_removal_and_a_later_add() -> None:
    index = build()
    index.remove([100, 105])
    fresh = vectors(1, seed=9)
    index.add([500], fresh)
    assert index.search(fresh, 1)[0][0][0] == 500
    for i, vector in enumerate(vectors(12)):
        if i not in (0, 5):
            assert index.search(vector, 1)[0][0][0] == 100 + i


def test_ids_stay_correct_after_save_and_load(tmp_path: Path) -> None:
    index = build()
    index.remove([103])
    index.save(tmp_path, model="m", last_id=111)
    loaded, _ = VectorIndex.load(tmp_path, model="m", dim=DIM, config=RetrievalConfig())
    for i, vector in enumerate(vectors(12)):
        if i != 3:
            assert loaded.search(vector, 1)[0][0][0] == 100 + i
