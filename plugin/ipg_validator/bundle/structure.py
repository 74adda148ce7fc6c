"""FHIR structure of a Bundle, entry by entry, with the fhir.resources R4B models.

Each entry's resource is checked with its own model so that one unknown resourceType or
broken resource is one issue at its place, not a failure of the whole Bundle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ..core.models import R4_ONLY, model_class, required_elements, unknown_type_text
from ..core.results import ERROR, WARNING, Issue
from .entries import entry_issues

MAX_ISSUES_PER_RESOURCE = 20
MAX_ECHO = 200  # characters of a bad value quoted in a message
# Required bindings the models do not enforce (they check a code's shape, not its value set).
REQUIRED_CODES: dict[str, dict[str, frozenset[str]]] = {
    "Bundle": {"type": frozenset({"document", "message", "transaction", "transaction-response", "batch", "batch-response", "history", "searchset", "collection"})},
    "Procedure": {"status": frozenset({"preparation", "in-progress", "not-done", "on-hold", "stopped", "completed", "entered-in-error", "unknown"})},
    "Encounter": {"status": frozenset({"planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled", "entered-in-error", "unknown"})},
}


def structure_issues(resource: Mapping[str, Any], path: str) -> list[Issue]:
    """Problems of one resource's structure, each with a FHIRPath expression under `path`."""
    kind = resource.get("resourceType")
    if not isinstance(kind, str):
        return [_issue("required", f"{path}.resourceType", "The resource has no resourceType: say what it is (e.g. \"Procedure\")")]
    cls = model_class(kind)
    if cls is None:
        issue = _issue("not-supported", f"{path}.resourceType", unknown_type_text(kind))
        return [Issue(WARNING, issue.code, issue.tx_code, issue.text, issue.expression, issue.message_id) if kind in R4_ONLY else issue]
    body = {k: v for k, v in resource.items() if k != "entry"} if kind == "Bundle" else resource
    issues = _model_issues(cls, body, path, kind)
    issues += _null_issues(body, path, {e for i in issues for e in i.expression}, MAX_ISSUES_PER_RESOURCE - len(issues))
    if kind in ("Procedure", "Condition"):
        issues += _coding_shape_issues(resource, path)
    for element, allowed in REQUIRED_CODES.get(kind, {}).items():
        value = resource.get(element)
        if isinstance(value, str) and value not in allowed:
            issues.append(_issue("code-invalid", f"{path}.{element}", f"'{value}' is not a valid {kind}.{element}: use one of {', '.join(sorted(allowed))}"))
    return issues


def bundle_issues(bundle: Mapping[str, Any]) -> list[Issue]:
    """The Bundle's own elements, then each entry and its resource."""
    issues = structure_issues(bundle, "Bundle")
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        return issues + [_issue("structure", "Bundle.entry", "Bundle.entry must be an array of entries")]
    if "entry" in bundle and not entries:
        issues.append(_empty("Bundle.entry", entries))
    issues += entry_issues(bundle.get("type"), entries)
    for n, entry in enumerate(entries):
        where = f"Bundle.entry[{n}]"
        if not isinstance(entry, dict):
            issues.append(_issue("structure", where, "Each Bundle.entry must be an object"))
            continue
        if not isinstance(entry.get("fullUrl", ""), str):
            issues.append(_issue("structure", f"{where}.fullUrl", "fullUrl must be a string (a URL or urn:uuid:...)"))
        issues += _null_issues({k: v for k, v in entry.items() if k != "resource"}, where, set(), MAX_ISSUES_PER_RESOURCE)
        resource = entry.get("resource")
        if resource is None:
            continue
        if not isinstance(resource, dict):
            issues.append(_issue("structure", f"{where}.resource", "The entry's resource must be a JSON object"))
        else:
            issues += structure_issues(resource, f"{where}.resource")
    return issues


def _model_issues(cls: Any, body: Mapping[str, Any], path: str, kind: str) -> list[Issue]:
    try:
        cls.model_validate(body)
    except ValidationError as exc:
        errors = [err for err in exc.errors() if not _spaced_code(kind, err)]
        issues = [_from_error(err, path) for err in errors[:MAX_ISSUES_PER_RESOURCE]]
        reported = {i.expression[0] for i in issues}
        for name in required_elements(kind):  # checked by the models only once all else passes
            where = f"{path}.{name}"
            if name not in body and f"_{name}" not in body and where not in reported:
                issues.append(_issue("required", where, f"{name} is required here: Value for the field '{name}' is required."))
        return issues
    except (ValueError, TypeError, KeyError) as exc:  # contained resources of unknown type, odd shapes
        return [_issue("structure", path, f"The resource cannot be read: {_short(str(exc))}")]
    return []


