"""Every relative link and every file path named in README.md and docs/ exists.

Two kinds of reference are checked: markdown links to a relative target (``[text](path)``,
``#anchor`` ignored), and paths of this repository named in backticks outside code blocks
(``memory/interface.py``, ``api/cli/``): a word with a slash whose first part is a
top-level folder of the repository.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
TOP_FOLDERS = {p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".")}

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_CODE = re.compile(r"`([^`\n]+)`")
_PATH = re.compile(r"[\w.-]+(/[\w.-]+)*/?")


def _prose(text: str) -> str:
    """The text without fenced code blocks (commands and trees, not references)."""
    return _FENCE.sub("", text)


def links(text: str) -> list[str]:
    """Relative link targets, without their ``#anchor``."""
    found = []
    for target in _LINK.findall(_prose(text)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # http:, mailto:, an anchor on the same page
        found.append(target.split("#")[0])
    return found


def named_paths(text: str) -> list[str]:
    """Repository paths named in backticks, without ``::name`` or ``:line`` suffixes."""
    found = []
    for code in _CODE.findall(_prose(text)):
        word = re.sub(r"(::[\w.]+|:\d+(-\d+)?)$", "", code.strip())
        if "/" in word and _PATH.fullmatch(word) and word.split("/")[0] in TOP_FOLDERS:
            found.append(word)
    return found


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_relative_links_point_at_files_that_exist(doc: Path) -> None:
    missing = [t for t in links(doc.read_text("utf-8")) if not (doc.parent / t).exists()]
    assert missing == []


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_paths_named_in_backticks_exist(doc: Path) -> None:
    missing = [p for p in named_paths(doc.read_text("utf-8")) if not (ROOT / p).exists()]
    assert missing == []


def test_the_readers_find_links_and_paths_and_skip_the_rest() -> None:
    text = (
        "See [memory](docs/memory.md#learning), [site](https://x.org), [top](#top).\n"
        "`memory/interface.py` `tests/unit/memory/` `agent/numeric.py::close` `a/b`\n"
        "`text/event-stream` `reason memory stats`\n"
        "```bash\n.venv/bin/reason ask `memory/nowhere.py`\n```\n"
    )
    assert links(text) == ["docs/memory.md"]
    assert named_paths(text) == ["memory/interface.py", "tests/unit/memory/", "agent/numeric.py"]
