"""Turn a GGUF the project ships into a Hugging Face model folder that vLLM can load.

Runs in .venv-vllm (it needs ``gguf``, which the app's venv does not carry). transformers
reads the GGUF's weights (dequantized: the Q4 values become float tensors, so the folder holds
the *same* quantized model as the GGUF, stored wide), its config and its tokenizer with the
chat template, and ``save_pretrained`` writes config.json, safetensors and tokenizer files.
The folder is written beside its final place and renamed, so a half-written folder never looks
ready; ``.converted`` records where it came from.

Usage: .venv-vllm/bin/python scripts/vllm/gguf_to_hf.py MODEL.gguf OUT_DIR [--name NAME]
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path


def convert(gguf: Path, out: Path, name: str, dtype: str = "float32") -> Path:
    """Write ``out`` as a Hugging Face folder made from ``gguf``; return ``out``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.perf_counter()
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=getattr(torch, dtype)
    )
    # transformers marks a model read from a GGUF as "quantized" and refuses to save it, yet its
    # weights are already plain tensors (dequantized on load): drop the marker and save them.
    # torch types a Module's unknown attributes as Tensor | Module, hence the two ignores.
    model.hf_quantizer = None  # type: ignore[assignment]  # a plain attribute, not a Module
    model.is_quantized = False  # type: ignore[assignment]  # a plain attribute, not a Module
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(str(tmp), safe_serialization=True)
    tok.save_pretrained(str(tmp))
    (tmp / ".converted").write_text(
        json.dumps(
            {
                "name": name,
                "source": gguf.name,
                "source_bytes": gguf.stat().st_size,
                "dtype": dtype,
                "seconds": round(time.perf_counter() - started, 1),
            },
            indent=2,
        )
        + "\n"
    )
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def main() -> None:
    """Parse the command line and convert."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("gguf", type=Path, help="the GGUF file")
    ap.add_argument("out", type=Path, help="the Hugging Face folder to write")
    ap.add_argument("--name", default="", help="the model's name in the project's catalogue")
    ap.add_argument("--dtype", default="float32", help="torch dtype of the saved weights")
    args = ap.parse_args()
    out = convert(args.gguf.resolve(), args.out, args.name or args.gguf.stem, args.dtype)
    print(f"gguf_to_hf: wrote {out}")


if __name__ == "__main__":
    main()
