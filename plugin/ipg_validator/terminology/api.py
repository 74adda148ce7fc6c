"""A small facade over the engine for Python callers: one object, plain arguments, plain results."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..content.index import ContentIndex
from .expand import expand
from .lookup import lookup
from ..core.results import Coding, Expansion, LookupResult, ValidationResult
from .sources import SourceChain, split_canonical
from .validate import ValidateOptions, validate_code


class Terminology:
    """validate-code, expand and lookup over a loaded ContentIndex."""

    def __init__(self, index: ContentIndex) -> None:
        self.index = index
        self.sources = SourceChain([index])

    def value_set(self, url: str) -> Mapping[str, Any]:
        """The value set at `url` (`url|version` allowed); KeyError when it is not loaded."""
        vs = self.sources.value_set(*split_canonical(url))
        if vs is None:
            raise KeyError(f"value set {url!r} is not loaded")
        return vs

    def validate_code(
        self, value_set: str | None, system: str | None, code: str, display: str | None = None,
        *, version: str | None = None, options: ValidateOptions = ValidateOptions(),
    ) -> ValidationResult:
        """Validate one code of `system`, against `value_set` when given (else against the code system)."""
        vs = self.value_set(value_set) if value_set else None
        return validate_code(self.sources, [Coding(system, code, version, display)], value_set=vs, options=options)

    def expand(self, value_set: str, *, text: str | None = None, offset: int = 0, count: int | None = None) -> Expansion:
        """The codes of a value set, optionally filtered and paged."""
        return expand(self.sources, self.value_set(value_set), text=text, offset=offset, count=count)

    def lookup(self, system: str, code: str, version: str | None = None) -> LookupResult:
        """What a code is: display, hierarchy, properties."""
        return lookup(self.sources, system, code, version)
