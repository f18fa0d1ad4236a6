"""Every error the HTTP API returns, in OpenAI's shape, from one table.

Body of every error response::

    {"error": {"message": "...", "type": "...", "param": null | "field", "code": "..."}}

``ERRORS`` maps exception classes to (status, type, code); the first matching row wins, so
subclasses come before their bases. Framework errors (malformed JSON, validation, unknown
route, wrong method) are translated by the handlers installed in ``install_error_handlers``.
No handler ever returns a stack trace.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from agent.errors import (
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    ConfigError,
    InvalidRequest,
    ModelError,
    ReasonerError,
    RequestTooLarge,
    UnknownAnswer,
)
from memory import MemoryNotWritable, MemoryStoreError, RecordNotFound, RecordTooLarge
from retrieval.errors import EmbeddingInputError, RetrievalError
from service.queue import Cancelled, QueueFull

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An error raised by the API layer itself (auth, unknown model, queue full...)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",  # noqa: A002 - OpenAI's field name
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Remember what the response will say."""
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers or {}


@dataclass(frozen=True)
class ErrorRow:
    """One row of the table: an exception class and what the client sees."""

    exc: type[BaseException]
    status: int
    type: str
    code: str


# The whole mapping. Order matters: subclasses before their bases.
ERRORS: tuple[ErrorRow, ...] = (
    ErrorRow(QueueFull, 429, "rate_limit_error", "queue_full"),
    ErrorRow(Cancelled, 499, "server_error", "cancelled"),
    ErrorRow(UnknownAnswer, 404, "invalid_request_error", "unknown_answer"),
    ErrorRow(InvalidRequest, 400, "invalid_request_error", "invalid_request"),
    ErrorRow(ConfigError, 400, "invalid_request_error", "invalid_config"),
    ErrorRow(RequestTooLarge, 413, "invalid_request_error", "request_too_large"),
    ErrorRow(BackendTimeout, 504, "server_error", "backend_timeout"),
    ErrorRow(BackendUnavailable, 503, "server_error", "backend_unavailable"),
    ErrorRow(BackendError, 502, "server_error", "backend_error"),
    ErrorRow(ModelError, 503, "server_error", "model_unavailable"),
    ErrorRow(EmbeddingInputError, 400, "invalid_request_error", "invalid_input"),
    ErrorRow(RetrievalError, 503, "server_error", "retrieval_error"),
    ErrorRow(RecordNotFound, 404, "invalid_request_error", "not_found"),
    ErrorRow(RecordTooLarge, 413, "invalid_request_error", "record_too_large"),
    ErrorRow(MemoryNotWritable, 503, "server_error", "memory_not_writable"),
    ErrorRow(MemoryStoreError, 503, "server_error", "memory_error"),
    ErrorRow(ReasonerError, 500, "server_error", "internal_error"),
)

