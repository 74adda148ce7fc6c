"""Display languages: which displays of a concept are valid for the languages asked for, and how
a wrong display is reported (tx.fhir.org's wording).

The languages come from `displayLanguage` or the request's Accept-Language (a list such as
`de,it;q=0.5`), else from the value set validated against (`value_set_language`); with none,
every display of the concept is valid and messages say `'--'`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..content.codesystem import NO_LONGER_CURRENT, CodeSystemIndex, Concept, standards_status
from .messages import display_no_longer_current
from ..core.results import INFORMATION, Issue


@dataclass(frozen=True)
class Display:
    """One display of a concept and its language (None when neither concept nor code system says)."""

    value: str
    language: str | None
    status: str | None = None  # the designation's standards status (deprecated, withdrawn), when it has one


@dataclass(frozen=True)
class Preference:
    """One entry of a displayLanguage / Accept-Language list: a language tag (or `*`) and its weight."""

    tag: str
    q: float = 1.0


LANGUAGE_TAG = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*|\*")


def _entries(value: str) -> list[tuple[str, float | None]]:
    """(tag, weight) for each entry of a language list; the weight is None when a parameter is not a q-value
    between 0 and 1."""
    out = []
    for part in value.split(","):
        tag, *params = [p.strip() for p in part.split(";")]
        q: float | None = 1.0
        for param in params:
            key, _, number = param.partition("=")
            try:
                q = float(number) if key.strip().lower() == "q" and 0 <= float(number) <= 1 else None
            except ValueError:
                q = None
        out.append((tag, q))
    return out


def preferences(value: str | None) -> list[Preference]:
    """The entries of a language list (`de,en;q=0.5,*;q=0`), most wanted first; unreadable weights count as 1."""
    found = [Preference(tag, 1.0 if q is None else q) for tag, q in _entries(value or "") if tag]
    return sorted(found, key=lambda p: -p.q)


def is_valid_list(value: str) -> bool:
    """Whether `value` is a list of BCP 47 tags (or `*`) with optional q-values between 0 and 1."""
    return all(LANGUAGE_TAG.fullmatch(tag) and q is not None for tag, q in _entries(value))


def echo_form(value: str) -> str:
    """A language list as expansions echo it: as given, or with `, ` and `; ` spacing when it has q-values."""
    parts = [[p.strip() for p in part.split(";")] for part in value.split(",")]
    if all(len(p) == 1 for p in parts):
        return value
    return ", ".join("; ".join(p) for p in parts)


def excludes_others(value: str | None) -> bool:
    """Whether the list refuses every language it does not name (`*;q=0`): no fallback display."""
    return any(p.tag == "*" and p.q <= 0 for p in preferences(value))


def requested(header: str | None) -> list[str]:
    """The language tags of a displayLanguage / Accept-Language value, most wanted first, without `*` or q=0."""
    return [p.tag for p in preferences(header) if p.tag != "*" and p.q > 0]


EXPANSION_PARAMETER = "http://hl7.org/fhir/StructureDefinition/valueset-expansion-parameter"


def value_set_language(vs: Mapping[str, Any] | None) -> str | None:
    """The display language a value set asks for: its compose `displayLanguage` expansion parameter,
    else its own `language`; used when the request names none."""
    if not vs:
        return None
    found = expansion_parameter(vs, "displayLanguage")
    if isinstance(found, str) and found:
        return found
    language = vs.get("language")
    return language if isinstance(language, str) and language else None


def expansion_parameter(vs: Mapping[str, Any], name: str) -> Any:
    """The value of the value set's compose `valueset-expansion-parameter` named `name`, or None."""
    for ext in (vs.get("compose") or {}).get("extension") or ():
        if not isinstance(ext, Mapping) or ext.get("url") != EXPANSION_PARAMETER:
            continue
        parts = {e.get("url"): e for e in ext.get("extension") or () if isinstance(e, Mapping)}
        if (parts.get("name") or {}).get("valueCode") == name:
            value = parts.get("value") or {}
            found = next((v for k, v in value.items() if k.startswith("value") and v not in (None, "")), None)
            if found is not None:
                return found
    return None


def displays(cs: CodeSystemIndex, concept: Concept) -> list[Display]:
    """The concept's display (in the code system's language) and its designations that have a value."""
    out = [Display(concept.display, cs.language)] if concept.display else []
    for d in concept.designations:
        value = d.get("value")
        if d.get("use") and not d.get("language"):
            continue  # a designation of some other use (e.g. a historical name), in no language: not a display
        if value and not any(x.value == value and x.language == d.get("language") for x in out):
            out.append(Display(value, d.get("language"), standards_status(d)))
    return out


def matches_language(language: object, tags: Sequence[str]) -> bool:
    """Whether `language` is one of `tags`, or a regional form of one (`de-CH` for `de`), or the reverse."""
    if not isinstance(language, str):  # none, or not a string (a malformed designation): no language
        return False
    lang = language.lower()
    return any(lang == t.lower() or lang.startswith(t.lower() + "-") or t.lower().startswith(lang + "-") for t in tags)


def preferred(cs: CodeSystemIndex, concept: Concept, tags: Sequence[str]) -> str | None:
    """The display to answer with: the first in a requested language, else the concept's own."""
    for tag in tags:
        for d in displays(cs, concept):
            if matches_language(d.language, [tag]):
                return d.value
    return concept.display


def _label(header: str | None) -> str:
    return header.strip() if header and header.strip() else "--"


def _for_languages(header: str | None, valid: Sequence[Display], nhs: bool) -> str:
    """tx.fhir.org's "(for the language(s) '...')" note, `--` when none was asked (the HL7 suites expect
    it so); left out for an NHS classification's title when no language was asked, where it is noise."""
    if nhs and not (header and header.strip()) and not any(d.language for d in valid):
        return ""
    return f" (for the language(s) '{_label(header)}')"


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
    # a display in no known language (neither concept nor code system says) is valid for any language
    valid = [d for d in every if d.language is None or matches_language(d.language, tags)] if tags else every
    coded = f"{cs.url}#{concept.code}"
    label = _label(header)
    hits = [d for d in valid if _same(" ".join(d.value.split()) if spacing_ok else d.value, given)]
    if hits and all(d.status in NO_LONGER_CURRENT for d in hits):
        current = [d.value for d in every if d.status not in NO_LONGER_CURRENT]
        return display_no_longer_current(given, concept.code, current, where)
    if hits:
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
        text = f"Wrong whitespace in Display Name '{given}' for {coded}. {_choices(valid)}{_for_languages(header, valid, spacing_ok)}"
        return Issue(severity, "invalid", "invalid-display", text, (where,), "Display_Name_WS_for__should_be_one_of__instead_of")
    text = f"Wrong Display Name '{given}' for {coded}. {_choices(valid)}{_for_languages(header, valid, spacing_ok)}"
    return Issue(severity, "invalid", "invalid-display", text, (where,), "Display_Name_for__should_be_one_of__instead_of")


def _same(a: str, b: str) -> bool:
    """Equal ignoring case (whitespace counts: a whitespace-only difference is reported on its own)."""
    return a.casefold() == b.casefold()


__all__ = ["Display", "Preference", "check_display", "displays", "echo_form", "excludes_others", "is_valid_list",
           "matches_language", "preferred", "preferences", "requested", "value_set_language"]
