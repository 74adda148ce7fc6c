"""The display and designations of expansion items in the languages a request asks for.

With display languages (`displayLanguage`, Accept-Language, or the value set's own), each item shows
the first display in a wanted language: the code system's own display when the code system is in that
language, else a designation in it (preferredForLanguage first, then one of no use). A designation
that becomes the display leaves the designations, and the code system's display takes its place,
marked `preferredForLanguage` (tx.fhir.org's expansions). When no wanted language has a display, the
code system's display stays, unless the list refuses every other language (`de,*;q=0`): then the item
has no display (a code system in no known language keeps it). Designations are answered only when
`includeDesignations` is true or `designation` parameters name the languages or uses wanted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .languages import excludes_others, matches_language, requested
from .messages import LANGUAGE_SYSTEM, PREFERRED_FOR_LANGUAGE
from ..core.results import ExpansionItem

Designation = Mapping[str, Any]


@dataclass(frozen=True)
class DesignationOptions:
    """What a request asks for: display languages (as given), includeDesignations, `designation` tokens."""

    languages: str | None = None
    include: bool = False
    wanted: tuple[str, ...] = ()  # `system|code` of a use, or `urn:ietf:bcp:47|<language>`

    @property
    def shown(self) -> bool:
        """Whether `contains` items carry designations."""
        return self.include or bool(self.wanted)


def localise(items: Iterable[ExpansionItem], languages: Mapping[tuple[str, str | None], str | None],
             options: DesignationOptions) -> list[ExpansionItem]:
    """Each item with its display and designations for `options`; `languages` maps (system, version)
    to the code system's language."""
    tags = requested(options.languages)
    strict = excludes_others(options.languages)
    out = []
    for item in items:
        if not tags and not strict and not options.shown:
            out.append(replace(item, designations=()) if item.designations else item)
            continue
        display, designations = _choose(item, languages.get((item.system, item.version)), tags, strict)
        designations = [d for d in designations if _wanted(d, options.wanted)] if options.shown else []
        out.append(replace(item, display=display, designations=tuple(designations)))
    return out


def _choose(item: ExpansionItem, cs_language: str | None, tags: list[str], strict: bool) -> tuple[str | None, list[Designation]]:
    """The item's display and designations (sorted by language) for the wanted `tags`."""
    own = [_plain(d) for d in item.designations if isinstance(d, Mapping) and d.get("value")]
    found = _first(item, cs_language, own, tags)
    if found is None and (not strict or _own_language(cs_language, tags)):
        return item.display, _by_language(own)
    if found is not None:
        own = [d for d in own if d is not found]
    if item.display:
        marked = {"language": cs_language, "use": dict(PREFERRED_FOR_LANGUAGE), "value": item.display}
        own.insert(0, {k: v for k, v in marked.items() if v is not None})
    return (found["value"] if found is not None else None), _by_language(own)


def _by_language(designations: Sequence[Designation]) -> list[Designation]:
    return sorted(designations, key=lambda d: str(d.get("language") or ""))


def _own_language(cs_language: str | None, tags: list[str]) -> bool:
    """Whether the code system's display is in a wanted language (one in no known language counts, as in
    $validate-code)."""
    return cs_language is None or any(matches_language(cs_language, [tag]) for tag in tags)


def _first(item: ExpansionItem, cs_language: str | None, own: Sequence[Designation], tags: list[str]) -> Designation | None:
    """The designation to show instead of the display, or None (the display is in a wanted language,
    or nothing is)."""
    for tag in tags:
        if item.display and matches_language(cs_language, [tag]):
            return None
        plain = sorted(own, key=_rank)
        exact = next((d for d in plain if str(d.get("language") or "").lower() == tag.lower()), None)
        near = exact or next((d for d in plain if matches_language(d.get("language"), [tag])), None)
        if near is not None:
            return near
    return None


def _rank(d: Designation) -> int:
    """Which designation shows first in its language: preferredForLanguage, then one of no use, then the rest."""
    use = d.get("use")
    if isinstance(use, Mapping) and use.get("code") == PREFERRED_FOR_LANGUAGE["code"] and use.get("system") == PREFERRED_FOR_LANGUAGE["system"]:
        return 0
    return 1 if not use else 2


def _plain(d: Designation) -> dict[str, Any]:
    """An R4 designation: language, use and value (R5's additionalUse has no R4 place)."""
    return {k: d[k] for k in ("language", "use", "value") if d.get(k) is not None}


def _wanted(d: Designation, wanted: tuple[str, ...]) -> bool:
    if not wanted:
        return True
    for token in wanted:
        system, _, code = token.rpartition("|")
        if system in ("", LANGUAGE_SYSTEM):
            if str(d.get("language") or "").lower() == code.lower():  # `de` asks for German, not Swiss German
                return True
        elif isinstance(d.get("use"), Mapping) and d["use"].get("system") == system and d["use"].get("code") == code:
            return True
    return False


__all__ = ["DesignationOptions", "localise"]
