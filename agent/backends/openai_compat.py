"""Backend for any OpenAI-compatible server: vLLM in production, llama.cpp's server here.

It asks for ``n`` choices in one request (vLLM samples them in parallel on the GPU). Servers
that return fewer choices than asked (llama_cpp.server returns one) are topped up with more
requests, each with its own seed, so callers always get ``n`` completions. Transient errors
are retried with exponential backoff; a server that stays down or slow raises
``BackendUnavailable`` / ``BackendTimeout``, which the API maps to 503.
"""

from __future__ import annotations

import contextvars
import dataclasses
import logging
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import openai
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from agent import telemetry
from agent.backends.base import (
    BackendBase,
    Completion,
    GenerateRequest,
    GenerationStats,
    Message,
    SamplingParams,
    TokenLogprob,
)
from agent.backends.config import BackendConfig
from agent.errors import (
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    ConfigError,
    RequestTooLarge,
)

logger = logging.getLogger(__name__)

_TRANSIENT = (
    openai.APIConnectionError,  # includes APITimeoutError
    openai.RateLimitError,
    openai.InternalServerError,
)


# Requests in flight at once for distinct prefixes (CoT-decoding asks for k <= 20 branches).
_MAX_CONCURRENT = 8
# The OpenAI API caps top_logprobs at 20 (and vLLM's --max-logprobs defaults to it).
_MAX_TOP_LOGPROBS = 20


def _parse_logprobs(choice: Any, k: int) -> tuple[TokenLogprob, ...] | None:
    """Per-token logprobs with the ``k`` best alternatives, best first (``TokenLogprob.top``).

    vLLM lists the *sampled* token first and then the top alternatives, and when the sampled
    token is not among the top-k it takes the k-th place; the request therefore asks for k+1
    (``_request_top``) and the list is sorted and cut here, which gives the true top-k from
    vLLM and from servers that already sort (llama.cpp's).
    """
    content = getattr(getattr(choice, "logprobs", None), "content", None)
    if not content:
        return None
    return tuple(
        TokenLogprob(
            token=item.token,
            logprob=float(item.logprob),
            top=tuple(
                sorted(
                    ((t.token, float(t.logprob)) for t in (item.top_logprobs or ())),
                    key=lambda pair: -pair[1],
                )[:k]
            ),
        )
        for item in content
    )


def _request_top(k: int) -> int:
    return min(k + 1, _MAX_TOP_LOGPROBS)


def _request(
    messages: Sequence[Message] | list[dict[str, str]], params: SamplingParams
) -> dict[str, Any]:
    """The chat-completion arguments every request sends (stop and seed only when set)."""
    kwargs: dict[str, Any] = {
        "messages": list(messages),
        "temperature": params.temperature,
        "top_p": params.top_p,
        "max_tokens": params.max_tokens,
    }
    if params.stop:
        kwargs["stop"] = list(params.stop)
    if params.seed is not None:
        kwargs["seed"] = params.seed
    return kwargs


