"""Concept properties asked for by $expand's `property` parameter: their declarations and values per code."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from . import messages
from ..content.codesystem import CodeSystemIndex, objects, text
from ..core.results import ExpansionItem, PropertyDef

DEFINITION = "definition"
DEFINITION_DEF = PropertyDef(DEFINITION, messages.DEFINITION_PROPERTY_URI, "string")


def declared_properties(systems: Iterable[CodeSystemIndex], wanted: Sequence[str]) -> list[PropertyDef]:
    """The requested properties, in request order, that the code systems declare (`definition` always)."""
    found: dict[str, PropertyDef] = {}
    declarations = [p for cs in systems for p in objects(cs.resource.get("property"))]
    for code in wanted:
        if code in found:
            continue
        if code == DEFINITION:
            found[code] = DEFINITION_DEF
            continue
        decl = next((p for p in declarations if p.get("code") == code), None)
        if decl is not None:
            found[code] = PropertyDef(code, text(decl.get("uri")), text(decl.get("type")) or "string")
    return list(found.values())


def property_values(item: ExpansionItem, defs: Sequence[PropertyDef]) -> list[tuple[PropertyDef, Any]]:
    """The values `item` has for each declared property, in declaration order."""
    out: list[tuple[PropertyDef, Any]] = []
    for d in defs:
        if d.code == DEFINITION:
            if item.definition:
                out.append((d, item.definition))
            continue
        out += [(d, value) for name, value in item.properties if name == d.code and value is not None]
    return out


def value_key(type_: str) -> str:
    """The JSON key of a property value of FHIR type `type_` (`code` -> valueCode)."""
    return "value" + type_[:1].upper() + type_[1:]


EXTENSION_DEFS = tuple(PropertyDef(code, uri, kind) for code, uri, kind in messages.CONCEPT_EXTENSION_PROPERTIES.values())


def with_concept_extensions(items: Sequence[ExpansionItem], systems: Mapping[str, CodeSystemIndex]) -> list[ExpansionItem]:
    """`items` with their concept's label/order/weight extensions as properties, a deprecated standards status
    as the `status` property, and the concept's rendering extensions to echo (`systems`: the used releases)."""
    out = []
    for item in items:
        cs = systems.get(f"{item.system}|{item.version}" if item.version else item.system)
        concept = cs.get(item.code) if cs is not None else None
        if concept is None or not (concept.extensions or concept.standards_status):
            out.append(item)
            continue
        props = [(messages.CONCEPT_EXTENSION_PROPERTIES[e["url"]][0], _extension_value(e)) for e in concept.extensions
                 if e.get("url") in messages.CONCEPT_EXTENSION_PROPERTIES]
        if concept.standards_status == "deprecated" and not any(name == "status" for name, _ in item.properties):
            props.append(("status", "deprecated"))
        shown = [e for e in concept.extensions if e.get("url") in messages.RENDERING_EXTENSIONS]
        out.append(replace(item, properties=(*item.properties, *props), extensions=(*item.extensions, *shown)))
    return out


def extension_properties(items: Iterable[ExpansionItem]) -> list[PropertyDef]:
    """The declarations of the concept-extension properties the items carry, in their fixed order."""
    codes = {name for item in items for name, _ in item.properties}
    return [d for d in EXTENSION_DEFS if d.code in codes]


def _extension_value(ext: Mapping[str, Any]) -> Any:
    return next((v for k, v in ext.items() if k.startswith("value")), None)
