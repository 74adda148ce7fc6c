"""Code system versions: wildcard matching, the newest release, and the request's version rules.

A request may steer which release of a code system is used: `force-system-version` replaces any
version, `system-version` fills in a missing one, and `check-system-version` both fills in a
missing one and rejects a release that does not match it. Values are canonicals `url|version`;
a version may hold wildcards (`1.0.x`, `1.*`). `default-valueset-version` does the same for
value set imports that name no version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from . import messages
from ..core.results import Issue
from ..core.versions import version_key

T = TypeVar("T")
WILDCARDS = ("x", "X", "*")
FORCE, DEFAULT, CHECK = "force-system-version", "system-version", "check-system-version"
VALUESET_DEFAULT = "default-valueset-version"


def is_pattern(version: str | None) -> bool:
    """Whether `version` holds a wildcard segment (`1.0.x`)."""
    return bool(version) and any(part in WILDCARDS for part in str(version).split("."))


def version_matches(pattern: str | None, version: str | None) -> bool:
    """Whether release `version` is `pattern`, or fits its wildcard segments (`1.0.x` fits `1.0.3`)."""
    if not pattern or not version:
        return False
    if pattern == version:
        return True
    wanted, have = pattern.split("."), version.split(".")
    if len(have) < len(wanted) or (len(have) > len(wanted) and wanted[-1] not in WILDCARDS):
        return False
    return all(w in WILDCARDS or w == h for w, h in zip(wanted, have))


def more_detailed(pattern: str | None, version: str | None) -> bool:
    """Whether `version` is a release that the wildcard `pattern` stands for (and not the pattern itself)."""
    return is_pattern(pattern) and not is_pattern(version) and version_matches(pattern, version)


def newest(items: Sequence[T], version_of: Callable[[T], str | None]) -> T | None:
    """The newest of `items` by `version_key`; of equal versions, the last one given."""
    best: T | None = None
    for item in items:
        if best is None or version_key(version_of(item)) >= version_key(version_of(best)):
            best = item
    return best


def pick(items: Sequence[T], version: str | None, version_of: Callable[[T], str | None]) -> T | None:
    """The item in `version` (exact, else the newest that fits a wildcard), or the newest without one."""
    if version is None:
        return newest(items, version_of)
    exact = [item for item in items if version_of(item) == version]
    if exact:
        return exact[-1]
    return newest([item for item in items if version_matches(version, version_of(item))], version_of)


@dataclass
class VersionRules:
    """The request's version parameters by system, and which of them decided a version."""

    force: dict[str, list[str]] = field(default_factory=dict)
    default: dict[str, list[str]] = field(default_factory=dict)
    check: dict[str, list[str]] = field(default_factory=dict)
    value_sets: dict[str, str] = field(default_factory=dict)  # default-valueset-version: url -> version
    used: list[tuple[str, str]] = field(default_factory=list)  # (parameter, canonical) that chose a version

    def key(self) -> tuple[tuple[tuple[str, tuple[str, ...]], ...], ...]:
        """The rules as part of a memo key: what they decide (not which of them were used)."""
        if not (self.force or self.default or self.check or self.value_sets):
            return ()  # most requests set none: no tables to read on this hot path
        tables = (self.force, self.default, self.check, {url: [v] for url, v in self.value_sets.items()})
        return tuple(tuple((url, tuple(versions)) for url, versions in sorted(table.items())) for table in tables)

    @classmethod
    def from_canonicals(cls, pairs: Iterable[tuple[str, str]]) -> VersionRules:
        """Rules from (parameter name, `url|version`) pairs; other names and versionless values are ignored."""
        rules = cls()
        for name, canonical in pairs:
            url, _, version = str(canonical).partition("|")
            if not url or not version:
                continue
            if name == VALUESET_DEFAULT:
                rules.value_sets.setdefault(url, version)
            elif name in (FORCE, DEFAULT, CHECK):
                table = {FORCE: rules.force, DEFAULT: rules.default, CHECK: rules.check}[name]
                if version not in table.setdefault(url, []):
                    table[url].append(version)
        return rules

    def resolve(self, system: str, version: str | None) -> str | None:
        """The version to look `system` up in: forced, else the one given, else the default or check one.

        Raises VersionConflict when two forced (or two default) versions of one system differ."""
        for name, table in ((FORCE, self.force), (DEFAULT, self.default), (CHECK, self.check)):
            if version and name != FORCE:
                break
            chosen = table.get(system, [])
            if len(chosen) > 1 and name != CHECK:
                raise VersionConflict(messages.version_rules_conflict(name, system, chosen))
            if chosen:
                self._note(name, f"{system}|{chosen[0]}")
                return chosen[0]
        return version

    def value_set_version(self, url: str, version: str | None) -> str | None:
        """The version of an imported value set: its own, else the request's default-valueset-version."""
        if version:
            return version
        chosen = self.value_sets.get(url)
        if chosen:
            self._note(VALUESET_DEFAULT, f"{url}|{chosen}")
        return chosen

    def check_issues(self, system: str, version: str | None, where: str | None) -> list[Issue]:
        """VALUESET_VERSION_CHECK for each check-system-version that the release used does not fit."""
        return [messages.version_check(system, version or "", wanted, where)
                for wanted in self.check.get(system, ()) if not version_matches(wanted, version)]

    def _note(self, name: str, canonical: str) -> None:
        if (name, canonical) not in self.used:
            self.used.append((name, canonical))


class VersionConflict(Exception):
    """Two version parameters of the same kind name different versions of one system."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.text)
        self.issue = issue