# Statuses raised by Starlette itself (unknown route, wrong method...).
_HTTP_TYPES = {
    400: ("invalid_request_error", "bad_request"),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", "forbidden"),
    404: ("invalid_request_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    413: ("invalid_request_error", "request_too_large"),
    415: ("invalid_request_error", "unsupported_media_type"),
    429: ("rate_limit_error", "queue_full"),
}


def error_body(
    message: str,
    type: str,
    code: str | None = None,
    param: str | None = None,  # noqa: A002
) -> dict[str, Any]:
    """The OpenAI error object."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def error_response(
    status: int,
    message: str,
    type: str,  # noqa: A002
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A JSON response carrying the OpenAI error object."""
    return JSONResponse(error_body(message, type, code, param), status_code=status, headers=headers)


def row_for(exc: BaseException) -> ErrorRow | None:
    """The table row for an exception, or None when it is not one of ours."""
    for row in ERRORS:
        if isinstance(exc, row.exc):
            return row
    return None


def describe(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """Status and OpenAI error body for any exception (used by SSE streams and batch too)."""
    if isinstance(exc, ApiError):
        return exc.status, error_body(exc.message, exc.type, exc.code, exc.param)
    row = row_for(exc)
    if row is None:
        logger.exception("unexpected error", exc_info=exc)
        return 500, error_body("internal error", "server_error", "internal_error")
    return row.status, error_body(str(exc), row.type, row.code)


# Names pydantic puts in an error's location for the member of a union it tried
# ("constrained-str", "list[UserTextPart]") or the tag of a tagged union ("user"): not
# fields, so not part of the parameter a client should fix.
_UNION_MEMBER = re.compile(r"[^A-Za-z0-9_]")
_MESSAGE_TAGS = {"user", "system", "developer", "assistant"}


def param_of(loc: tuple[Any, ...]) -> str:
    """The request field a validation error is about, as a client names it."""
    parts: list[str] = []
    for i, p in enumerate(loc):
        if p == "body" or (isinstance(p, str) and _UNION_MEMBER.search(p)):
            continue
        if p in _MESSAGE_TAGS and i > 0 and isinstance(loc[i - 1], int):
            continue
        parts.append(str(p))
    return ".".join(parts) or "body"


def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    first: dict[str, Any] = errors[0] if errors else {"msg": "invalid request", "loc": ()}
    if first.get("type") == "json_invalid":
        ctx = first.get("ctx") or {}
        detail = ctx.get("error", first.get("msg", "invalid JSON"))
        return error_response(
            400, f"malformed JSON body: {detail}", "invalid_request_error", "invalid_json"
        )
    param = param_of(tuple(first.get("loc", ())))
    message = f"{param}: {first.get('msg', 'invalid value')}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem(s))"
    return error_response(422, message, "invalid_request_error", "invalid_value", param)


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path.

    Starlette's 405 names the methods of the first route whose path matched, so a path that
    two routes serve (``GET`` and ``DELETE /v1/memory/{id}``) would claim only one of them.
    Each method is tried against the app's routes as they match requests (included routers
    included).
    """
    routes = request.app.router.routes
    return [
        method
        for method in METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    type_, code = _HTTP_TYPES.get(exc.status_code, ("invalid_request_error", "http_error"))
    if exc.status_code >= 500:
        type_ = "server_error"
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request)) or headers.get("Allow", "")
    return error_response(exc.status_code, str(exc.detail), type_, code, headers=headers)


def _api(request: Request, exc: ApiError) -> JSONResponse:
    return error_response(
        exc.status, exc.message, exc.type, exc.code, exc.param, headers=exc.headers
    )


def _known(request: Request, exc: Exception) -> JSONResponse:
    status, body = describe(exc)
    if isinstance(exc, QueueFull):
        return JSONResponse(body, status_code=status, headers={"Retry-After": str(exc.retry_after)})
    if status >= 500:
        logger.warning("%s %s -> %d: %s", request.method, request.url.path, status, exc)
    return JSONResponse(body, status_code=status)


def _json_decode(request: Request, exc: json.JSONDecodeError) -> JSONResponse:
    return error_response(
        400, f"malformed JSON body: {exc}", "invalid_request_error", "invalid_json"
    )


def install_error_handlers(app: FastAPI) -> None:
    """Translate every error the app can meet into the OpenAI shape."""
    # Starlette types every handler as taking Exception; these four take the class they handle.
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]  # its class
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]  # its class
    app.add_exception_handler(ApiError, _api)  # type: ignore[arg-type]  # its class
    app.add_exception_handler(json.JSONDecodeError, _json_decode)  # type: ignore[arg-type]  # its class
    app.add_exception_handler(ReasonerError, _known)
    app.add_exception_handler(MemoryStoreError, _known)
    app.add_exception_handler(RetrievalError, _known)
    app.add_exception_handler(QueueFull, _known)
    app.add_exception_handler(Cancelled, _known)
    app.add_exception_handler(Exception, _known)
