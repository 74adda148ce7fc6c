"""FHIR R4's own rules on a Bundle's entries, which the R4B models do not check: each an error at the entry.

bdl-7 (one fullUrl, and one resource type and id, per entry), bdl-3 / bdl-4 (`request` and
`response` exactly where the Bundle type has them) and bdl-5 (an entry carries a resource
unless it is a request or a response without one).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.results import ERROR, Issue

# bdl-3 / bdl-4: the Bundle types whose entries have a request, and those whose entries have a response.
WITH_REQUEST = frozenset({"batch", "transaction", "history"})
WITH_RESPONSE = frozenset({"batch-response", "transaction-response", "history"})
NEEDS_RESOURCE = frozenset({"POST", "PUT"})  # a transaction or batch request that creates or replaces a resource


def entry_issues(bundle_type: Any, entries: list[Any]) -> list[Issue]:
    """Every break of bdl-3, bdl-4, bdl-5 and bdl-7 among `entries` (a Bundle.entry array)."""
    kind = bundle_type if isinstance(bundle_type, str) else None
    issues: list[Issue] = []
    urls: dict[str, int] = {}
    ids: dict[str, int] = {}
    for n, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            continue  # the structure check reports it
        where = f"Bundle.entry[{n}]"
        if kind is not None:
            issues += _request_response(kind, entry, where)
        resource = entry.get("resource")
        request = entry.get("request")
        method = request.get("method") if isinstance(request, Mapping) else None
        if resource is None and (kind not in WITH_REQUEST | WITH_RESPONSE or method in NEEDS_RESOURCE or not (request or entry.get("response"))):
            why = f"a {method} request" if method in NEEDS_RESOURCE else f"an entry of a {kind} Bundle" if kind else "an entry"
            issues.append(_issue("bdl-5", where, f"{where} has no resource, which {why} needs: add the resource or remove the entry"))
        if kind == "history":
            continue  # bdl-7 allows a history to hold versions of one resource
        full_url = entry.get("fullUrl")
        duplicate_url = isinstance(full_url, str) and full_url in urls
        if duplicate_url:
            m = urls[str(full_url)]
            issues.append(_issue("bdl-7", f"{where}.fullUrl", f"{where} has the fullUrl '{full_url}' of Bundle.entry[{m}]: each entry needs its own fullUrl"))
        elif isinstance(full_url, str):
            urls[full_url] = n
        key = _type_id(resource)
        if key is not None and key in ids and not duplicate_url and _same_server(entries[ids[key]], entry):
            m = ids[key]
            issues.append(_issue("bdl-7", f"{where}.resource.id", f"{where} is {key}, as is Bundle.entry[{m}]: one resource is sent once per Bundle; merge the entries or give each its own id"))
        elif key is not None:
            ids.setdefault(key, n)
    return issues


def _request_response(kind: str, entry: Mapping[str, Any], where: str) -> list[Issue]:
    issues = []
    for element, types, rule in (("request", WITH_REQUEST, "bdl-3"), ("response", WITH_RESPONSE, "bdl-4")):
        present = entry.get(element) is not None
        if present and kind not in types:
            issues.append(_issue(rule, f"{where}.{element}", f"{where} has a {element}, which a {kind} Bundle does not have (only {_or(types)}): remove it, or send the Bundle as the type it is"))
        elif not present and kind in types:
            issues.append(_issue(rule, where, f"{where} has no {element}, which every entry of a {kind} Bundle needs: add entry.{element}"))
    return issues


def _type_id(resource: Any) -> str | None:
    if not isinstance(resource, Mapping):
        return None
    kind, rid = resource.get("resourceType"), resource.get("id")
    if not (isinstance(kind, str) and isinstance(rid, str) and rid):
        return None
    meta = resource.get("meta")
    version = meta.get("versionId") if isinstance(meta, Mapping) else None
    return f"{kind}/{rid}" + (f"/_history/{version}" if isinstance(version, str) else "")  # other versions may sit side by side


def _same_server(first: Mapping[str, Any], second: Mapping[str, Any]) -> bool:
    """Whether two entries' resources can be the same one: not when RESTful fullUrls name different servers."""
    a, b = first.get("fullUrl"), second.get("fullUrl")
    if not (isinstance(a, str) and isinstance(b, str) and "://" in a and "://" in b):
        return True
    return a.rsplit("/", 2)[0] == b.rsplit("/", 2)[0]


def _or(values: frozenset[str]) -> str:
    names = sorted(values)
    return ", ".join(names[:-1]) + " or " + names[-1]


def _issue(rule: str, expression: str, text: str) -> Issue:
    return Issue(ERROR, "invariant", "invalid-data", f"{text} (FHIR {rule})", (expression,), rule.upper().replace("-", "_"))
