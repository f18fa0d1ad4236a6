"""Universal self-consistency for free-form answers.

Chen et al. (2023), "Universal Self-Consistency for Large Language Model Generation": when
answers cannot be bucketed by exact equality (summaries, explanations, code), pick the
response most consistent with the others. Two variants:

- ``cluster``: cluster the responses with an injected similarity (embedding cosine in
  production, ``lexical_similarity`` by default), take the biggest cluster and answer with its
  medoid, the member most similar to the rest. Clusters are the connected components of the
  graph "similarity >= cfg.usc_threshold"; ties go to the cluster drawn first.
- ``choose``: hand the responses to an injected ``choose(responses) -> index`` callable, which
  in the paper is the model itself asked "which response is the most consistent?".

The text compared is the path's extracted answer when it has one, else its whole text.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence

from agent.paths import ReasoningPath, Verdict
from agent.strategies.config import VoteConfig

__all__ = [
    "Chooser",
    "SimilarityMatrix",
    "aggregate",
    "choose",
    "cluster",
    "lexical_similarity",
    "make_aggregate",
]

NAME = "usc"

SimilarityMatrix = Callable[[Sequence[str]], Sequence[Sequence[float]]]
"""Pairwise similarities of n texts as an n x n matrix (1.0 on the diagonal)."""

Chooser = Callable[[Sequence[str]], int]
"""Picks the index of the most consistent response (e.g. by asking the model)."""


def lexical_similarity(texts: Sequence[str]) -> list[list[float]]:
    """Cosine similarity of bag-of-words counts: a model-free default for ``cluster``.

    Args:
        texts: The responses.

    Returns:
        The n x n similarity matrix.
    """
    bags = [Counter(re.findall(r"\w+", t.lower())) for t in texts]
    norms = [math.sqrt(sum(c * c for c in bag.values())) for bag in bags]
    matrix = [[0.0] * len(texts) for _ in texts]
    for i, bi in enumerate(bags):
        for j in range(i, len(bags)):
            if i == j:
                sim = 1.0
            elif norms[i] and norms[j]:
                sim = sum(c * bags[j][w] for w, c in bi.items()) / (norms[i] * norms[j])
            else:
                sim = 0.0
            matrix[i][j] = matrix[j][i] = sim
    return matrix


def _response(path: ReasoningPath) -> str:
    return path.raw_answer if path.raw_answer is not None else path.text.strip()


def _components(sim: Sequence[Sequence[float]], threshold: float) -> list[list[int]]:
    """Connected components of the threshold graph, each sorted, ordered by first member."""
    n = len(sim)
    seen: set[int] = set()
    groups: list[list[int]] = []
    for start in range(n):
        if start in seen:
            continue
        stack, group = [start], []
        seen.add(start)
        while stack:
            i = stack.pop()
            group.append(i)
            for j in range(n):
                if j not in seen and sim[i][j] >= threshold:
                    seen.add(j)
                    stack.append(j)
        groups.append(sorted(group))
    return groups


def _verdict(
    paths: Sequence[ReasoningPath],
    picked: int,
    groups: list[list[int]],
    variant: str,
) -> Verdict:
    path = paths[picked]
    answer = path.answer if path.answer is not None else path.text.strip()
    winner = next(g for g in groups if picked in g)
    votes: dict[str, float] = {}
    for g in groups:
        rep = paths[g[0]] if g is not winner else path
        label = rep.answer if rep.answer is not None else _response(rep)
        votes[label] = votes.get(label, 0.0) + len(g)
    return Verdict(
        answer=answer,
        share=len(winner) / len(paths),
        votes=votes,
        agreeing=tuple(paths[i].index for i in winner),
        n_paths=len(paths),
        abstentions=sum(1 for p in paths if p.answer is None),
        strategy=NAME,
        chosen=path.index,
        details={"variant": variant, "clusters": [[paths[i].index for i in g] for g in groups]},
    )


def _empty() -> Verdict:
    return Verdict(None, 0.0, {}, (), 0, 0, NAME)


def cluster(
    paths: Sequence[ReasoningPath],
    cfg: VoteConfig,
    similarity: SimilarityMatrix = lexical_similarity,
) -> Verdict:
    """Answer with the medoid of the biggest cluster of similar responses.

    Args:
        paths: Paths in draw order.
        cfg: Vote configuration; ``usc_threshold`` is the clustering threshold.
        similarity: Pairwise similarity of the responses.

    Returns:
        The verdict; ``chosen`` is the medoid path, ``details["clusters"]`` the clusters as
        path indices.
    """
    if not paths:
        return _empty()
    sim = similarity([_response(p) for p in paths])
    groups = _components(sim, cfg.usc_threshold)
    biggest = max(groups, key=len)  # max keeps the first of equal sizes
    medoid = max(biggest, key=lambda i: (sum(sim[i][j] for j in biggest), -i))
    return _verdict(paths, medoid, groups, "cluster")


def choose(paths: Sequence[ReasoningPath], cfg: VoteConfig, chooser: Chooser) -> Verdict:
    """Answer with the response an injected chooser (the model) deems most consistent.

    Args:
        paths: Paths in draw order.
        cfg: Vote configuration (unused; common signature).
        chooser: Returns the index, into the list it is given, of the chosen response.

    Returns:
        The verdict for the chosen path.

    Raises:
        ValueError: When the chooser returns an index outside the responses.
    """
    del cfg
    if not paths:
        return _empty()
    picked = chooser([_response(p) for p in paths])
    if not 0 <= picked < len(paths):
        raise ValueError(f"chooser picked {picked}, outside 0..{len(paths) - 1}")
    return _verdict(
        paths, picked, [[picked], *[[i] for i in range(len(paths)) if i != picked]], "choose"
    )


def make_aggregate(
    similarity: SimilarityMatrix,
) -> Callable[[Sequence[ReasoningPath], VoteConfig], Verdict]:
    """Bind a similarity (e.g. an embedder's cosine) into a registry-shaped strategy.

    Args:
        similarity: Pairwise similarity of responses.

    Returns:
        ``aggregate(paths, cfg)`` using that similarity.
    """

    def aggregate_with(paths: Sequence[ReasoningPath], cfg: VoteConfig) -> Verdict:
        return cluster(paths, cfg, similarity)

    return aggregate_with


def aggregate(paths: Sequence[ReasoningPath], cfg: VoteConfig) -> Verdict:
    """Registry entry: ``cluster`` with the model-free lexical similarity.

    Args:
        paths: Paths in draw order.
        cfg: Vote configuration.

    Returns:
        The verdict.
    """
    return cluster(paths, cfg, lexical_similarity)
