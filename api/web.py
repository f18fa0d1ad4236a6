"""The web page for people, served by the same app at ``/`` (see api/static/).

The page is three static files (``index.html``, ``app.js``, ``style.css``): plain JavaScript,
no build step, nothing fetched from another origin. It talks to the ``/v1`` routes like any
client, so it needs no key to load; it asks for one when the API answers 401.

Routes::

    GET /                     index.html
    GET /static/{file}        app.js, style.css

Neither is in the OpenAPI schema: they are not part of the API.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent / "static"

# Everything the page loads or calls comes from this origin: no CDN, no inline script.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # The page is small and changes with the service: revalidate instead of a stale copy.
    "Cache-Control": "no-cache",
}


def mount_web(app: FastAPI) -> None:
    """Serve the page and its assets (no key needed: the page asks for one when required)."""

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(
            STATIC_DIR / "index.html", media_type="text/html", headers=SECURITY_HEADERS
        )

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