class OpenAICompatBackend(BackendBase):
    """Completions from an OpenAI-compatible HTTP server."""

    def __init__(self, config: BackendConfig) -> None:
        """Connect lazily to ``config.url`` (no request is made here)."""
        if not config.url:
            raise ConfigError("REASON_BACKEND_URL is required for the openai backend")
        self.config = config
        self.model_name = config.model
        self.last_stats = GenerationStats()
        # Retries are ours (tenacity), so the client itself must not retry as well.
        self._client = openai.OpenAI(
            base_url=config.url,
            api_key=config.api_key or "none",
            timeout=config.timeout_s,
            max_retries=0,
        )

    def _call(self, **kwargs: Any) -> Any:
        retrying = Retrying(
            retry=retry_if_exception_type(_TRANSIENT),
            stop=stop_after_attempt(self.config.retries + 1),
            wait=wait_exponential(multiplier=0.5, max=8),
            reraise=False,
        )
        try:
            for attempt in retrying:
                with attempt:
                    # traceparent of the current span: a vLLM server's spans join the trace.
                    headers = telemetry.trace_headers()
                    if headers:
                        kwargs["extra_headers"] = headers
                    return self._client.chat.completions.create(model=self.model_name, **kwargs)
        except RetryError as ex:
            last = ex.last_attempt.exception()
            self._raise_typed(last)
        except openai.APIError as ex:
            self._raise_typed(ex)
        raise AssertionError("unreachable")

    def _raise_typed(self, ex: BaseException | None) -> None:
        where = self.config.url
        if isinstance(ex, openai.APITimeoutError):
            raise BackendTimeout(f"model server at {where} timed out") from ex
        if isinstance(ex, openai.APIConnectionError):
            raise BackendUnavailable(f"model server at {where} is unreachable") from ex
        if isinstance(ex, openai.BadRequestError) and "context" in str(ex).lower():
            raise RequestTooLarge(f"prompt too long for the model server: {ex}") from ex
        if isinstance(ex, openai.InternalServerError | openai.RateLimitError):
            raise BackendUnavailable(f"model server at {where} failed: {ex}") from ex
        raise BackendError(f"model server at {where} refused the request: {ex}") from ex

    def _generate(self, req: GenerateRequest) -> list[Completion]:
        """Return ``req.n`` completions; see ``Backend.generate``."""
        n = req.n
        if n < 1 or n > self.config.max_n:
            raise RequestTooLarge(f"n={n} is outside 1..{self.config.max_n} (REASON_MAX_N)")
        if req.prefixes is not None:
            return self._generate_prefixed(req.messages, req.params, req.prefixes)
        started = time.perf_counter()
        out, prompt_tokens = self._generate_once(req.messages, req.params, n)
        self.last_stats = GenerationStats(
            prompt_tokens_evaluated=prompt_tokens,
            completion_tokens=sum(c.completion_tokens for c in out),
            generate_seconds=time.perf_counter() - started,
        )
        return out

    def _generate_once(
        self,
        messages: Sequence[Message] | list[dict[str, str]],
        params: SamplingParams,
        n: int,
        extra_body: dict[str, Any] | None = None,
    ) -> tuple[list[Completion], int]:
        """Ask for n choices, topping up with more requests until n have come back.

        Returns the completions and the prompt tokens the server reported over all requests.
        """
        out: list[Completion] = []
        sent = 0
        while len(out) < n:
            want = n - len(out)
            call_seed = params.seed_of(len(out))
            kwargs = _request(messages, dataclasses.replace(params, seed=call_seed))
            kwargs["n"] = want
            if params.logprobs:
                kwargs["logprobs"] = True
                kwargs["top_logprobs"] = _request_top(params.logprobs)
            if extra_body:
                kwargs["extra_body"] = extra_body
            resp = self._call(**kwargs)
            usage = resp.usage
            prompt_tokens = usage.prompt_tokens if usage else 0
            sent += prompt_tokens
            # Per-choice token counts are not in the OpenAI response, only usage over all
            # choices; a choice's logprobs, when asked for, list exactly its own tokens.
            per_choice = usage.completion_tokens // max(1, len(resp.choices)) if usage else 0
            for k, choice in enumerate(resp.choices[:want]):
                lps = _parse_logprobs(choice, params.logprobs) if params.logprobs else None
                out.append(
                    Completion(
                        text=choice.message.content or "",
                        finish_reason="length" if choice.finish_reason == "length" else "stop",
                        prompt_tokens=prompt_tokens,
                        completion_tokens=len(lps) if lps is not None else per_choice,
                        seed=None if call_seed is None else call_seed + k,
                        logprobs=lps,
                        model=self.model_name,
                    )
                )
        return out, sent

    def _generate_prefixed(
        self, messages: Sequence[Message], params: SamplingParams, prefixes: Sequence[str]
    ) -> list[Completion]:
        """Samples whose reply is forced to start with a prefix (a partial assistant message).

        ``continue_final_message`` is vLLM's chat extension; servers without it (llama.cpp's)
        treat the prefix as a finished turn, so CoT-decoding needs vLLM on this backend.
        Samples that share a prefix (program paths all open a code block) go in one request
        with ``n`` choices; distinct prefixes (CoT-decoding's branches) go as concurrent
        requests, which vLLM decodes in one batch. Sample i keeps seed + i either way (vLLM
        seeds choice j of a request with its seed + j).
        """
        started = time.perf_counter()
        groups: list[tuple[int, int]] = []  # (first sample, count) of runs of equal prefixes
        for i, prefix in enumerate(prefixes):
            if groups and prefixes[groups[-1][0]] == prefix:
                groups[-1] = (groups[-1][0], groups[-1][1] + 1)
            else:
                groups.append((i, 1))

        def draw(group: tuple[int, int]) -> tuple[list[Completion], int]:
            first, count = group
            prefix = prefixes[first]
            chat: list[Message] = [*messages, {"role": "assistant", "content": prefix}]
            comps, prompt_tokens = self._generate_once(
                chat,
                dataclasses.replace(params, seed=params.seed_of(first)),
                count,
                extra_body={"continue_final_message": True, "add_generation_prompt": False},
            )
            return [dataclasses.replace(c, text=prefix + c.text) for c in comps], prompt_tokens

        if len(groups) == 1:
            results = [draw(groups[0])]
        else:
            # Each request in the context of the caller (its span), one copy per thread.
            contexts = [contextvars.copy_context() for _ in groups]
            with ThreadPoolExecutor(max_workers=min(len(groups), _MAX_CONCURRENT)) as pool:
                results = list(pool.map(lambda c, g: c.run(draw, g), contexts, groups))
        out = [c for comps, _ in results for c in comps]
        self.last_stats = GenerationStats(
            prompt_tokens_evaluated=sum(p for _, p in results),
            completion_tokens=sum(c.completion_tokens for c in out),
            generate_seconds=time.perf_counter() - started,
        )
        return out

    def _stream(self, messages: Sequence[Message], params: SamplingParams) -> Iterator[str]:
        """Yield text deltas of one completion as the server streams them."""
        chunks = self._call(**_request(messages, params), stream=True)
        try:
            for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        except openai.APIError as ex:
            self._raise_typed(ex)
        finally:
            chunks.close()

    def health(self) -> bool:
        """Whether the server answers ``GET /models``."""
        try:
            self._client.models.list()
        except openai.APIError:
            return False
        return True

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()
