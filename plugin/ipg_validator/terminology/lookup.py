"""$lookup: what a code of a code system is (display, properties, hierarchy)."""

from __future__ import annotations

from . import messages
from ..content.codesystem import objects
from .formats import Form, format_for, normalise
from .languages import preferred, requested
from ..core.results import LookupResult
from .sources import SourceChain


def lookup(sources: SourceChain, system: str, code: str, version: str | None = None, display_language: str | None = None) -> LookupResult:
    """Describe `code` of `system`; NHS formats are read and reported as validate-code does.

    `display_language` (displayLanguage, or Accept-Language) picks the display among the designations."""
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
    result.display = preferred(cs, concept, requested(display_language)) if display_language else concept.display
    result.definition = concept.definition
    result.abstract = concept.not_selectable
    result.inactive = concept.inactive
    result.designations = list(concept.designations)
    if concept.display:  # the display is a designation too: the preferred one in the code system's language
        language = cs.language
        result.designations.append({**({"language": language} if language else {}),
                                    "use": messages.PREFERRED_FOR_LANGUAGE, "value": concept.display})
    result.properties = [("parent", p) for p in concept.parents]
    result.properties += [("child", c) for c in concept.children]
    result.properties += [(name, value) for name, value in concept.properties]
    if not any(name == "inactive" for name, _ in result.properties):
        result.properties.append(("inactive", concept.inactive))
    result.properties.sort(key=lambda prop: prop[0])  # by property code, as terminology servers list them
    declared = objects(cs.resource.get("property"))
    result.property_types = {p["code"]: p["type"] for p in declared if isinstance(p.get("code"), str) and isinstance(p.get("type"), str)}
    return result
