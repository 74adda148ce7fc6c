"""$lookup: what a code of a code system is (display, properties, hierarchy)."""

from __future__ import annotations

from . import messages
from .formats import Form, format_for, normalise
from .results import LookupResult
from .sources import SourceChain


def lookup(sources: SourceChain, system: str, code: str, version: str | None = None) -> LookupResult:
    """Describe `code` of `system`; NHS formats are read and reported as validate-code does."""
    canonical = sources.canonical_system(system)
    result = LookupResult(found=False, system=canonical, code=code)
    if canonical != system:
        result.issues.append(messages.alias_system(system, canonical, "system"))
    cs = sources.code_system(canonical, version)
    if cs is None:
        result.issues.append(messages.unknown_system(canonical, version, "system", sources.versions_of(canonical)))
        return result
    result.name, result.version = cs.resource.get("name") or cs.title, cs.version
    fmt = format_for(canonical)
    if fmt is not None:
        n = normalise(canonical, code)
        if n.form is Form.NHS_FORMAT:
            result.issues.append(messages.nhs_format(fmt, n, cs.get(n.code), "code"))
        result.code = n.code
    concept = cs.get(result.code)
    if concept is None:
        result.issues.append(messages.unknown_code(cs, result.code, "code"))
        return result
    result.found = True
    result.code = concept.code
    result.display = concept.display
    result.definition = concept.definition
    result.abstract = concept.not_selectable
    result.inactive = concept.inactive
    result.designations = list(concept.designations)
    result.properties = [("parent", p) for p in concept.parents]
    result.properties += [("child", c) for c in concept.children]
    result.properties += [(name, value) for name, value in concept.properties]
    if not any(name == "inactive" for name, _ in result.properties):
        result.properties.append(("inactive", concept.inactive))
    result.properties.sort(key=lambda prop: prop[0])  # by property code, as terminology servers list them
    return result
