"""ValueSet compose filters (is-a, descendent-of, =, in, regex, exists, ...) on one code system.

Regular expressions run on RE2, a linear-time engine, so a request-supplied pattern cannot
stall the server with catastrophic backtracking.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import re2

from ..content.codesystem import CodeSystemIndex, Concept
from .formats import format_for

HIERARCHY_OPS = frozenset({"is-a", "descendent-of", "is-not-a", "child-of", "generalizes", "descendant-of"})
SUPPORTED_OPS = HIERARCHY_OPS | {"=", "in", "not-in", "regex", "exists", "descendent-leaf"}
CODE_PROPERTIES = frozenset({"concept", "code"})
# R4 has no child-of or descendent-leaf: an R4 ValueSet carries them in this extension on `_op`
R5_FILTER_OP = "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.compose.include.filter.op"


def filter_op(flt: Mapping[str, Any]) -> str:
    """A compose filter's operator: `op`, else the R5 operator an R4 client put in `_op`'s extension."""
    op = flt.get("op")
    if isinstance(op, str) and op:
        return op
    extra = flt.get("_op")
    for ext in (extra.get("extension") or ()) if isinstance(extra, Mapping) else ():
        if isinstance(ext, Mapping) and ext.get("url") == R5_FILTER_OP and isinstance(ext.get("valueCode"), str):
            return str(ext["valueCode"])
    return ""


class FilterError(ValueError):
    """A filter this server cannot evaluate (unknown operator, bad regex)."""


def concept_matches(cs: CodeSystemIndex, concept: Concept, flt: Mapping[str, Any]) -> bool:
    """Whether a concept of `cs` passes one compose filter."""
    prop, op, value = flt.get("property", ""), filter_op(flt), str(flt.get("value", ""))
    code = concept.code
    if op in HIERARCHY_OPS and prop in CODE_PROPERTIES:
        return _hierarchy(cs, code, op, value)
    if op == "descendent-leaf" and prop in CODE_PROPERTIES:
        return not concept.children and value in cs.ancestors(code)
    values = _values(cs, concept, prop)
    if op == "=":
        return value in values
    if op == "in":
        return bool(set(values) & {v.strip() for v in value.split(",")})
    if op == "not-in":
        return not set(values) & {v.strip() for v in value.split(",")}
    if op == "exists":
        return bool(values) == (value.lower() == "true")
    if op == "regex":
        pattern = compile_regex(value)
        return any(pattern.fullmatch(v) for v in values)
    raise FilterError(f"The filter operation '{op}' on property '{prop}' is not supported")


def structural_match(system: str, code: str, flt: Mapping[str, Any]) -> bool | None:
    """Evaluate a filter on a code absent from a fragment from the code string alone.

    Filters on the code itself (`=`, `in`, `regex`) need nothing else; hierarchy filters use
    the shape of NHS codes (`Y89.5` is under `Y89`). None when the code string cannot tell.
    """
    prop, op, value = flt.get("property", ""), filter_op(flt), str(flt.get("value", ""))
    if prop not in CODE_PROPERTIES:
        return None
    if op in ("=", "in", "not-in", "regex"):
        return concept_matches(_NO_SYSTEM, Concept(code=code, display=None), flt)
    fmt = format_for(system)
    if fmt is None or op not in HIERARCHY_OPS - {"generalizes"}:
        return None
    ancestors: list[str] = []
    parent = fmt.structural_parent(code)
    while parent:
        ancestors.append(parent)
        parent = fmt.structural_parent(parent)
    if op == "child-of":
        return ancestors[:1] == [value]
    below = value in ancestors
    if op in ("descendent-of", "descendant-of"):
        return below
    return (below or code == value) != (op == "is-not-a")


def _hierarchy(cs: CodeSystemIndex, code: str, op: str, value: str) -> bool:
    if op == "child-of":
        return value in cs.concepts[code].parents
    if op == "generalizes":
        return code == value or code in cs.ancestors(value)
    below = value in cs.ancestors(code)
    if op in ("descendent-of", "descendant-of"):
        return below
    return (below or code == value) != (op == "is-not-a")


def _values(cs: CodeSystemIndex, concept: Concept, prop: str) -> list[str]:
    if prop in CODE_PROPERTIES:
        return [concept.code]
    if prop == "display":
        return [concept.display] if concept.display else []
    if prop == "parent":
        return list(concept.parents)
    if prop == "child":
        return list(concept.children)
    values = [_text(v) for name, v in concept.properties if name == prop]
    if not values and prop == "inactive":
        return ["true" if concept.inactive else "false"]
    return values


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return str(value.get("code", ""))
    return str(value)


_NO_SYSTEM = CodeSystemIndex(resource={}, concepts={}, roots=())
_REGEX_CACHE: dict[str, Any] = {}
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


def compile_regex(pattern: str) -> Any:
    """Compile with RE2 (linear time); an unsupported or broken pattern is a FilterError."""
    compiled = _REGEX_CACHE.get(pattern)
    if compiled is None:
        try:
            compiled = re2.compile(pattern, _RE2_OPTIONS)
        except re2.error as exc:
            raise FilterError(f"The regex '{pattern}' is not valid or not supported: {exc}") from None
        if len(_REGEX_CACHE) < 256:
            _REGEX_CACHE[pattern] = compiled
    return compiled
