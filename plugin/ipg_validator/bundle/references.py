"""Resolve references between the entries of a Bundle: urn:uuid fullUrls, `Type/id`, absolute URLs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_UNKNOWN = object()


class References:
    """Finds the entry a reference points at, inside one Bundle."""

    def __init__(self, entries: Sequence[tuple[int, Mapping[str, Any], str | None]]) -> None:
        self._by_url: dict[str, int] = {}
        self._by_type_id: dict[str, int] = {}
        self._known: dict[str, int | None] = {}
        for index, resource, full_url in entries:
            if full_url:
                self._by_url.setdefault(full_url, index)
            kind, rid = resource.get("resourceType"), resource.get("id")
            if isinstance(kind, str) and isinstance(rid, str):
                self._by_type_id.setdefault(f"{kind}/{rid}", index)

    def resolve(self, reference: Any) -> int | None:
        """The entry index of a Reference (or reference string), or None when it points outside the Bundle."""
        ref = reference.get("reference") if isinstance(reference, dict) else reference
        if not isinstance(ref, str):
            return None
        found = self._known.get(ref, _UNKNOWN)
        if found is _UNKNOWN:  # entries mostly point at the same Patient and Encounter: each text is resolved once
            found = self._known[ref] = self._find(ref)
        return found  # type: ignore[return-value]

    def _find(self, ref: str) -> int | None:
        if not ref or ref.startswith("#"):
            return None
        if ref in self._by_url:
            return self._by_url[ref]
        if "://" in ref or ref.startswith("urn:"):
            return None  # an absolute reference resolves only to the entry with that fullUrl
        return self._by_type_id.get(ref.split("/_history/")[0].rstrip("/"))


def reference_text(reference: Any) -> str | None:
    """The reference string of a Reference, for messages."""
    ref = reference.get("reference") if isinstance(reference, dict) else None
    return ref if isinstance(ref, str) and ref else None
