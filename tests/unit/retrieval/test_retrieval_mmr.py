from __future__ import annotations

import numpy as np

from retrieval import mmr_select, normalize_rows


def test_mmr_with_lambda_one_ranks_by_relevance() -> None:
    query = normalize_rows(np.array([1.0, 0.0, 0.0]))[0]
    candidates = normalize_rows(np.array([[0.5, 1, 0], [1, 0.1, 0], [0, 0, 1]]))
    assert mmr_select(query, candidates, 3, lambda_=1.0) == [1, 0, 2]


def test_mmr_prefers_a_different_result_over_a_second_copy() -> None:
    query = normalize_rows(np.array([1.0, 0.2, 0.0]))[0]
    copy = [1.0, 0.0, 0.0]
    candidates = normalize_rows(np.array([copy, copy, [0.6, 0.8, 0.0]]))
    assert mmr_select(query, candidates, 2, lambda_=0.5) == [0, 2]


def test_dedup_threshold_never_returns_two_copies() -> None:
    query = normalize_rows(np.array([1.0, 0.0]))[0]
    candidates = normalize_rows(np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]]))
    assert mmr_select(query, candidates, 3, lambda_=1.0, dedup_cosine=0.99) == [0]


def test_mmr_of_no_candidates_is_empty() -> None:
    assert mmr_select(np.ones(2, dtype=np.float32), np.zeros((0, 2), dtype=np.float32), 3) == []
