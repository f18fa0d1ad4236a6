"""In-process llama.cpp backend that decodes n sequences together in one batch.

How one ``generate(n=...)`` call runs:

1. The chat is rendered with the model's own chat template and tokenized.
2. The prompt is evaluated once, on sequence 0.
3. Sequence 0's KV cache is shared with sequences 1..n-1 (``llama_memory_seq_cp``; the
   context is created with a unified KV buffer, so this shares cells instead of copying).
4. Every step feeds one token per unfinished sequence in a single ``llama_decode`` call, and
   each sequence samples from its own output row with its own sampler chain and seed.
   A finished sequence frees its cells at once (``llama_memory_seq_rm``).

The context is not thread-safe, so calls are serialized by a lock: concurrent callers queue.
"""

from __future__ import annotations

import codecs
import ctypes
import dataclasses
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import llama_cpp
import llama_cpp._logger
import numpy as np
from llama_cpp._internals import LlamaContext, LlamaModel
from llama_cpp.llama_chat_format import Jinja2ChatFormatter
from llama_cpp.llama_types import ChatCompletionRequestMessage

from agent.backends import cancel
from agent.backends.base import (
    BackendBase,
    Completion,
    FinishReason,
    GenerateRequest,
    GenerationStats,
    Message,
    SamplingParams,
    TokenLogprob,
)
from agent.backends.config import BackendConfig
from agent.errors import BackendError, ModelError, RequestTooLarge

logger = logging.getLogger(__name__)


def _llama_message(m: Message) -> ChatCompletionRequestMessage:
    """Our message as llama_cpp's TypedDict for its role (the same two keys)."""
    if m["role"] == "system":
        return {"role": "system", "content": m["content"]}
    if m["role"] == "user":
        return {"role": "user", "content": m["content"]}
    return {"role": "assistant", "content": m["content"]}


@dataclass
class _Seq:
    """Decoding state of one sequence (one sampled path)."""

    index: int
    sampler: ctypes.c_void_p
    seed: int | None
    decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace")
    )
    tokens: list[int] = field(default_factory=list)
    text: str = ""
    logprobs: list[TokenLogprob] = field(default_factory=list)
    finish_reason: FinishReason | None = None


