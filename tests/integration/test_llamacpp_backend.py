"""The in-process llama.cpp backend on the real tiny model."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from agent.backends import build_backend, cancel
from agent.backends.config import BackendConfig
from agent.backends.llamacpp import LlamaCppBackend
from agent.errors import ModelError, RequestTooLarge
from tests.integration.backend_contract import CHAT, BackendContract

pytestmark = pytest.mark.integration


def test_n_paths_come_from_one_batch_with_prompt_evaluated_once(
    llamacpp_backend: LlamaCppBackend,
) -> None:
    fresh = [{"role": "user", "content": "Describe a dog named Rex in a few words."}]
    prompt_len = len(llamacpp_backend.tokenize_chat(fresh))
    comps = llamacpp_backend.generate(fresh, n=4, temperature=1.0, max_tokens=24, seed=7)
    stats = llamacpp_backend.last_stats
    assert len(comps) == 4
    assert len({c.text for c in comps}) >= 3, [c.text for c in comps]
    assert all(c.prompt_tokens == prompt_len for c in comps)
    # The prompt is evaluated once (minus any prefix still cached from an earlier call, such
    # as the chat template's system preamble), never once per sequence.
    evaluated = stats.prompt_tokens_evaluated
    assert evaluated + stats.extra["prompt_tokens_reused"] == prompt_len
    assert evaluated > prompt_len // 2
    # llama.cpp's own counter: that evaluation plus one token per sequence per step (its
    # counter sometimes adds one single-token eval, hence the +1). Evaluating the prompt
    # per sequence would add 3 * evaluated more.
    fed = stats.extra["tokens_fed_after_prompt"]
    assert evaluated + fed <= stats.extra["llama_tokens_decoded"] <= evaluated + fed + 1
    assert fed <= sum(c.completion_tokens for c in comps)


def test_same_seed_reproduces_and_other_seed_differs(llamacpp_backend: LlamaCppBackend) -> None:
    a = llamacpp_backend.generate(CHAT, n=2, temperature=1.0, max_tokens=20, seed=11)
    b = llamacpp_backend.generate(CHAT, n=2, temperature=1.0, max_tokens=20, seed=11)
    c = llamacpp_backend.generate(CHAT, n=2, temperature=1.0, max_tokens=20, seed=99)
    assert [x.text for x in a] == [x.text for x in b]
    assert [x.seed for x in a] == [11, 12]
    assert [x.text for x in a] != [x.text for x in c]


def test_sequence_in_a_batch_matches_the_same_seed_alone(
    llamacpp_backend: LlamaCppBackend,
) -> None:
    together = llamacpp_backend.generate(CHAT, n=3, temperature=0.9, max_tokens=16, seed=5)
    alone = llamacpp_backend.generate(CHAT, n=1, temperature=0.9, max_tokens=16, seed=6)
    assert together[1].text == alone[0].text


class _Stop(Exception):
    pass


def test_a_cancelled_run_stops_between_tokens_and_leaves_the_model_clean(
    llamacpp_backend: LlamaCppBackend,
) -> None:
    before = llamacpp_backend.generate(CHAT, n=2, temperature=0.9, max_tokens=24, seed=3)
    steps = 0

    def stop_after_five() -> None:
        nonlocal steps
        steps += 1
        if steps > 5:
            raise _Stop

    with cancel.checking(stop_after_five), pytest.raises(_Stop):
        llamacpp_backend.generate(CHAT, n=2, temperature=0.9, max_tokens=200, seed=3)
    assert steps == 6  # checked once per decode step, stopped at the sixth
    assert llamacpp_backend.last_stats.completion_tokens <= 2 * 5
    # The next call decodes as if the cancelled one never happened.
    after = llamacpp_backend.generate(CHAT, n=2, temperature=0.9, max_tokens=24, seed=3)
    assert [c.text for c in after] == [c.text for c in before]


class TestLlamaCppContract(BackendContract):
    """The backend contract, in this process."""

    @pytest.fixture
    def backend(self, llamacpp_backend: LlamaCppBackend) -> LlamaCppBackend:
        return llamacpp_backend


def test_logprobs_carry_sorted_top_alternatives(llamacpp_backend: LlamaCppBackend) -> None:
    (c,) = llamacpp_backend.generate(CHAT, n=1, temperature=0.0, max_tokens=6, logprobs=3)
    assert c.logprobs is not None and len(c.logprobs) == c.completion_tokens
    for lp in c.logprobs:
        assert len(lp.top) == 3
        values = [v for _, v in lp.top]
        assert values == sorted(values, reverse=True)
        # greedy: the chosen token is the most likely one
        assert lp.logprob == pytest.approx(values[0])


def test_prompt_longer_than_context_fails_before_decoding(
    llamacpp_backend: LlamaCppBackend,
) -> None:
    huge = [{"role": "user", "content": "word " * 5000}]
    with pytest.raises(RequestTooLarge, match="context"):
        llamacpp_backend.generate(huge, n=1, max_tokens=4)


def test_concurrent_callers_are_queued_not_corrupted(llamacpp_backend: LlamaCppBackend) -> None:
    (expected,) = llamacpp_backend.generate(CHAT, n=1, temperature=0.0, max_tokens=16)
    results: list[str] = []

    def call() -> None:
        (c,) = llamacpp_backend.generate(CHAT, n=1, temperature=0.0, max_tokens=16)
        results.append(c.text)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected.text] * 3


def test_prefixes_force_the_start_of_each_reply(llamacpp_backend: LlamaCppBackend) -> None:
    comps = llamacpp_backend.generate(
        CHAT, n=2, temperature=0.0, max_tokens=8, prefixes=["Once", "The"]
    )
    assert comps[0].text.startswith("Once")
    assert comps[1].text.startswith("The")
    assert comps[0].text != comps[1].text


def test_repeated_prompt_reuses_its_kv_cache(llamacpp_backend: LlamaCppBackend) -> None:
    chat = [{"role": "user", "content": "Name three colours of the rainbow."}]
    prompt_len = len(llamacpp_backend.tokenize_chat(chat))
    first = llamacpp_backend.generate(chat, n=2, temperature=0.8, max_tokens=12, seed=1)
    second = llamacpp_backend.generate(chat, n=2, temperature=0.8, max_tokens=12, seed=1)
    stats = llamacpp_backend.last_stats
    assert stats.extra["prompt_tokens_reused"] == prompt_len - 1
    assert stats.prompt_tokens_evaluated == 1
    assert [c.prompt_tokens for c in second] == [prompt_len, prompt_len]
    # reusing the cached prompt changes nothing in what is sampled
    assert [c.text for c in first] == [c.text for c in second]


def test_a_half_written_model_file_fails_naming_the_fix(
    small_model_path: Path, small_backend_config: BackendConfig, tmp_path: Path
) -> None:
    half = tmp_path / "half.gguf"
    with small_model_path.open("rb") as f:
        half.write_bytes(f.read(small_model_path.stat().st_size // 2))  # GGUF magic, no tensors
    with pytest.raises(ModelError, match="pull it again"):
        build_backend(small_backend_config.model_copy(update={"model": str(half)}))
