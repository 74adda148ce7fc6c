"""Resource/$validate over HTTP: `POST /Bundle/$validate`, `/Procedure/$validate`, `/Condition/$validate`.

The body is the resource itself or a Parameters resource (`resource`, `mode`, `profile`); `mode`
and `profile` may also be given in the query string. Any JSON body is answered 200 with an
OperationOutcome; only a body that cannot be read is refused (400 not JSON, 413 too large,
415 not JSON media type), as an OperationOutcome too.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ..core.errors import FhirError
from ..fhir.validate_op import validate_operation
from .negotiation import error_response, read_resource, respond
from .offload import run_operation, small
from .routing import FhirRoute, index_of, limits_of

router = APIRouter(route_class=FhirRoute)


@router.post("/Bundle/$validate")
async def bundle_validate(request: Request) -> Response:
    """Validate an encounter Bundle: structure, every coding, and the IPG672 rules per encounter."""
    return await _validate(request, "Bundle")


@router.post("/Procedure/$validate")
async def procedure_validate(request: Request) -> Response:
    """Validate one Procedure: structure and its OPCS-4 codes."""
    return await _validate(request, "Procedure")


@router.post("/Condition/$validate")
async def condition_validate(request: Request) -> Response:
    """Validate one Condition: structure and its ICD-10 codes."""
    return await _validate(request, "Condition")


@router.api_route("/{kind}/$validate", methods=["GET", "PUT", "PATCH", "DELETE"])
async def validate_wrong_method(request: Request, kind: str) -> Response:
    """$validate takes a body: any other method is 405 (not a read of a resource called '$validate')."""
    error = FhirError.of(405, "not-supported", f"{kind}/$validate is called with POST and the resource as the body")
    return error_response(error, headers={"Allow": "POST"}, request=request)


async def _validate(request: Request, resource_type: str) -> Response:
    body = await read_resource(request, limits_of(request))
    query = request.query_params
    outcome = await run_operation(
        small(request), validate_operation, index_of(request), body, resource_type, mode=query.get("mode"), profile=query.get("profile")
    )
    request.state.outcome = outcome  # the access log counts its findings without reading the response again
    return respond(request, outcome)
