"""Group a Bundle's Procedures and Conditions by encounter, in the order the rules read them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..content.ruleset import RuleSet
from ..core.results import Issue
from ..rules.engine import finding
from .references import References, reference_text

CODED = ("Procedure", "Condition")


class Entry:
    """One entry with a resource: its position, its resource, and how messages name it."""

    __slots__ = ("index", "resource", "full_url", "kind", "path", "label")

    def __init__(self, index: int, resource: Mapping[str, Any], full_url: str | None, path: str | None = None) -> None:
        self.index = index
        self.resource = resource
        self.full_url = full_url
        kind = self.kind = str(resource.get("resourceType"))  # read once: the rules ask for these for every coding
        self.path = path or f"Bundle.entry[{index}].resource"  # a resource checked on its own is at its type
        rid = resource.get("id")
        self.label = f"{kind}/{rid}" if isinstance(rid, str) else f"the {kind} at Bundle.entry[{index}]"

    def __repr__(self) -> str:
        return f"Entry({self.index}, {self.kind})"


@dataclass
class Group:
    """An encounter (or the whole Bundle, when it has no Encounter) and the coded resources in it."""

    encounter: Entry | None
    procedures: list[Entry] = field(default_factory=list)
    conditions: list[Entry] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.encounter.label if self.encounter else "the Bundle's procedures and conditions"

    @property
    def expression(self) -> str:
        return self.encounter.path if self.encounter else "Bundle"


@dataclass
class Grouping:
    """The groups to judge, the coded resources no group could take, and the findings of the grouping."""

    groups: list[Group]
    loose: list[Entry]
    issues: list[Issue]
    references: References | None = None


def group_entries(entries: list[Entry], rules: RuleSet) -> Grouping:
    """Attribute every Procedure and Condition to an encounter, reporting what had to be assumed."""
    refs = References([(e.index, e.resource, e.full_url) for e in entries])
    by_index = {e.index: e for e in entries}
    encounters = [e for e in entries if e.kind == "Encounter"]
    groups = {e.index: Group(e) for e in encounters}
    issues: list[Issue] = []
    listed = _listed_by_encounters(encounters, refs, by_index, issues, rules)
    coded = [e for e in entries if e.kind in CODED]
    loose: list[Entry] = []
    implicit = Group(None) if not encounters and coded else None
    subjects = {e.index: _subject(e, refs) for e in (*encounters, *coded)}  # each read and resolved once
    for entry in coded:
        target = _own_encounter(entry, refs, by_index, issues, rules)
        if target is None:
            target = listed.get(entry.index)
        if target is None:
            if implicit is not None:
                _add(implicit, entry)
                continue
            if len(encounters) == 1:
                target = encounters[0].index
                issues.append(finding(rules.of_kind("unattributed"), entry.path, resource=entry.label, encounter=encounters[0].label, resource_type=entry.kind))
            else:
                issues.append(finding(rules.of_kind("ambiguous-encounter"), entry.path, resource=entry.label, count=len(encounters), resource_type=entry.kind))
                loose.append(entry)
                continue
        group = groups[target]
        _add(group, entry)
        _check_subject(entry, group, subjects, issues, rules)
    if implicit is not None:
        issues.append(finding(rules.of_kind("no-encounter"), "Bundle", count=len(coded)))
    for entry in [*encounters, *coded]:
        _check_patient_reference(entry, subjects[entry.index], issues, rules, by_index)
    return Grouping([*groups.values(), *([implicit] if implicit else [])], loose, issues, refs)


def _add(group: Group, entry: Entry) -> None:
    (group.procedures if entry.kind == "Procedure" else group.conditions).append(entry)


def _own_encounter(entry: Entry, refs: References, by_index: dict[int, Entry], issues: list[Issue], rules: RuleSet) -> int | None:
    reference = entry.resource.get("encounter")
    if reference is None:
        return None
    target = refs.resolve(reference)
    if target is not None and by_index[target].kind == "Encounter":
        return target
    _wrong_reference(rules, issues, f"{entry.path}.encounter", f"{entry.kind}.encounter", reference, target, by_index, "Encounter")
    return None


def _wrong_reference(rules: RuleSet, issues: list[Issue], where: str, element: str, reference: Any, target: int | None,
                     by_index: Mapping[int, Entry], target_type: str) -> None:
    """A reference that resolves to nothing ("does not resolve"), or to an entry of the wrong type (a type mismatch)."""
    text = reference_text(reference) or (str(reference) if reference is not None else "(none)")
    if target is None:
        issues.append(finding(rules.of_kind("unresolved-reference"), where, reference=text, target_type=target_type))
        return
    found = by_index[target]
    issues.append(finding(rules.of_kind("reference-type"), where, reference=text, element=element, found=found.label,
                          found_type=found.kind, target_type=target_type))


def _listed_by_encounters(encounters: list[Entry], refs: References, by_index: dict[int, Entry], issues: list[Issue], rules: RuleSet) -> dict[int, int]:
    """Coded resources that an Encounter lists in its `diagnosis`, mapped to that Encounter."""
    listed: dict[int, int] = {}
    for enc in encounters:
        for n, diagnosis in enumerate(_list(enc.resource.get("diagnosis"))):
            reference = diagnosis.get("condition") if isinstance(diagnosis, dict) else None
            target = refs.resolve(reference)
            if target is None or by_index[target].kind not in CODED:
                _wrong_reference(rules, issues, f"{enc.path}.diagnosis[{n}].condition", "Encounter.diagnosis.condition", reference, target, by_index, "Condition or Procedure")
                continue
            listed.setdefault(target, enc.index)
    return listed


def _subject(entry: Entry, refs: References) -> tuple[str | None, int | None]:
    """The text of the entry's subject reference, and the entry it resolves to."""
    subject = entry.resource.get("subject")
    text = reference_text(subject)
    return text, (refs.resolve(subject) if text is not None else None)


