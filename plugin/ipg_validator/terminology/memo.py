"""A bounded memo: once full, the oldest answer goes first, so no input can grow it.

A dict (reads are plain dict reads, the hot path of every validation); writes take a lock, so threads that
answer requests can share it. Oldest-first rather than least-recently-used: an answer still in use that goes
is worked out once more, which costs less than keeping an order on every read."""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(dict[K, V]):
    """At most `limit` answers, oldest first out."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a memo keeps at least one answer")
        super().__init__()
        self.limit = limit
        self._lock = threading.Lock()

    def __setitem__(self, key: K, value: V) -> None:
        with self._lock:
            super().__setitem__(key, value)
            while len(self) > self.limit:
                del self[next(iter(self))]