def _null_issues(body: Mapping[str, Any], path: str, reported: set[str], room: int) -> list[Issue]:
    """JSON nulls, which FHIR does not allow (but in the `_element` arrays lining up primitive
    extensions) and the models let through in lists: `"coding": [null]` would otherwise vanish
    unreported; and empty arrays and objects, which FHIR JSON never has. Places the models
    already reported (or their parent) are left out."""
    issues: list[Issue] = []
    stack: list[tuple[Any, str, bool]] = [(body, path, False)]
    while stack and len(issues) < room:
        value, where, aligned = stack.pop()
        items = value.items() if isinstance(value, dict) else ((f"[{n}]", v) for n, v in enumerate(value))
        for key, item in items:
            here = f"{where}.{key}" if isinstance(value, dict) else f"{where}{key}"
            if item is None:
                if not aligned and here not in reported and (isinstance(value, list) or where not in reported):
                    issues.append(_issue("structure", here, "null is not allowed in FHIR JSON: leave the element out (or send the value)"))
            elif isinstance(item, (dict, list)) and not item:
                if here not in reported:
                    issues.append(_empty(here, item))
            elif isinstance(item, (dict, list)):
                stack.append((item, here, isinstance(value, dict) and isinstance(key, str) and key.startswith("_") and isinstance(item, list)))
    return sorted(issues[:max(room, 0)], key=lambda i: i.expression)


def _empty(where: str, value: Any) -> Issue:
    what = "array" if isinstance(value, list) else "object"
    return _issue("structure", where, f"An empty {what} is not allowed in FHIR JSON: leave '{where.rsplit('.', 1)[-1]}' out, or give it content")


def _coding_shape_issues(resource: Mapping[str, Any], path: str) -> list[Issue]:
    """Codings that are not objects (a number, a string, a list): the models let some through, and the
    terminology check cannot read them, so each is reported at its place rather than dropped."""
    code = resource.get("code")
    codings = code.get("coding") if isinstance(code, dict) else None
    if not isinstance(codings, list):
        return []
    return [_issue("structure", f"{path}.code.coding[{n}]", f"Each coding must be a JSON object with system and code, not {_json_kind(c)}")
            for n, c in enumerate(codings) if c is not None and not isinstance(c, dict)]


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    return "a string" if isinstance(value, str) else type(value).__name__


def _spaced_code(kind: str, err: Mapping[str, Any]) -> bool:
    """A Procedure/Condition code with white space (' Y53.4 '): NHS feeds send it, and the terminology
    check reads it and reports it with the fix, so it is not also a structural error."""
    loc = tuple(err.get("loc", ()))
    value = err.get("input")
    return (
        kind in ("Procedure", "Condition") and len(loc) == 4 and loc[:2] == ("code", "coding") and loc[3] == "code"
        and err.get("type") == "string_pattern_mismatch" and isinstance(value, str) and bool(value.strip())
    )


def _from_error(err: Mapping[str, Any], path: str) -> Issue:
    where = path + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.get("loc", ()))
    kind = str(err.get("type", ""))
    message = str(err.get("msg", "invalid"))
    if kind == "extra_forbidden":
        return _issue("structure", where, f"Unknown element '{where.rsplit('.', 1)[-1]}': FHIR R4 does not define it here")
    if "missing" in kind:
        return _issue("required", where, f"{where.rsplit('.', 1)[-1]} is required here: {message}")
    value = err.get("input")
    shown = f" (got {_short(repr(value))})" if isinstance(value, (str, int, float, bool)) or value is None else ""
    return _issue("value" if "json_invalid" not in kind else "structure", where, f"{_short(message)}{shown}")


def _short(text: str, limit: int = MAX_ECHO) -> str:
    """`text`, cut to `limit` characters: a message never echoes a huge value back."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _issue(code: str, expression: str, text: str) -> Issue:
    return Issue(ERROR, code, "invalid-data", text, (expression,), "STRUCTURE")
