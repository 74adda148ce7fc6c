"""The terminology operations over HTTP: $validate-code, $expand, $lookup and $translate, by GET or POST.

Every route is made by `operation_route`: it reads the parameters, calls the shared operation in
`fhir.terminology_ops`, and answers (a refusal as the terminology OperationOutcome), the same way for each.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ..core.errors import FhirError
from ..fhir.parameters import terminology_outcome
from ..fhir.translate_op import translate_op
from ..fhir.terminology_ops import batch_validate_op, expand_op, lookup_op, validate_code_op, versions_op, with_accept_language
from .negotiation import read_params, respond
from .offload import run_operation, small
from .routing import FhirRoute, index_of, limits_of

router = APIRouter(route_class=FhirRoute)
METHODS = ["GET", "POST"]


def operation_route(path: str, operation: Callable[..., Any], doc: str, *, methods: list[str] = METHODS,
                    language: bool = True, **fixed: Any) -> None:
    """Add the route of one terminology operation: read its parameters (query or Parameters body), add the
    Accept-Language where the operation reads it, call `operation` with the content index, the limits, the
    `fixed` arguments and, on an instance path (`{id}`), the instance; answer, refusals included, one way."""
    instanced = "{id}" in path

    async def answer(request: Request, instance: str | None) -> Response:
        limits = limits_of(request)
        params = await read_params(request, limits)
        if language:
            params = with_accept_language(params, request.headers.get("accept-language"))
        given = {**fixed, "instance": instance} if instanced or "instance" in fixed else fixed
        return await _answer(request, operation, index_of(request), params, limits=limits, **given)

    async def on_type(request: Request) -> Response:
        return await answer(request, None)

    async def on_instance(request: Request, id: str) -> Response:  # the path's {id}, declared for the OpenAPI schema
        return await answer(request, id)

    endpoint = on_instance if instanced else on_type
    endpoint.__doc__ = doc
    router.add_api_route(path, endpoint, methods=methods, name=path)


for _kind in ("ValueSet", "CodeSystem"):
    operation_route(f"/{_kind}/$validate-code", validate_code_op, f"Is a code in a {_kind} (named by url, or sent)?",
                    resource_type=_kind, instance=None)
    operation_route(f"/{_kind}/{{id}}/$validate-code", validate_code_op, f"Is a code in this {_kind}?", resource_type=_kind)
operation_route("/ValueSet/$expand", expand_op, "The codes of a value set (named by url, or sent as valueSet).", instance=None)
operation_route("/ValueSet/{id}/$expand", expand_op, "The codes of this value set.")
operation_route("/CodeSystem/$lookup", lookup_op, "What the code system says about one code.")
operation_route("/ConceptMap/$translate", translate_op, "What a code maps to (or, in reverse, from) in the ConceptMaps known or supplied.",
                language=False, instance=None)
operation_route("/ConceptMap/{id}/$translate", translate_op, "What a code maps to in this ConceptMap.", language=False)
operation_route("/ValueSet/$batch-validate-code", batch_validate_op, "Several validate-code requests in one, sharing the top-level parameters.",
                methods=["POST"])


@router.get("/$versions")
async def versions(request: Request) -> Response:
    """The FHIR versions this server supports."""
    return respond(request, versions_op())


async def _answer(request: Request, operation: Any, *args: Any, **kwargs: Any) -> Response:
    """Run the operation (in the event loop when the request is small, except $expand, whose work grows with
    the value set: server.offload); its refusal is an OperationOutcome in the terminology shape."""
    inline = operation is not expand_op and small(request)
    try:
        return respond(request, await run_operation(inline, operation, *args, **kwargs))
    except FhirError as exc:
        return respond(request, terminology_outcome(exc.issues), exc.status)
