"""Status notes: a value set or code system that is deprecated, withdrawn, retired, experimental or draft.

tx.fhir.org reports each such resource a request uses: `$validate-code` as an information issue
(`Reference to withdrawn ValueSet url|version`, tx-issue-type `status-check`), `$expand` as a
`warning-<status>` expansion parameter. Experimental and draft are reported only when the value
set that refers to them is not experimental or draft itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from ..content.codesystem import STANDARDS_STATUS, standards_status
from ..core.results import Issue
from .sources import SourceChain, mapping_key, split_canonical

Resource = Mapping[str, Any]
MESSAGE_IDS = {"deprecated": "MSG_DEPRECATED", "withdrawn": "MSG_WITHDRAWN", "retired": "MSG_RETIRED",
               "experimental": "MSG_EXPERIMENTAL", "draft": "MSG_DRAFT"}
MAX_DEPTH = 20


def status_of(resource: Resource, referrer: Resource | None) -> str | None:
    """deprecated/withdrawn/retired, else experimental/draft when `referrer` is not so itself."""
    std = standards_status(resource)
    if std in ("deprecated", "withdrawn"):
        return std
    if resource.get("status") == "retired":
        return "retired"
    if referrer is None:
        return None
    if resource.get("experimental") is True and referrer.get("experimental") is not True:
        return "experimental"
    if "draft" in (resource.get("status"), std) and "draft" not in (referrer.get("status"), standards_status(referrer)):
        return "draft"
    return None


def label(resource: Resource) -> str:
    url = str(resource.get("url") or "")
    return f"{url}|{resource['version']}" if resource.get("version") else url


def value_set_chain(sources: SourceChain, vs: Resource, defaults: Mapping[str, str] | None = None) -> tuple[Resource, ...]:
    """`vs` and every value set it imports (include/exclude valueSet), each once; `defaults`
    (default-valueset-version: url -> version) names the version of an import that gives none."""
    chosen = defaults or {}
    return sources.remembered("chain", vs, mapping_key(chosen), lambda: tuple(_imports(sources, vs, chosen)))


def _imports(sources: SourceChain, vs: Resource, defaults: Mapping[str, str]) -> Iterator[Resource]:
    seen: set[str] = set()
    todo: list[tuple[Resource, int]] = [(vs, 0)]
    while todo:
        current, depth = todo.pop(0)
        key = label(current) or str(id(current))
        if key in seen:
            continue
        seen.add(key)
        yield current
        if depth >= MAX_DEPTH:
            continue
        compose = current.get("compose") or {}
        for part in (*(compose.get("include") or ()), *(compose.get("exclude") or ())):
            for ref in part.get("valueSet") or ():
                url, version = split_canonical(str(ref))
                found = sources.value_set(url, version or defaults.get(url))
                if found is not None:
                    todo.append((found, depth + 1))


def statuses(resources: Iterable[tuple[Resource, str]], referrer: Resource | None) -> list[tuple[str, str, str]]:
    """(status, resource type, url|version) of every (resource, type) that has a status to report."""
    out: list[tuple[str, str, str]] = []
    for resource, kind in resources:
        status = status_of(resource, referrer)
        entry = (status, kind, label(resource)) if status else None
        if entry and entry not in out:
            out.append(entry)
    return out


def status_issues(found: Iterable[tuple[str, str, str]]) -> list[Issue]:
    """The information issues of $validate-code, in tx.fhir.org's wording."""
    return [Issue("information", "business-rule", "status-check", f"Reference to {status} {kind} {ref}", (),
                  MESSAGE_IDS[status], in_message=False) for status, kind, ref in found]


VALUESET_DEPRECATED = "http://hl7.org/fhir/StructureDefinition/valueset-deprecated"


def concept_marks(concept_ref: Resource) -> tuple[Any, ...]:
    """The deprecation extensions an include's concept carries (valueset-deprecated, standards-status)."""
    return tuple(e for e in concept_ref.get("extension") or ()
                 if isinstance(e, Mapping) and e.get("url") in (VALUESET_DEPRECATED, STANDARDS_STATUS))


def _deprecated(concept_ref: Resource) -> bool:
    for ext in concept_marks(concept_ref):
        value = ext.get("valueCode", ext.get("valueBoolean"))
        if (ext["url"] == VALUESET_DEPRECATED and str(value).lower() == "true") or value == "deprecated":
            return True
    return False


def deprecated_in_value_set(sources: SourceChain, vs: Resource, system: str, code: str, where: str,
                            defaults: Mapping[str, str] | None = None) -> Issue | None:
    """CONCEPT_DEPRECATED_IN_VALUESET: the value set (or one it imports) marks this concept deprecated."""
    chosen = defaults or {}
    marked = sources.remembered("deprecated", vs, mapping_key(chosen), lambda: _deprecated_concepts(sources, vs, chosen)).get((system, code))
    if marked is None:
        return None
    text = (f"The presence of the concept '{code}' in the system '{system}' in the value set {marked} "
            "is marked with a status of deprecated and its use should be reviewed")
    return Issue("warning", "business-rule", "code-comment", text, (where,), "CONCEPT_DEPRECATED_IN_VALUESET", in_message=False)


def _deprecated_concepts(sources: SourceChain, vs: Resource, defaults: Mapping[str, str] | None = None) -> Mapping[tuple[Any, Any], str]:
    """(system, code) of each concept the value set (or one it imports) marks deprecated, and the first value set that does."""
    found: dict[tuple[Any, Any], str] = {}
    for current in value_set_chain(sources, vs, defaults):
        for inc in (current.get("compose") or {}).get("include") or ():
            for ref in (inc.get("concept") or ()) if isinstance(inc, Mapping) and isinstance(inc.get("system"), str) else ():
                if isinstance(ref, Mapping) and isinstance(ref.get("code"), str) and _deprecated(ref):
                    found.setdefault((inc["system"], ref["code"]), label(current))
    return MappingProxyType(found)
