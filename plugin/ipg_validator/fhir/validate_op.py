"""Resource/$validate (Bundle, Procedure, Condition): parsed JSON in, an OperationOutcome out.

No HTTP here: the server routes and the command line both call `validate_operation`, so the
same input gives the same OperationOutcome whichever way it arrives.

The body is the resource itself, or a Parameters resource with `resource` (the resource to
validate), and optionally `mode` (create | update | delete | profile) and `profile` (a
canonical). Any JSON gets an answer: a body that is the wrong thing (a Patient sent to
Bundle/$validate, a Parameters without `resource`, an array, a number) is an OperationOutcome
with an error issue saying what was expected, never a refusal.
"""

from __future__ import annotations

from typing import Any

from ..bundle.validate import bundle_findings, resource_findings
from ..content.index import ContentIndex
from ..core.results import Issue
from ..core.outcome import operation_outcome

VALIDATE_TYPES = ("Bundle", "Procedure", "Condition")
MODES = ("create", "update", "delete", "profile")
KNOWN_PARAMETERS = ("resource", "mode", "profile")
_MISSING = object()  # a Parameters body without a 'resource' parameter


def validate_operation(
    index: ContentIndex,
    body: Any,
    resource_type: str,
    *,
    mode: str | None = None,
    profile: str | None = None,
    structure: bool = True,
) -> dict[str, Any]:
    """The OperationOutcome of `[resource_type]/$validate` on `body` (the resource, or Parameters).

    `mode` and `profile` may also come from outside the body (the query string, a command-line
    option); values inside a Parameters body win. `structure=False` skips the R4B structure pass
    of a Bundle.
    """
    return operation_outcome(validate_findings(index, body, resource_type, mode=mode, profile=profile, structure=structure))


def validate_findings(
    index: ContentIndex,
    body: Any,
    resource_type: str,
    *,
    mode: str | None = None,
    profile: str | None = None,
    structure: bool = True,
) -> list[Issue]:
    """Every finding of `validate_operation`, unsorted."""
    if resource_type not in VALIDATE_TYPES:
        return [_error("not-supported", f"$validate is not supported on {resource_type}: use Bundle, Procedure or Condition", resource_type)]
    notes: list[Issue] = []
    resource = body
    if isinstance(body, dict) and body.get("resourceType") == "Parameters":
        unpacked = _unpack(body)
        if isinstance(unpacked, Issue):
            return [unpacked]
        resource, given_mode, given_profile, notes = unpacked
        mode = given_mode if given_mode is not None else mode
        profile = given_profile if given_profile is not None else profile
    if mode is not None:
        mode = mode.strip()
        if mode not in MODES:
            return [*notes, _error("code-invalid", f"Unknown $validate mode {mode!r}: use one of {', '.join(MODES)}", "mode")]
        if mode == "delete":
            return [*notes, Issue("information", "informational", "process-note",
                                  f"mode=delete: nothing is checked when a {resource_type} is deleted", ("mode",))]
    if resource is _MISSING:
        return [*notes, _error("required", "The Parameters has no 'resource' parameter: send the resource to validate as parameter 'resource'", "Parameters")]
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        return [*notes, _error("structure", f"Expected a {resource_type} resource (or a Parameters resource with a 'resource' parameter), got {_what(resource)}", resource_type)]
    if resource.get("resourceType") != resource_type:
        return [*notes, _error("structure", f"Expected a {resource_type}, got a {resource['resourceType']}: send it to {resource['resourceType']}/$validate"
                               if resource["resourceType"] in VALIDATE_TYPES else
                               f"Expected a {resource_type}, got a {resource['resourceType']}: $validate here checks {_article(resource_type)}", resource_type)]
    if resource_type == "Bundle":
        return [*notes, *bundle_findings(resource, index, profile=profile or None, structure=structure)]
    return [*notes, *resource_findings(resource, index, resource_type)]


def _unpack(params: dict[str, Any]) -> tuple[Any, str | None, str | None, list[Issue]] | Issue:
    """The resource, mode and profile of a Parameters body, with notes on what was ignored; or the error."""
    parameters = params.get("parameter")
    if parameters is None:
        parameters = []
    if not isinstance(parameters, list):
        return _error("structure", "Parameters.parameter must be a list: send the resource to validate as the 'resource' parameter", "Parameters.parameter")
    resources: list[tuple[int, Any]] = []
    mode = profile = None
    notes: list[Issue] = []
    for n, param in enumerate(parameters):
        where = f"Parameters.parameter[{n}]"
        if not isinstance(param, dict) or not isinstance(param.get("name"), str):
            return _error("structure", f"{where} has no name", where)
        name = param["name"]
        if name == "resource":
            if "resource" not in param:
                return _error("structure", f"{where} (resource) carries no resource: put the resource to validate in parameter.resource", where)
            resources.append((n, param["resource"]))
        elif name in ("mode", "profile"):
            value = _simple(param)
            if value is None:
                return _error("structure", f"{where} ({name}) has no value: give it as {'valueCode' if name == 'mode' else 'valueUri or valueCanonical'}", where)
            if name == "mode":
                mode = value
            else:
                profile = value
        else:
            notes.append(Issue("warning", "not-supported", "invalid-data",
                               f"Parameter {name!r} is not known to $validate and was ignored (known: {', '.join(KNOWN_PARAMETERS)})", (where,)))
    if not resources:
        return _MISSING, mode, profile, notes
    if len(resources) > 1:
        return _error("structure", f"The Parameters has {len(resources)} 'resource' parameters: send one resource per $validate", f"Parameters.parameter[{resources[1][0]}]")
    return resources[0][1], mode, profile, notes


def _simple(param: dict[str, Any]) -> str | None:
    for key, value in param.items():
        if key.startswith("value") and isinstance(value, str):
            return value
    return None


def _what(value: Any) -> str:
    if isinstance(value, dict):
        return "a JSON object without a resourceType"
    if isinstance(value, list):
        return "a JSON array"
    if isinstance(value, bool):
        return "a JSON boolean"
    if isinstance(value, (int, float)):
        return "a JSON number"
    if isinstance(value, str):
        return "a JSON string"
    if value is None:
        return "null"
    return type(value).__name__


def _article(resource_type: str) -> str:
    return {"Bundle": "an encounter Bundle", "Procedure": "a Procedure", "Condition": "a Condition"}.get(resource_type, resource_type)


def _error(code: str, text: str, expression: str | None = None) -> Issue:
    return Issue("error", code, "invalid-data", text, (expression,) if expression else ())
