"""A real uvicorn server on a free localhost port, in a thread: what the HTTP tests share."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import uvicorn

from benchmarks.net import free_port

if TYPE_CHECKING:
    from service.settings import Settings

__all__ = ["free_port", "serving", "serving_api"]


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve ``app`` until the block ends; yield its base URL (``http://127.0.0.1:PORT``)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def serving_api(settings: Settings, backend: Any, *, memory: bool = False) -> Iterator[str]:
    """The REST app of ``build_service(settings)`` around ``backend``, served until the block
    ends; yields its base URL. The service is closed after (not the backend)."""
    from api.http.app import create_app
    from service.compose import build_service

    service = build_service(settings, memory=memory, backend=backend)
    try:
        with serving(create_app(settings, service)) as url:
            yield url
    finally:
        service.close()
