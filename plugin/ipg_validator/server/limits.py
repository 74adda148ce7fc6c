"""The per-request time budget: a /fhir request not answered within it gets a 503 OperationOutcome.

Validation runs in a worker thread, which Python cannot stop; the budget bounds how long a
client waits, and the abandoned work finishes in the background with its answer dropped. The
body-size, nesting-depth and Bundle-entry limits bound how much work one request can be.
"""

from __future__ import annotations

import asyncio
import math

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..fhir.errors import FhirError
from .negotiation import error_response


class TimeBudget:
    """ASGI middleware answering 503 (with Retry-After) when a /fhir request runs past `seconds`."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or self.seconds <= 0 or not (path == "/fhir" or path.startswith("/fhir/")):
            await self.app(scope, receive, send)
            return
        started = abandoned = False

        async def guarded(message: Message) -> None:
            nonlocal started
            if abandoned:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        task = asyncio.ensure_future(self.app(scope, receive, guarded))
        done, _ = await asyncio.wait({task}, timeout=self.seconds)
        if task in done or started:
            await task  # finished, or already answering: let it complete
            return
        abandoned = True
        task.add_done_callback(_retrieve)
        task.cancel()
        error = FhirError.of(
            503, "timeout",
            f"The request was not answered within the time budget of {self.seconds:g} seconds: try again, or send less at once",
            tx_code="too-costly",
        )
        response = error_response(error, headers={"Retry-After": str(max(1, math.ceil(self.seconds)))})
        await response(scope, receive, send)


def _retrieve(task: asyncio.Future[None]) -> None:
    """Collect an abandoned request's outcome so asyncio does not report it as never retrieved."""
    if not task.cancelled():
        task.exception()
