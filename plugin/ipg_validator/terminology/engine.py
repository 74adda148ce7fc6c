"""One Engine per loaded index: the source chains and the bounded memos every request over it shares.

The content never changes once loaded, so what is worked out about it stays true for the index's life; every
memo is bounded (terminology.memo), so no client can grow it. What a request brings of its own (tx-resource, an
inline valueSet, version parameters) is worked out in a chain of that request alone, never in these."""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from weakref import WeakKeyDictionary

from ..content.index import ContentIndex
from ..content.paths import fhir_core_resources
from .memo import Memo
from .sources import MEMO_LIMIT, RequestResources, SourceChain


class Engine:
    """The terminology operations' chain (the content, then FHIR core), Bundle validation's chain (the content
    alone), and named memos for what callers derive from them."""

    def __init__(self, index: ContentIndex) -> None:
        self.index = index
        self.sources = SourceChain([index, fhir_core()])
        self.content_sources = SourceChain([index])
        self._memos: dict[str, Memo[Any, Any]] = {}

    def memo(self, name: str, limit: int = MEMO_LIMIT) -> Memo[Any, Any]:
        """The memo called `name` (made on first use)."""
        found = self._memos.get(name)
        if found is None:
            found = self._memos.setdefault(name, Memo(limit))
        return found


_ENGINES: WeakKeyDictionary[ContentIndex, Engine] = WeakKeyDictionary()


def engine_for(index: ContentIndex) -> Engine:
    """The index's Engine, made once for the index's life."""
    found = _ENGINES.get(index)
    if found is None:
        found = _ENGINES.setdefault(index, Engine(index))
    return found


@lru_cache(maxsize=1)
def fhir_core() -> RequestResources:
    """FHIR core code systems (administrative-gender, ...), behind the server's own content: read and indexed
    once per process (never changed afterwards), not on every request."""
    return RequestResources(fhir_core_resources())
