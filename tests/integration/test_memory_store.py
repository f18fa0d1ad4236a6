"""Memory store with the real sentence-transformers embedder, and crash safety."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from memory import MemoryConfig, MemoryStore, open_store
from retrieval import HashingEmbedder, RetrievalConfig, SentenceTransformerEmbedder
from tests.support.memory_records import verified

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

PROBLEMS = [
    ("A car travels at 60 km per hour for 3 hours. How far does it travel?", "180"),
    ("Maria buys 4 notebooks that cost 3 dollars each. How much does she pay?", "12"),
    ("A rectangle is 8 m long and 5 m wide. What is its area?", "40"),
    ("What is 25 percent of 80?", "20"),
    ("Tom is 14 years old. His brother is 5 years younger. How old is his brother?", "9"),
    ("A box has 3 red balls and 7 blue balls. What is the probability of drawing red?", "0.3"),
    ("How many minutes are there in 4 hours?", "240"),
    (
        "Two workers paint a fence; one needs 6 hours alone, the other 3. How long together?",
        "2",
    ),
]
PARAPHRASES = [
    "If a vehicle drives 3 hours at a speed of 60 km/h, what distance does it cover?",
    "Each notebook costs $3 and Maria purchases 4 of them. What is the total cost?",
    "Find the area of a rectangle whose length is 8 metres and width is 5 metres.",
    "Compute 25% of 80.",
    "Tom's brother is 5 years younger than Tom, who is 14. What is the brother's age?",
    "From a box with 3 red and 7 blue balls, what's the chance a random ball is red?",
    "Four hours equal how many minutes?",
    "Working alone, one painter needs 6 hours and another 3 hours. Together, how long?",
]


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MemoryStore]:
    data = tmp_path_factory.mktemp("memory")
    store = open_store(data, MemoryConfig(), RetrievalConfig(min_score=0.0))
    assert isinstance(store.embedder, SentenceTransformerEmbedder)
    for question, answer in PROBLEMS:
        store.add_problem(verified(question, answer))
    yield store
    store.close()


@pytest.mark.parametrize("number", range(len(PROBLEMS)), ids=[a for _, a in PROBLEMS])
def test_paraphrased_question_retrieves_its_original_in_top_3(
    real_store: MemoryStore, number: int
) -> None:
    hits = real_store.search_problems(PARAPHRASES[number], k=3)
    assert PROBLEMS[number][0] in [h.record.question for h in hits]


def test_real_embedder_vectors_are_384_d_and_normalised(real_store: MemoryStore) -> None:
    vector = real_store.embedder.embed(["How many minutes are there in 4 hours?"])[0]
    assert vector.shape == (384,)
    assert abs(float(vector @ vector) - 1.0) < 1e-4


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    from memory import Evidence, MemoryConfig, decide, open_store
    from retrieval import HashingEmbedder, RetrievalConfig

    config = MemoryConfig(index_save_every=5)
    store = open_store(Path(sys.argv[1]), config, RetrievalConfig(embedding_model="hashing-64"),
                       embedder=HashingEmbedder(64))
    i = 0
    while True:
        question = f"Question {i}: what is {i} plus {i} plus the number {i * 7}?"
        evidence = Evidence(question=question, answer=str(9 * i), path="sum",
                            vote_share=1.0, agreeing_paths=5)
        result = store.add_problem(decide(evidence, config.writeback))
        print(result.id, question, flush=True)
        i += 1
    """
)


def test_writer_killed_mid_stream_leaves_a_consistent_searchable_store(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    data = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(data)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    committed: dict[int, str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        row_id, question = line.rstrip("\n").split(" ", 1)
        committed[int(row_id)] = question
        if len(committed) >= 83:  # not a multiple of index_save_every: index files are stale
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL

    db = sqlite3.connect(data / "memory.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = dict(db.execute("SELECT id, question FROM problems").fetchall())
    db.close()
    assert {k: rows[k] for k in committed} == committed

    config = RetrievalConfig(embedding_model="hashing-64", min_score=0.0)
    with open_store(data, MemoryConfig(), config, embedder=HashingEmbedder(64)) as store:
        assert store.count() == len(rows)
        assert store.problems_index.index.ntotal == len(rows)
        for row_id, question in committed.items():
            assert store.search_problems(question, k=1)[0].record.id == row_id
