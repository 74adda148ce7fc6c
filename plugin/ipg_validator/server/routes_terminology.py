"""The terminology operations over HTTP: $validate-code, $expand, $lookup and $translate, by GET or POST.

Each route reads the parameters, calls the shared operation in `fhir.terminology_ops`, and answers.
"""

from __future__ import annotations

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


@router.api_route("/ValueSet/$validate-code", methods=METHODS)
async def value_set_validate_code(request: Request) -> Response:
    """Is a code in a value set (named by url, or sent as valueSet)?"""
    return await _validate(request, "ValueSet", None)


@router.api_route("/ValueSet/{id}/$validate-code", methods=METHODS)
async def value_set_instance_validate_code(request: Request, id: str) -> Response:
    """Is a code in this value set?"""
    return await _validate(request, "ValueSet", id)


@router.api_route("/CodeSystem/$validate-code", methods=METHODS)
async def code_system_validate_code(request: Request) -> Response:
    """Is a code in a code system (named by url or system)?"""
    return await _validate(request, "CodeSystem", None)


@router.api_route("/CodeSystem/{id}/$validate-code", methods=METHODS)
async def code_system_instance_validate_code(request: Request, id: str) -> Response:
    """Is a code in this code system?"""
    return await _validate(request, "CodeSystem", id)


@router.api_route("/ValueSet/$expand", methods=METHODS)
async def value_set_expand(request: Request) -> Response:
    """The codes of a value set (named by url, or sent as valueSet)."""
    return await _expand(request, None)


@router.api_route("/ValueSet/{id}/$expand", methods=METHODS)
async def value_set_instance_expand(request: Request, id: str) -> Response:
    """The codes of this value set."""
    return await _expand(request, id)


@router.api_route("/CodeSystem/$lookup", methods=METHODS)
async def code_system_lookup(request: Request) -> Response:
    """What the code system says about one code."""
    limits = limits_of(request)
    params = with_accept_language(await read_params(request, limits), request.headers.get("accept-language"))
    return await _answer(request, lookup_op, index_of(request), params, limits=limits)


@router.api_route("/ConceptMap/$translate", methods=METHODS)
async def concept_map_translate(request: Request) -> Response:
    """What a code maps to (or, in reverse, from) in the ConceptMaps known or supplied."""
    return await _translate(request, None)


@router.api_route("/ConceptMap/{id}/$translate", methods=METHODS)
async def concept_map_instance_translate(request: Request, id: str) -> Response:
    """What a code maps to in this ConceptMap."""
    return await _translate(request, id)


@router.post("/ValueSet/$batch-validate-code")
async def value_set_batch_validate_code(request: Request) -> Response:
    """Several validate-code requests in one, sharing the top-level parameters."""
    limits = limits_of(request)
    params = with_accept_language(await read_params(request, limits), request.headers.get("accept-language"))
    return await _answer(request, batch_validate_op, index_of(request), params, limits=limits)


@router.get("/$versions")
async def versions(request: Request) -> Response:
    """The FHIR versions this server supports."""
    return respond(request, versions_op())


async def _validate(request: Request, resource_type: str, instance: str | None) -> Response:
    limits = limits_of(request)
    params = with_accept_language(await read_params(request, limits), request.headers.get("accept-language"))
    return await _answer(request, validate_code_op, index_of(request), params, resource_type=resource_type, instance=instance, limits=limits)


async def _expand(request: Request, instance: str | None) -> Response:
    limits = limits_of(request)
    params = with_accept_language(await read_params(request, limits), request.headers.get("accept-language"))
    return await _answer(request, expand_op, index_of(request), params, instance=instance, limits=limits)


async def _translate(request: Request, instance: str | None) -> Response:
    limits = limits_of(request)
    params = await read_params(request, limits)
    return await _answer(request, translate_op, index_of(request), params, instance=instance, limits=limits)


async def _answer(request: Request, operation: Any, *args: Any, **kwargs: Any) -> Response:
    """Run the operation (in the event loop when the request is small, except $expand, whose work grows with
    the value set: server.offload); its refusal is an OperationOutcome in the terminology shape."""
    inline = operation is not expand_op and small(request)
    try:
        return respond(request, await run_operation(inline, operation, *args, **kwargs))
    except FhirError as exc:
        return respond(request, terminology_outcome(exc.issues), exc.status)
