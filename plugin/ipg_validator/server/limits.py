"""The per-request time budget: a /fhir request not answered within it gets a 503 OperationOutcome.

Validation runs in a worker thread, which Python cannot stop; the budget bounds how long a
client waits, and the abandoned work finishes in the background with its answer dropped. The
body-size, nesting-depth and Bundle-entry limits bound how much work one request can be.
"""

from __future__ import annotations

import asyncio
import math

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..core.errors import FhirError
from .negotiation import error_response


class TimeBudget:
    """ASGI middleware answering 503 (with Retry-After) when a /fhir request runs past `seconds`.

    The request runs in place, with one timer beside it (no task of its own: a task and a wait cost more
    than a small request). If the timer fires before the answer has started, the 503 is sent from a task
    of its own and what the request sends afterwards is dropped; the request's work finishes in the
    background, as work in a thread must, and its outcome is discarded."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or self.seconds <= 0 or not (path == "/fhir" or path.startswith("/fhir/")):
            await self.app(scope, receive, send)
            return
        started = False
        late: asyncio.Task[None] | None = None

        async def guarded(message: Message) -> None:
            nonlocal started
            if late is not None:
                return  # the 503 has gone out instead
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        def expire() -> None:
            nonlocal late
            if not started:
                late = asyncio.ensure_future(self._too_late(scope, receive, send))

        timer = asyncio.get_running_loop().call_later(self.seconds, expire)
        try:
            await self.app(scope, receive, guarded)
        except Exception:  # noqa: BLE001  (after the 503 the request's own failure has no one to go to)
            if late is None:
                raise
        finally:
            timer.cancel()
            if late is not None:
                await late

    async def _too_late(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = FhirError.of(
            503, "timeout",
            f"The request was not answered within the time budget of {self.seconds:g} seconds: try again, or send less at once",
            tx_code="too-costly",
        )
        response = error_response(error, headers={"Retry-After": str(max(1, math.ceil(self.seconds)))})
        await response(scope, receive, send)
