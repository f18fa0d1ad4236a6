"""Errors raised by the reasoning service.

Hierarchy::

    ReasonerError
    ├── ConfigError            bad settings or an unknown name (model, strategy)
    ├── InvalidRequest         a question or request the service refuses (empty, too long)
    │   └── UnknownAnswer      feedback names an answer id the service does not know
    ├── ModelError             a model file cannot be provisioned or loaded
    ├── BackendError           the model backend failed
    │   ├── BackendUnavailable the backend cannot be reached (server down)
    │   ├── BackendTimeout     the backend did not answer in time
    │   └── RequestTooLarge    prompt longer than the context, or n above the maximum

retrieval/ and memory/ raise their own errors (``retrieval.RetrievalError``,
``memory.MemoryStoreError``). The API maps all of them to HTTP statuses in one table
(api/errors.py); the CLI prints one line.
"""

from __future__ import annotations


class ReasonerError(Exception):
    """Base class of every error this service raises on purpose."""


class ConfigError(ReasonerError):
    """A setting or a name given by the user is invalid."""


class InvalidRequest(ReasonerError):
    """The request is malformed: empty question, text over a size limit."""


class UnknownAnswer(InvalidRequest):
    """Feedback names an answer id that was never given, or is too old to be remembered."""


class ModelError(ReasonerError):
    """A model file cannot be provisioned, verified or loaded."""


class BackendError(ReasonerError):
    """The model backend failed to produce completions."""


class BackendUnavailable(BackendError):
    """The model backend cannot be reached."""


class BackendTimeout(BackendError):
    """The model backend did not answer within the time limit."""


class RequestTooLarge(BackendError):
    """The request exceeds a limit of the backend (context length, max n)."""
