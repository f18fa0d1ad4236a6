"""CoT-decoding (``cot-decoding@8``): branch on the top-k first tokens, continue each
greedily, all k in one batch."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from agent.paths import from_completion
from agent.prompts import STOP_SEQUENCES

if TYPE_CHECKING:
    from agent.sampling import Sampler


def sample(sampler: Sampler) -> None:
    """One greedy token with the top-``n`` alternatives, then each alternative continued
    greedily in one batched call (no seeds: every draw is greedy)."""
    cfg = sampler.config
    backend = sampler.backend
    draws = sampler.draws
    k = cfg.n
    t0 = time.perf_counter()
    (first,) = backend.generate(sampler.messages, n=1, temperature=0.0, max_tokens=1, logprobs=k)
    draws.record([first], time.perf_counter() - t0)
    top = first.logprobs[0].top if first.logprobs else ()
    prefixes = [tok for tok, _ in top if tok.strip() or tok][:k] or [first.text]
    draws.log["branches"] = prefixes
    t0 = time.perf_counter()
    comps = backend.generate(
        sampler.messages,
        n=len(prefixes),
        temperature=0.0,
        max_tokens=cfg.max_tokens,
        stop=STOP_SEQUENCES,
        logprobs=2,
        prefixes=prefixes,
    )
    draws.record(comps, time.perf_counter() - t0)
    draws.paths.extend(
        from_completion(c, i, sampler.extractor, model=backend.model_name)
        for i, c in enumerate(comps)
    )
    sampler.progress(draws)
