"""Several releases of one code system in one value set: include order, merging and version-scoped excludes.

A value set may include (and exclude) codes of several releases of a system. Its compose
`versionsMatch` expansion parameter says whether a code is the same code in every release:
true merges the releases (one entry per code) and lets an exclude of one release remove the
code from every release; false keeps one entry per release and scopes each exclude to its own
release. Unset, releases stay apart, and an exclude reaches every release unless it pins one release
and lists concepts or filters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from .languages import expansion_parameter
from ..core.results import ExpansionItem
from .versions import newest

Resource = Mapping[str, Any]
VERSIONS_MATCH = "versionsMatch"


def versions_match(vs: Resource) -> bool | None:
    """The value set's `versionsMatch` expansion parameter: True, False, or None when unset."""
    value = expansion_parameter(vs, VERSIONS_MATCH)
    return None if value is None else str(value).lower() == "true"


def newest_release_first(includes: Sequence[Resource]) -> list[Resource]:
    """The includes in their order, except that those pinning releases of one system take their slots newest first."""
    out = list(includes)
    pinned: dict[str, list[int]] = {}
    for n, inc in enumerate(out):
        if inc.get("system") and inc.get("version"):
            pinned.setdefault(inc["system"], []).append(n)
    for slots in pinned.values():
        if len(slots) < 2:
            continue
        rest = [out[n] for n in slots]
        ordered = []
        while rest:
            best = newest(rest, lambda inc: inc.get("version"))
            assert best is not None  # rest is not empty
            ordered.append(best)
            rest.remove(best)
        for n, inc in zip(slots, ordered):
            out[n] = inc
    return out


def merged(kept: ExpansionItem, other: ExpansionItem) -> ExpansionItem:
    """One entry for a code held by two releases: the first entry, naming the newer of the two releases."""
    later = newest([kept, other], lambda i: i.version)
    return kept if later is kept or later is None else replace(kept, version=later.version)


def excludes_every_release(exclude: Resource, match: bool | None) -> bool:
    """Whether an exclude takes its codes out of every release, not only its own: with versionsMatch,
    and (unset) when it names no release or takes out a whole one (no concepts, filters or value sets)."""
    if match is not None:
        return match
    return not exclude.get("version") or not any(exclude.get(k) for k in ("concept", "filter", "valueSet"))


def mixed_systems(releases: Sequence[tuple[str, str | None]]) -> set[str]:
    """The systems of which more than one release is used, from (url, version) pairs."""
    seen: dict[str, set[str | None]] = {}
    for url, version in releases:
        seen.setdefault(url, set()).add(version)
    return {url for url, versions in seen.items() if len(versions) > 1}
