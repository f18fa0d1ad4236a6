"""Bearer API keys, as OpenAI clients send them (``Authorization: Bearer KEY``).

With no keys configured the API is open. Admin routes (deleting memory) need a key from
``admin_api_keys``; when none is configured, any valid key is an admin key.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Sequence
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import ApiError

logger = logging.getLogger(__name__)

# auto_error=False: a missing header reaches us, and we answer in OpenAI's error shape.
bearer = HTTPBearer(auto_error=False, description="An API key from REASON_API_KEYS")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _matches(key: str, keys: Sequence[str]) -> bool:
    # Constant-time comparison against every key, so timing does not reveal prefixes.
    found = False
    for candidate in keys:
        found |= hmac.compare_digest(key.encode(), candidate.encode())
    return found


def key_accepted(key: str | None, keys: Sequence[str], admin_keys: Sequence[str]) -> bool:
    """Whether ``key`` opens the API: any key when none is configured, else one of ``keys``
    or ``admin_keys`` (the REST routes and the MCP server's HTTP transport share this)."""
    if not keys:
        return True
    return key is not None and _matches(key, [*keys, *admin_keys])


def _unauthorized(message: str) -> ApiError:
    return ApiError(
        401,
        message,
        type="authentication_error",
        code="invalid_api_key",
        headers={"WWW-Authenticate": "Bearer"},
    )


def require_key(request: Request, credentials: Credentials) -> str | None:
    """Check the bearer key; returns it (None when the API is open). An admin key is a
    valid key too: an operator need not list it twice."""
    settings = request.app.state.settings
    keys: Sequence[str] = settings.api_keys
    if not keys:
        return None
    if credentials is None:
        raise _unauthorized(
            "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'."
        )
    if not key_accepted(credentials.credentials, keys, settings.admin_api_keys):
        logger.info("rejected an invalid API key on %s", request.url.path)  # never the key
        raise _unauthorized("Incorrect API key provided.")
    return credentials.credentials


def require_admin(
    request: Request,
    credentials: Credentials,
    _key: Annotated[str | None, Depends(require_key)],
) -> None:
    """Check that the caller may change memory (after the ordinary key check)."""
    admins: Sequence[str] = request.app.state.settings.admin_api_keys
    if not admins:
        return
    if credentials is None:
        raise _unauthorized("This route needs an admin API key.")
    if not _matches(credentials.credentials, admins):
        raise ApiError(
            403, "This route needs an admin API key.", type="permission_error", code="forbidden"
        )
