"""Composable terminology sources behind one interface, as in HAPI's validation support chain.

The loaded content (fragments or full releases) and the resources a request supplies
(`tx-resource`, an inline `valueSet`) are each a source; a chain asks them in order.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from ..content.codesystem import CodeSystemIndex, index_code_system
from .memo import Memo
from .versions import is_pattern, pick

Resource = Mapping[str, Any]
T = TypeVar("T")
MEMO_LIMIT = 50_000  # answers a memo keeps; past it the oldest go, so hostile input cannot grow it


class TerminologySource(Protocol):
    """Anything that can find code systems and value sets by canonical URL."""

    @property
    def code_systems(self) -> Mapping[str, Sequence[CodeSystemIndex]]: ...  # url -> versions, for version messages

    def code_system(self, url: str, version: str | None = None) -> CodeSystemIndex | None: ...

    def value_set(self, url: str, version: str | None = None) -> Resource | None: ...

    def canonical_system(self, url: str) -> str: ...


class RequestResources:
    """CodeSystems and ValueSets supplied with one request; used for that request only."""

    def __init__(self, resources: Iterable[Resource]) -> None:
        self.code_systems: dict[str, list[CodeSystemIndex]] = {}
        self._value_sets: dict[str, list[Resource]] = {}
        for resource in resources:
            url = resource.get("url")
            if not isinstance(url, str):
                continue
            if resource.get("resourceType") == "CodeSystem":
                self.code_systems.setdefault(url, []).append(index_code_system(resource))
            elif resource.get("resourceType") == "ValueSet":
                self._value_sets.setdefault(url, []).append(resource)

    def code_system(self, url: str, version: str | None = None) -> CodeSystemIndex | None:
        return pick(self.code_systems.get(url, []), version, lambda cs: cs.version)

    def value_set(self, url: str, version: str | None = None) -> Resource | None:
        return pick(self._value_sets.get(url, []), version, lambda vs: vs.get("version"))

    def canonical_system(self, url: str) -> str:
        return url


class SourceChain:
    """Asks each source in turn; the first that knows the URL answers."""

    def __init__(self, sources: Sequence[TerminologySource]) -> None:
        self.sources = tuple(sources)
        self._memo: Memo[tuple[str, int, Hashable], tuple[Resource, Any]] = Memo(MEMO_LIMIT)

    def remembered(self, kind: str, resource: Resource, key: Hashable, work: Callable[[], T]) -> T:
        """`work()` about `resource` (a value set of this chain), worked out once per chain: the sources
        do not change while the chain lives. `work` must answer something immutable."""
        full = (kind, id(resource), key)
        hit = self._memo.get(full)
        if hit is not None and hit[0] is resource:  # the same object, not a new one at a reused id
            return hit[1]  # type: ignore[no-any-return]
        value = work()
        self._memo[full] = (resource, value)
        return value

    def code_system(self, url: str, version: str | None = None) -> CodeSystemIndex | None:
        """The release of `url` in `version` (a wildcard picks the newest that fits), else the newest."""
        if is_pattern(version):
            for source in self.sources:
                found = pick(list(source.code_systems.get(url, ())), version, lambda cs: cs.version)
                if found is not None:
                    return found
            return None
        return next((cs for s in self.sources if (cs := s.code_system(url, version)) is not None), None)

    def value_set(self, url: str, version: str | None = None) -> Resource | None:
        return next((vs for s in self.sources if (vs := s.value_set(url, version)) is not None), None)

    def canonical_system(self, url: str) -> str:
        for source in self.sources:
            canonical = source.canonical_system(url)
            if canonical != url:
                return canonical
        return url

    def versions_of(self, url: str) -> list[str]:
        """Every version of a code system known to any source (for version-mismatch messages)."""
        found: list[str] = []
        for source in self.sources:
            found += [cs.version for cs in source.code_systems.get(url, ()) if cs.version and cs.version not in found]
        return found


def mapping_key(mapping: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """A request setting given as a mapping (e.g. default-valueset-version: url -> version), as part of a
    `remembered` key, so answers that depend on it are kept apart."""
    return tuple(sorted(mapping.items()))


def split_canonical(reference: str) -> tuple[str, str | None]:
    """`url|version` -> (url, version)."""
    url, _, version = reference.partition("|")
    return url, version or None
