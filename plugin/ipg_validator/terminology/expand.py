"""$expand: the codes of a value set, filtered by text and paged."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from . import messages
from .compose import Compose
from .designations import DesignationOptions, localise
from .hierarchy import nest
from .properties import declared_properties, extension_properties, with_concept_extensions
from .languages import echo_form
from ..core.results import Expansion, ExpansionItem
from .sources import SourceChain
from .status import statuses, value_set_chain
from .versions import VersionRules

DEFAULT_MAX_ITEMS = 10_000


def expand(
    sources: SourceChain,
    vs: Mapping[str, Any],
    *,
    text: str | None = None,
    offset: int = 0,
    count: int | None = None,
    active_only: bool = False,
    max_items: int = DEFAULT_MAX_ITEMS,
    nested: bool = False,
    rules: VersionRules | None = None,
    properties: Sequence[str] = (),
    designations: DesignationOptions = DesignationOptions(),
) -> Expansion:
    """Expand `vs`; raises ComposeError when it cannot be evaluated or exceeds `max_items`.

    `nested` (a request that neither excludes nesting nor pages) places each code under its
    parent in the code system when both are in the expansion; the total still counts every code.
    A paged request, or one whose codes do not fit in one page, is answered flat.
    `properties` (the `property` parameter) names the concept properties the answer declares and carries.
    `designations`: the display languages and designations asked for (see `designations.localise`).
    """
    compose = Compose(sources, rules=rules or VersionRules(), max_items=max_items)
    items = compose.expand(vs)
    languages = {(cs.url, cs.version): cs.language for cs in compose.used_systems.values()}
    items = localise(with_concept_extensions(items, compose.used_systems), languages, designations)
    if active_only:
        items = [i for i in items if not i.inactive]
    if text:
        # a text search over a whole code system is answered flat; a filtered include keeps its hierarchy
        items = [replace(i, walk="") if i.walk == "all" else i for i in items if matches_text(i, text)]
    if nested and offset == 0 and (count is None or len(items) <= count):
        page = nest(items, compose.used_systems)
    else:
        page = items[offset: offset + count if count is not None else None]
    used = list(compose.used_systems)
    notes = [messages.fragment_expansion(cs) for cs in compose.used_systems.values() if cs.is_fragment]
    resources = [(v, "ValueSet") for v in value_set_chain(sources, vs, compose.rules.value_sets)]
    resources += [(cs.resource, "CodeSystem") for cs in compose.used_systems.values()]
    return Expansion(items=page, total=len(items), offset=offset, used_code_systems=used, issues=notes,
                     used_value_sets=list(compose.used_value_sets),
                     fragments=[key for key, cs in compose.used_systems.items() if cs.is_fragment],
                     statuses=[(status, ref) for status, _, ref in statuses(resources, vs)],
                     version_rules=list(compose.rules.used),
                     properties=extension_properties(items) + declared_properties(compose.used_systems.values(), properties),
                     display_language=echo_form(designations.languages) if designations.languages else None,
                     versions_match=compose.versions_matched)


def matches_text(item: ExpansionItem, text: str) -> bool:
    """Every word of `text` starts a word of the display, or the text starts the code."""
    needle = text.casefold().strip()
    if item.code.casefold().startswith(needle):
        return True
    words = (item.display or "").casefold().replace(":", " ").replace(",", " ").split()
    return all(any(w.startswith(part) for w in words) for part in needle.split())
