"""What every model backend guarantees, checked against each real one.

A test module subclasses ``BackendContract`` and gives it a ``backend`` fixture:
test_llamacpp_backend.py (llama.cpp in this process) and test_openai_backend.py (llama.cpp's
OpenAI-compatible server). What only one backend does is tested in its own module.
"""

from __future__ import annotations

import pytest

from agent.backends.base import Backend, Message
from agent.errors import RequestTooLarge

CHAT: list[Message] = [{"role": "user", "content": "Tell me a short story about a cat."}]


class BackendContract:
    """The tests every backend passes; a subclass provides the ``backend`` fixture."""

    def test_max_tokens_ends_with_length(self, backend: Backend) -> None:
        (c,) = backend.generate(CHAT, n=1, temperature=0.0, max_tokens=5)
        assert c.finish_reason == "length"
        assert c.completion_tokens == 5

    def test_stop_sequence_truncates_and_finishes(self, backend: Backend) -> None:
        (full,) = backend.generate(CHAT, n=1, temperature=0.0, max_tokens=40)
        word = full.text.split()[3]
        (cut,) = backend.generate(CHAT, n=1, temperature=0.0, max_tokens=40, stop=[word])
        assert cut.finish_reason == "stop"
        assert word not in cut.text
        assert full.text.startswith(cut.text)

    def test_stream_yields_the_same_text_as_generate(self, backend: Backend) -> None:
        (c,) = backend.generate(CHAT, n=1, temperature=0.0, max_tokens=20)
        deltas = list(backend.stream(CHAT, temperature=0.0, max_tokens=20))
        assert len(deltas) > 1
        assert "".join(deltas) == c.text

    def test_n_above_maximum_is_refused(self, backend: Backend) -> None:
        with pytest.raises(RequestTooLarge, match="REASON_MAX_N"):
            backend.generate(CHAT, n=9, max_tokens=4)