def _check_subject(entry: Entry, group: Group, subjects: dict[int, tuple[str | None, int | None]], issues: list[Issue], rules: RuleSet) -> None:
    if group.encounter is None:
        return
    (mine_text, a), (their_text, b) = subjects[entry.index], subjects[group.encounter.index]
    if mine_text is None or their_text is None:
        return
    same = a == b if a is not None and b is not None else mine_text == their_text
    if not same:
        issues.append(finding(rules.of_kind("subject-mismatch"), f"{entry.path}.subject", resource=entry.label, subject=mine_text, encounter=group.label, encounter_subject=their_text))


SUBJECTS = ("Patient", "Group")  # what Encounter, Procedure and Condition.subject may reference


def _check_patient_reference(entry: Entry, subject: tuple[str | None, int | None], issues: list[Issue], rules: RuleSet,
                             by_index: Mapping[int, Entry]) -> None:
    text, target = subject
    if text is None or text.startswith("#"):
        return
    if (target is None and not _external(text)) or (target is not None and by_index[target].kind not in SUBJECTS):
        _wrong_reference(rules, issues, f"{entry.path}.subject", f"{entry.kind}.subject", text, target, by_index, "Patient")


def _external(reference: str) -> bool:
    """An absolute URL that is not a urn: it names a resource on a server, which need not be in the Bundle."""
    return "://" in reference


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def rank_order(group: Group, refs: References | None = None) -> tuple[list[Entry], list[Entry]]:
    """Procedures and Conditions in the Encounter's `diagnosis` rank order, the unranked after in entry order.

    `refs` is the Bundle's reference index, when the caller has one; ranks only ever apply to the
    group's own entries, so resolving across the whole Bundle gives the same order.
    """
    ranks: dict[int, tuple[int, int]] = {}
    if group.encounter is not None:
        if refs is None:
            refs = References([(e.index, e.resource, e.full_url) for e in (*group.procedures, *group.conditions)])
        for n, diagnosis in enumerate(_list(group.encounter.resource.get("diagnosis"))):
            if not isinstance(diagnosis, dict):
                continue
            target = refs.resolve(diagnosis.get("condition"))
            rank = diagnosis.get("rank")
            if target is not None and isinstance(rank, int) and not isinstance(rank, bool):
                ranks.setdefault(target, (rank, n))
    if not ranks:  # entries are added to a group in Bundle order: nothing to sort
        return sorted(group.procedures, key=_position), sorted(group.conditions, key=_position)
    key = lambda e: (0, *ranks[e.index]) if e.index in ranks else (1, e.index, 0)  # noqa: E731
    return sorted(group.procedures, key=key), sorted(group.conditions, key=key)


def _position(entry: Entry) -> int:
    return entry.index
