"""What the FHIR R4 XML form of each element is, read from the fhir.resources R4B model definitions.

XML and JSON carry the same FHIR content; to turn one into the other a reader needs, per element
name of each type: whether it repeats (a JSON array), whether it is a primitive (a `value`
attribute, and which JSON type: boolean, number or string), a resource (wrapped in an element of
its type), XHTML (the narrative `div`), or a complex type (and which), and the order elements
come in. The models hold all of that; this module only asks them, once per type.

Elements R4 does not define but R5 does (R5 content sent to an R4 server: an expansion's
`property`, a CodeSystem's newer elements) take their form from the R5 models, after the R4B
ones, so they too read back as the JSON that was sent; the structure check still names them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from fhir.resources import get_fhir_model_class as r5_model_class
from fhir.resources.R4B import get_fhir_model_class
from fhir_core.utils import determine_version_prefix_from_class, get_fhir_type_name, is_list_type, is_primitive_type

BOOLEAN = "boolean"
INTEGER = "integer"
DECIMAL = "decimal"
STRING = "string"
XHTML = "xhtml"
RESOURCE = "resource"
COMPLEX = "complex"
_INTEGERS = frozenset({"integer", "positiveInt", "unsignedInt", "integer64"})


@dataclass(frozen=True)
class Element:
    """One element of a type: its JSON kind, whether it repeats, and (complex kinds) its type name."""

    repeats: bool
    kind: str
    type: str | None = None
    primitive: bool = field(init=False)  # a value attribute in XML (XHTML: the narrative div)

    def __post_init__(self) -> None:
        object.__setattr__(self, "primitive", self.kind in (BOOLEAN, INTEGER, DECIMAL, STRING, XHTML))


@dataclass(frozen=True)
class Shape:
    """The elements of one type, by name, in the order FHIR XML writes them (R4B's; R5's asked only when R4B lacks one)."""

    name: str
    elements: dict[str, Element]
    order: tuple[str, ...]

    def get(self, name: str) -> Element | None:
        found = self.elements.get(name)
        if found is None:
            later = _r5_elements(self.name)
            return later.get(name) if later is not None else None
        return found


@lru_cache(maxsize=None)
def shape(type_name: str) -> Shape | None:
    """The shape of a resource, data type or backbone element (R4B model name, else R5), or None if there is no model."""
    elements = _elements(get_fhir_model_class, type_name)
    if elements is None:
        elements = _r5_elements(type_name)
    return Shape(type_name, elements, tuple(elements)) if elements is not None else None


@lru_cache(maxsize=None)
def _r5_elements(type_name: str) -> dict[str, Element] | None:
    return _elements(r5_model_class, type_name)


def _elements(model_class: Any, type_name: str) -> dict[str, Element] | None:
    try:
        cls = model_class(type_name)
    except (KeyError, ValueError, AttributeError, ImportError):
        return None
    prefix = determine_version_prefix_from_class(cls)
    aliases = cls.get_alias_mapping()
    elements: dict[str, Element] = {}
    for name in cls.elements_sequence():
        field = cls.model_fields[aliases[name]]
        try:
            fhir_type = get_fhir_type_name(field, prefix=prefix)
        except ValueError:
            continue
        repeats = is_list_type(field)
        if is_primitive_type(field):
            elements[name] = Element(repeats, _primitive_kind(fhir_type))
        elif fhir_type == "Resource":
            elements[name] = Element(repeats, RESOURCE)
        else:
            elements[name] = Element(repeats, COMPLEX, fhir_type)
    return elements


def _primitive_kind(fhir_type: str) -> str:
    if fhir_type == "boolean":
        return BOOLEAN
    if fhir_type in _INTEGERS:
        return INTEGER
    if fhir_type == "decimal":
        return DECIMAL
    if fhir_type == "xhtml":
        return XHTML
    return STRING

