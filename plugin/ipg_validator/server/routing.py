"""What every FHIR route shares: its content index and limits, and FhirError turned into a response.

The route class answers FhirErrors itself, so the router works the same when mounted in another app.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, cast

from fastapi.routing import APIRoute, APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ..content.index import ContentIndex
from ..core.errors import FhirError
from ..core.limits import Limits
from .negotiation import error_response, negotiate

_INDEX = "ipg_validator_index"
_LIMITS = "ipg_validator_limits"


class FhirRoute(APIRoute):
    """An APIRoute that first checks `_format` and Accept (negotiation.negotiate: a plain call, not a
    FastAPI dependency to solve per request), and whose FhirErrors (from those checks or the operation)
    become OperationOutcomes."""

    negotiated = True  # False: the web page's routes, which answer HTML and JavaScript as well

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        negotiated = self.negotiated

        async def route(request: Request) -> Response:
            try:
                if negotiated:
                    negotiate(request)
                return await handler(request)
            except FhirError as exc:
                return error_response(exc, request=request)

        return route


class PageRoute(FhirRoute):
    """A FhirRoute without the FHIR format checks: the web page and its assets."""

    negotiated = False


def add_routes(target: APIRouter, source: APIRouter, prefix: str = "") -> None:
    """Every route of `source` added to `target` under `prefix`, as routes of `target` itself.

    FastAPI's include_router keeps an included router as a branch of its own, matched on every request
    (about 10 µs a level here); the service's own routers are few and fixed, so they are laid out flat."""
    for route in source.routes:
        if not isinstance(route, APIRoute):
            raise TypeError(f"{route!r} is not an APIRoute: include its router instead")
        target.add_api_route(
            prefix + route.path, route.endpoint, methods=sorted(route.methods or ()), name=route.name,
            dependencies=route.dependencies, include_in_schema=route.include_in_schema,
            response_class=route.response_class, route_class_override=type(route),
        )


def binder(index: ContentIndex | None, limits: Limits | None) -> Callable[[Request], None]:
    """A dependency putting a router's own index and limits (when given) on the request."""

    def bind(request: Request) -> None:
        if index is not None:
            setattr(request.state, _INDEX, index)
        if limits is not None:
            setattr(request.state, _LIMITS, limits)

    return bind


def index_of(request: Request) -> ContentIndex:
    """The router's own index, else `app.state.index`."""
    index = getattr(request.state, _INDEX, None) or getattr(request.app.state, "index", None)
    if index is None:
        raise RuntimeError("No content index: set app.state.index or pass index= to fhir_router()")
    return cast(ContentIndex, index)


def limits_of(request: Request) -> Limits:
    """The router's own limits, else `app.state.limits`, else the defaults."""
    return getattr(request.state, _LIMITS, None) or getattr(request.app.state, "limits", None) or Limits()
