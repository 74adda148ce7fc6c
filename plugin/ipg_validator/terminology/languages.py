"""Display languages: which displays of a concept are valid for the languages asked for, and how
a wrong display is reported (tx.fhir.org's wording).

The languages come from `displayLanguage` or the request's Accept-Language (a list such as
`de,it;q=0.5`), else from the value set validated against (`value_set_language`); with none,
every display of the concept is valid and messages say `'--'`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .codesystem import CodeSystemIndex, Concept
from .results import INFORMATION, Issue


@dataclass(frozen=True)
class Display:
    """One display of a concept and its language (None when neither concept nor code system says)."""

    value: str
    language: str | None


def requested(header: str | None) -> list[str]:
    """The language tags of a displayLanguage / Accept-Language value, in order, without q-values."""
    tags = []
    for part in (header or "").split(","):
        tag = part.split(";")[0].strip()
        if tag and tag != "*":
            tags.append(tag)
    return tags


EXPANSION_PARAMETER = "http://hl7.org/fhir/StructureDefinition/valueset-expansion-parameter"


def value_set_language(vs: Mapping[str, Any] | None) -> str | None:
    """The display language a value set asks for: its compose `displayLanguage` expansion parameter,
    else its own `language`; used when the request names none."""
    if not vs:
        return None
    for ext in (vs.get("compose") or {}).get("extension") or ():
        if not isinstance(ext, Mapping) or ext.get("url") != EXPANSION_PARAMETER:
            continue
        parts = {e.get("url"): e for e in ext.get("extension") or () if isinstance(e, Mapping)}
        if (parts.get("name") or {}).get("valueCode") == "displayLanguage":
            value = parts.get("value") or {}
            found = next((v for k, v in value.items() if k.startswith("value") and isinstance(v, str)), None)
            if found:
                return found
    language = vs.get("language")
    return language if isinstance(language, str) and language else None


def displays(cs: CodeSystemIndex, concept: Concept) -> list[Display]:
    """The concept's display (in the code system's language) and its designations that have a value."""
    out = [Display(concept.display, cs.resource.get("language"))] if concept.display else []
    for d in concept.designations:
        value = d.get("value")
        if d.get("use") and not d.get("language"):
            continue  # a designation of some other use (e.g. a historical name), in no language: not a display
        if value and not any(x.value == value and x.language == d.get("language") for x in out):
            out.append(Display(value, d.get("language")))
    return out


def _matches(language: str | None, tags: Sequence[str]) -> bool:
    if language is None:
        return False
    lang = language.lower()
    return any(lang == t.lower() or lang.startswith(t.lower() + "-") or t.lower().startswith(lang + "-") for t in tags)


def preferred(cs: CodeSystemIndex, concept: Concept, tags: Sequence[str]) -> str | None:
    """The display to answer with: the first in a requested language, else the concept's own."""
    for tag in tags:
        for d in displays(cs, concept):
            if _matches(d.language, [tag]):
                return d.value
    return concept.display


def _label(header: str | None) -> str:
    return header.strip() if header and header.strip() else "--"


def _choices(valid: Sequence[Display]) -> str:
    def one(d: Display) -> str:
        return f"'{d.value}' ({d.language})" if d.language else f"'{d.value}'"
    if len(valid) == 1:
        return f"Valid display is {one(valid[0])}"
    listed = ", ".join(one(d) for d in valid[:-1]) + f" or {one(valid[-1])}"
    return f"Valid display is one of {len(valid)} choices: {listed}"


def check_display(cs: CodeSystemIndex, concept: Concept, given: str, header: str | None, severity: str,
                  where: str, spacing_ok: bool = False) -> Issue | None:
    """The issue for a display that is not valid for the requested languages, or None when it is.

    `spacing_ok`: a difference in whitespace alone is no issue (NHS classifications)."""
    if spacing_ok:
        given = " ".join(given.split())
    tags = requested(header)
    every = displays(cs, concept)
    valid = [d for d in every if _matches(d.language, tags)] if tags else every
    coded = f"{cs.url}#{concept.code}"
    label = _label(header)
    if any(_same(" ".join(d.value.split()) if spacing_ok else d.value, given) for d in valid):
        return None
    if tags and not valid:
        default = concept.display or (every[0].value if every else "")
        if any(_same(d.value, given) for d in every):
            text = (f"There are no valid display names found for the code {coded} for language(s) '{label}'. "
                    f"The display is '{given}' which is a valid display for the default language")
            return Issue(INFORMATION, "invalid", "invalid-display", text, (where,), "NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_OK", in_message=True)
        text = (f"Wrong Display Name '{given}' for {coded}. There are no valid display names found for language(s) "
                f"'{label}'. Default display is '{default}'")
        return Issue(severity, "invalid", "invalid-display", text, (where,), "NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_ERR")
    if any(" ".join(d.value.split()) == " ".join(given.split()) for d in valid):
        text = f"Wrong whitespace in Display Name '{given}' for {coded}. {_choices(valid)} (for the language(s) '{label}')"
        return Issue(severity, "invalid", "invalid-display", text, (where,), "Display_Name_WS_for__should_be_one_of__instead_of")
    text = f"Wrong Display Name '{given}' for {coded}. {_choices(valid)} (for the language(s) '{label}')"
    return Issue(severity, "invalid", "invalid-display", text, (where,), "Display_Name_for__should_be_one_of__instead_of")


def _same(a: str, b: str) -> bool:
    """Equal ignoring case (whitespace counts: a whitespace-only difference is reported on its own)."""
    return a.casefold() == b.casefold()


__all__ = ["Display", "check_display", "displays", "preferred", "requested", "value_set_language"]
