"""The web page for people, served by the same app at ``/`` (see api/static/)."""

from __future__ import annotations

from fastapi import FastAPI


def mount_web(app: FastAPI) -> None:
    """Serve the page and its assets (no key needed: the page asks for one when required)."""