class LlamaCppBackend(BackendBase):
    """A GGUF model run in this process by llama.cpp."""

    def __init__(self, model_path: Path, config: BackendConfig, *, name: str = "") -> None:
        """Load the model and create a context with room for ``config.max_n`` sequences."""
        self.config = config
        self.model_name = name or model_path.stem
        self.last_stats = GenerationStats()
        self._lock = threading.Lock()
        llama_cpp.llama_backend_init()
        # llama.cpp logs every tensor at load; keep only its errors on stderr.
        llama_cpp._logger.set_verbose(False)
        try:
            self._model = LlamaModel(
                path_model=str(model_path),
                params=llama_cpp.llama_model_default_params(),
                verbose=False,
            )
        except ValueError as ex:
            raise ModelError(
                f"llama.cpp could not load {model_path} ({ex}); the file may be incomplete or "
                "damaged: delete it and pull it again (`reason models pull NAME`, or download "
                "it again)"
            ) from ex
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = config.n_ctx
        params.n_batch = config.n_batch
        params.n_ubatch = config.n_batch
        # One extra sequence keeps the last prompt's KV cells for reuse by the next call.
        params.n_seq_max = config.max_n + 1
        params.kv_unified = True  # all sequences share one KV buffer: the prompt is stored once
        params.n_threads = config.threads
        params.n_threads_batch = config.threads
        params.no_perf = False
        self._ctx = LlamaContext(model=self._model, params=params, verbose=False)
        self.n_ctx: int = llama_cpp.llama_n_ctx(self._ctx.ctx)
        self._mem = llama_cpp.llama_get_memory(self._ctx.ctx)
        self._batch = llama_cpp.llama_batch_init(max(config.n_batch, config.max_n), 0, 1)
        self._n_vocab = self._model.n_vocab()
        self._formatter = self._chat_formatter()
        self._cache_seq = config.max_n
        self._cached_prompt: list[int] = []
        self._piece_buf = ctypes.create_string_buffer(256)

    # -- prompt ---------------------------------------------------------------------------

    def _chat_formatter(self) -> Jinja2ChatFormatter:
        meta = self._model.metadata()
        template = meta.get("tokenizer.chat_template")
        if not template:
            raise ModelError(f"{self.model_name} carries no chat template in its GGUF metadata")

        def text_of(token: int) -> str:
            return self._model.token_get_text(token) if token >= 0 else ""

        eos, bos = self._model.token_eos(), self._model.token_bos()
        return Jinja2ChatFormatter(
            template=template, eos_token=text_of(eos), bos_token=text_of(bos)
        )

    def tokenize_chat(self, messages: Sequence[Message]) -> list[int]:
        """The prompt tokens for ``messages``, ending where the assistant's reply starts."""
        rendered = self._formatter(messages=[_llama_message(m) for m in messages])
        tokens: list[int] = self._model.tokenize(
            rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True
        )
        return tokens

    def _piece(self, token: int) -> bytes:
        n = llama_cpp.llama_token_to_piece(
            self._model.vocab, token, self._piece_buf, len(self._piece_buf), 0, False
        )
        return self._piece_buf.raw[: max(n, 0)]

    # -- sampling -------------------------------------------------------------------------

    def _make_sampler(self, params: SamplingParams, seed: int | None) -> ctypes.c_void_p:
        chain: ctypes.c_void_p = llama_cpp.llama_sampler_chain_init(
            llama_cpp.llama_sampler_chain_default_params()
        )
        temperature, top_p = params.temperature, params.top_p
        if temperature <= 0:
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_greedy())
            return chain
        if top_p < 1.0:
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_top_p(top_p, 1))
        llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_temp(temperature))
        dist_seed = llama_cpp.LLAMA_DEFAULT_SEED if seed is None else seed & 0xFFFFFFFF
        llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_dist(dist_seed))
        return chain

    def _token_logprob(self, row: int, token: int, k: int) -> TokenLogprob:
        """Log-probabilities under the model's own distribution (before temperature)."""
        ptr = llama_cpp.llama_get_logits_ith(self._ctx.ctx, row)
        logits = np.ctypeslib.as_array(ptr, shape=(self._n_vocab,)).astype(np.float64)
        shifted = logits - logits.max()
        logp = shifted - np.log(np.exp(shifted).sum())
        top_ids = np.argpartition(-logp, k)[:k]
        top_ids = top_ids[np.argsort(-logp[top_ids])]

        def text(t: int) -> str:
            return self._piece(int(t)).decode("utf-8", errors="replace")

        return TokenLogprob(
            token=text(token),
            logprob=float(logp[token]),
            top=tuple((text(int(t)), float(logp[t])) for t in top_ids),
        )

    def _decode_step(self, feed: list[tuple[int, int, int]]) -> None:
        """Run one llama_decode over (token, position, sequence id) triples, logits on all."""
        b = self._batch
        b.n_tokens = len(feed)
        for j, (token, pos, seq_id) in enumerate(feed):
            b.token[j] = token
            b.pos[j] = pos
            b.n_seq_id[j] = 1
            b.seq_id[j][0] = seq_id
            b.logits[j] = True
        if llama_cpp.llama_decode(self._ctx.ctx, b) != 0:
            raise BackendError("llama_decode failed (KV cache full?)")

    def _eval_prompt(self, prompt: list[int]) -> tuple[int, int]:
        """Put the prompt on sequence 0; return (batch row of its last logits, tokens reused).

        The KV cells of the previous call's prompt stay on a reserved sequence, so a call
        whose prompt starts the same way (adaptive rounds, the same question again, a shared
        system prompt) evaluates only the new tail.
        """
        cache = self._cache_seq
        reused = 0
        for old, new in zip(self._cached_prompt, prompt, strict=False):
            if old != new:
                break
            reused += 1
        reused = min(reused, len(prompt) - 1)  # the last token is re-run for its logits
        for i in range(cache):
            llama_cpp.llama_memory_seq_rm(self._mem, i, -1, -1)
        llama_cpp.llama_memory_seq_rm(self._mem, cache, reused, -1)
        if reused:
            llama_cpp.llama_memory_seq_cp(self._mem, cache, 0, 0, reused)
        self._cached_prompt = prompt[:reused]
        step = self.config.n_batch
        b = self._batch
        for start in range(reused, len(prompt), step):
            chunk = prompt[start : start + step]
            b.n_tokens = len(chunk)
            for j, token in enumerate(chunk):
                b.token[j] = token
                b.pos[j] = start + j
                b.n_seq_id[j] = 1
                b.seq_id[j][0] = 0
                b.logits[j] = start + j == len(prompt) - 1
            if llama_cpp.llama_decode(self._ctx.ctx, b) != 0:
                raise BackendError("llama_decode failed while evaluating the prompt")
        llama_cpp.llama_memory_seq_cp(self._mem, 0, cache, reused, -1)
        self._cached_prompt = list(prompt)
        return (len(prompt) - 1 - reused) % step, reused

    def _check_limits(self, prompt_len: int, n: int, max_tokens: int) -> int:
        if n < 1 or n > self.config.max_n:
            raise RequestTooLarge(f"n={n} is outside 1..{self.config.max_n} (REASON_MAX_N)")
        if prompt_len + 1 >= self.n_ctx:
            raise RequestTooLarge(
                f"prompt has {prompt_len} tokens but the context holds {self.n_ctx} "
                "(REASON_N_CTX); shorten the question"
            )
        # Every sequence may grow to max_tokens in the shared KV buffer.
        room = (self.n_ctx - prompt_len) // n
        if room < max_tokens:
            logger.warning(
                "max_tokens %d clamped to %d to fit n=%d in the context", max_tokens, room, n
            )
        return min(max_tokens, room)

    def _accept(self, s: _Seq, token: int, row: int, params: SamplingParams) -> str:
        """Append a sampled token to a sequence; return the new visible text."""
        if llama_cpp.llama_vocab_is_eog(self._model.vocab, token):
            s.finish_reason = "stop"
            return ""
        if params.logprobs:
            s.logprobs.append(self._token_logprob(row, token, params.logprobs))
        s.tokens.append(token)
        before = len(s.text)
        s.text += s.decoder.decode(self._piece(token))
        # A stop string may straddle tokens: search the tail that could contain it.
        hits = [k for k in (s.text.find(x, max(0, before - len(x))) for x in params.stop) if k >= 0]
        if hits:
            s.text = s.text[: min(hits)]
            s.finish_reason = "stop"
        elif len(s.tokens) >= params.max_tokens:
            s.finish_reason = "length"
        return s.text[before:]

    def _decode(self, req: GenerateRequest, seqs: list[_Seq]) -> Iterator[tuple[int, str]]:
        """Decode ``req.n`` sequences together into ``seqs``; yield (index, text delta)."""
        prompt = self.tokenize_chat(req.messages)
        prefixes = [
            self._model.tokenize(p.encode("utf-8"), add_bos=False, special=False) if p else []
            for p in (req.prefixes or [""] * req.n)
        ]
        longest = max(len(p) for p in prefixes)
        if longest and not all(prefixes):
            raise RequestTooLarge("every prefix must be non-empty when prefixes are given")
        max_tokens = self._check_limits(len(prompt) + longest, req.n, req.params.max_tokens)
        params = dataclasses.replace(req.params, max_tokens=max_tokens)
        llama_cpp.llama_perf_context_reset(self._ctx.ctx)
        t0 = time.perf_counter()
        row, reused = self._eval_prompt(prompt)
        t_prompt = time.perf_counter() - t0
        for i in range(1, req.n):
            llama_cpp.llama_memory_seq_cp(self._mem, 0, i, -1, -1)
        seqs[:] = [
            _Seq(i, self._make_sampler(params, params.seed_of(i)), params.seed_of(i))
            for i in range(req.n)
        ]
        fed = 0
        try:
            pending = [(s, row) for s in seqs]
            pos = [len(prompt)] * req.n
            if longest:
                # Forced reply prefixes (CoT-decoding branches): one batch for all of them.
                feed: list[tuple[int, int, int]] = []
                pending = []
                for s, toks in zip(seqs, prefixes, strict=True):
                    s.text = s.decoder.decode(b"".join(self._piece(t) for t in toks))
                    for t in toks:
                        feed.append((t, pos[s.index], s.index))
                        pos[s.index] += 1
                    pending.append((s, len(feed) - 1))
                self._decode_step(feed)
                fed += len(feed)
            while pending:
                cancel.check()  # a cancelled run stops here, between tokens
                for s, r in pending:
                    token = llama_cpp.llama_sampler_sample(s.sampler, self._ctx.ctx, r)
                    delta = self._accept(s, token, r, params)
                    if delta:
                        yield s.index, delta
                    if s.finish_reason is not None:
                        llama_cpp.llama_memory_seq_rm(self._mem, s.index, -1, -1)
                active = [s for s in seqs if s.finish_reason is None]
                if not active:
                    break
                self._decode_step([(s.tokens[-1], pos[s.index], s.index) for s in active])
                for s in active:
                    pos[s.index] += 1
                fed += len(active)
                pending = [(s, j) for j, s in enumerate(active)]
        finally:
            for s in seqs:
                llama_cpp.llama_sampler_free(s.sampler)
            perf = llama_cpp.llama_perf_context(self._ctx.ctx)
            self.last_stats = GenerationStats(
                prompt_tokens_evaluated=len(prompt) - reused,
                completion_tokens=sum(len(s.tokens) for s in seqs),
                prompt_seconds=t_prompt,
                generate_seconds=time.perf_counter() - t0 - t_prompt,
                extra={
                    "n": float(req.n),
                    "prompt_tokens_reused": float(reused),
                    "tokens_fed_after_prompt": float(fed),
                    # llama.cpp's own count of tokens it ran through the model
                    "llama_tokens_decoded": float(perf.n_p_eval + perf.n_eval),
                },
            )

    def _generate(self, req: GenerateRequest) -> list[Completion]:
        """Return ``req.n`` completions decoded together; see ``Backend.generate``."""
        if req.prefixes is not None and len(req.prefixes) != req.n:
            raise RequestTooLarge(f"{len(req.prefixes)} prefixes given for n={req.n}")
        with self._lock:
            seqs: list[_Seq] = []
            for _ in self._decode(req, seqs):
                pass  # generate() wants whole texts; stream() consumes the deltas
            prompt_tokens = self.last_stats.prompt_tokens_evaluated + int(
                self.last_stats.extra["prompt_tokens_reused"]
            )
        return [
            Completion(
                text=s.text,
                finish_reason=s.finish_reason or "length",
                prompt_tokens=prompt_tokens,
                completion_tokens=len(s.tokens),
                seed=s.seed,
                logprobs=tuple(s.logprobs) if req.params.logprobs else None,
                model=self.model_name,
            )
            for s in seqs
        ]

    def _stream(self, messages: Sequence[Message], params: SamplingParams) -> Iterator[str]:
        """Yield the text of one completion as it is decoded."""
        req = GenerateRequest(messages, 1, params)
        with self._lock:
            for _, delta in self._decode(req, []):
                yield delta

    def health(self) -> bool:
        """The model is in this process: loaded means healthy."""
        return True

    def close(self) -> None:
        """Free the batch, the context and the model."""
        if self._batch is not None:
            llama_cpp.llama_batch_free(self._batch)
            self._batch = None
        self._ctx.close()
        self._model.close()
