"""Every encounter of a Bundle as validation reads it, for each rule set: what the web checklist shows.

The same Judge, grouping, rank order (references included) and EncounterCase as `Bundle/$validate`, so the
checklist and the OperationOutcome cannot read one encounter two ways."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..content.index import ContentIndex
from ..content.ruleset import RuleSet
from ..rules.case import EncounterCase
from .grouping import Entry, Group, group_entries
from .records import read_record
from .validate import Judge, bundle_entries, claimed_profiles


@dataclass(frozen=True)
class EncounterReading:
    """One encounter for one rule set: its entries in rank order, the case the rules judge, and the
    places of the error findings on its codings."""

    rules: RuleSet
    group: Group
    procedures: tuple[Entry, ...]
    conditions: tuple[Entry, ...]
    case: EncounterCase
    errors: frozenset[str]


def read_encounters(bundle: Any, index: ContentIndex, *, profile: str | None = None) -> tuple[Judge, list[EncounterReading]]:
    """The Judge over `index` (membership and expansions, memoised) and every encounter of `bundle` (a Bundle
    resource) for each loaded rule set."""
    entries = bundle_entries(bundle)
    judge = Judge(index, claimed_profiles(bundle, profile))
    out: list[EncounterReading] = []
    if not index.rule_sets:
        return judge, out
    shared = judge.shared
    coded = {e.index: read_record(judge.sources, judge.codings, shared, e) for e in entries if e.kind in ("Procedure", "Condition")}
    grouping = group_entries(entries, shared)
    items = {n: found[0] for n, found in coded.items()}
    for group in grouping.groups:
        for rules in index.rule_sets:
            procedures, conditions, case = judge.case(group, items, rules, grouping.references)
            errors = frozenset(i.expression[0] for e in (*procedures, *conditions) for i in coded[e.index][1] if i.is_error and i.expression)
            out.append(EncounterReading(rules, group, tuple(procedures), tuple(conditions), case, errors))
    return judge, out
