"""The immutable content index: code systems, value sets, naming systems, profiles and rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from .paths import EXAMPLES
from .ruleset import RuleSet
from .codesystem import CodeSystemIndex

Resource = Mapping[str, Any]


@dataclass(frozen=True, eq=False)
class ContentIndex:
    """Everything loaded at start, keyed for the engines; never changed afterwards."""

    code_systems: Mapping[str, tuple[CodeSystemIndex, ...]]  # url -> versions, newest first
    value_sets: Mapping[str, tuple[Resource, ...]]  # url -> versions, newest first
    aliases: Mapping[str, str]  # alias system URI -> canonical URI (from NamingSystems)
    resources: Mapping[str, tuple[Resource, ...]]  # resourceType -> every resource loaded
    rules: tuple[Resource, ...]  # the rules files as loaded (*.rules.json): the Bundle level's and each pack's
    sources: tuple[str, ...]  # the folders and files loaded, in order
    replaced: tuple[str, ...] = ()  # fragments set aside because a complete release was loaded
    rule_sets: tuple[RuleSet, ...] = ()  # the guidance packs' rule sets, checked and typed, in load order
    bundle_rules: RuleSet | None = None  # the Bundle-level rule set the packs read over

    def code_system(self, url: str, version: str | None = None) -> CodeSystemIndex | None:
        """The code system at `url` (a given version, or the newest)."""
        return cast("CodeSystemIndex | None", _pick(self.code_systems.get(url, ()), version, lambda cs: cs.version))

    def value_set(self, url: str, version: str | None = None) -> Resource | None:
        """The value set at `url` (a given version, or the newest)."""
        return cast("Resource | None", _pick(self.value_sets.get(url, ()), version, lambda vs: vs.get("version")))

    def canonical_system(self, url: str) -> str:
        """The canonical URI for a system URI that may be an alias."""
        return self.aliases.get(url, url)

    @property
    def guidance(self) -> str:
        """The loaded packs' short names as messages and pages say them ("IPG672", "IPG672 and IPG999"); "" without packs."""
        return self.bundle_rules.guidance_names["guidance"] if self.bundle_rules is not None else ""

    def example_folders(self) -> list[tuple[str, Path]]:
        """(pack id, folder) of every loaded guidance pack that has example Bundles, in load order."""
        found = [(rules.id, Path(rules.folder) / EXAMPLES) for rules in self.rule_sets if rules.folder]
        return [(pack, folder) for pack, folder in found if folder.is_dir()]

    def counts(self) -> dict[str, int]:
        """How many of each resource type are loaded (for /readyz and the CLI)."""
        counts = {kind: len(items) for kind, items in sorted(self.resources.items())}
        levels = (*((self.bundle_rules,) if self.bundle_rules is not None else ()), *self.rule_sets)
        counts["rules"] = sum(len(rule_set.rules) for rule_set in levels)
        return counts


def _pick(items: tuple[Any, ...], version: str | None, version_of: Any) -> Any:
    if not items:
        return None
    if version is None:
        return items[0]
    for item in items:
        if version_of(item) == version:
            return item
    return None
