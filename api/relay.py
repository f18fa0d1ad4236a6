"""A run submitted from the event loop, its graph events relayed into an asyncio queue.

The ways in that show progress while a question is answered (REST's SSE stream, MCP's
progress notifications) submit through ``RelayedRun`` and read ``events()``. The worker thread
hands each event to the loop; leaving early (client gone, call cancelled) goes through
``stop()``, which stops the run at its next graph event.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future

from agent.events import Event
from agent.reasoner import Answer
from service.compose import Ask, Service
from service.queue import Cancellation

Sink = Callable[[Event | None], None]


class RelayedRun:
    """One submitted run and the queue its events arrive on."""

    def __init__(self, service: Service, make_ask: Callable[[Cancellation, Sink], Ask]) -> None:
        """Submit the run ``make_ask`` builds (from its cancellation and event sink).

        Raises:
            QueueFull: Admission happens here, before anything is sent to the caller.
        """
        loop = asyncio.get_running_loop()
        self._events: asyncio.Queue[Event | None] = asyncio.Queue()
        self.cancellation = Cancellation()

        def put(item: Event | None) -> None:
            try:
                loop.call_soon_threadsafe(self._events.put_nowait, item)
            except RuntimeError:  # the loop is gone: nobody is listening any more
                self.cancellation.cancel()

        self.future: Future[Answer] = service.submit(make_ask(self.cancellation, put))
        self.future.add_done_callback(lambda _f: put(None))

    async def events(self) -> AsyncIterator[Event]:
        """The run's events, in order, until it ends."""
        while (event := await self._events.get()) is not None:
            yield event

    def stop(self) -> None:
        """Stop a run still under way (at its next graph event); nothing once it is done."""
        if not self.future.done() and not self.future.cancel():
            self.cancellation.cancel()
