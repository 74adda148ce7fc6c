"""Where an operation runs: on the event loop when its work is small and bounded, else in the thread pool.

Handing work to a thread and back costs more than a `$validate-code` itself (queue, wake-up, the GIL
changing hands twice: about 50-100 µs), so answers to small requests are computed in the event loop.
"Small" is bounded by what the client sent: a GET (parameters in the query string only) or a body of
at most INLINE_BYTES, about 40 Bundle entries or a few milliseconds of work, no longer than the
interpreter lets one thread hold the GIL anyway (5 ms). Larger bodies, and operations whose work
grows with the content rather than with the request ($expand), run in the thread pool, where the
time budget (server.limits) can abandon them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

INLINE_BYTES = 16 * 1024
T = TypeVar("T")


def small(request: Request) -> bool:
    """Whether the request's work is bounded small: a GET, or a body whose Content-Length is at most INLINE_BYTES."""
    if request.method in ("GET", "HEAD"):
        return True
    declared = request.headers.get("content-length")
    return declared is not None and declared.isdigit() and int(declared) <= INLINE_BYTES


async def run_operation(inline: bool, operation: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`operation(*args, **kwargs)`, here when `inline`, else in the thread pool."""
    if inline:
        return operation(*args, **kwargs)
    return await run_in_threadpool(operation, *args, **kwargs)
