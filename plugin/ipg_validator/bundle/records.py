"""What a Procedure's or Condition's record says about its codings, beyond the codes themselves.

Its status (a `not-done` Procedure, a `refuted` Condition: its codes do not count), the code
systems sent beside the classifications (SNOMED CT in UK Core feeds: information, not an error),
and whether the classification fits the resource (OPCS-4 on a Procedure, ICD-10 on a Condition).
Which statuses count, and how each finding is worded, come from the rule set.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from ..rules.case import FOREIGN, MISFIT, NOT_COUNTED, CodedItem
from ..rules.engine import finding
from ..content.ruleset import RuleSet
from ..terminology.formats import format_for
from ..core.results import Issue
from ..terminology.sources import SourceChain
from .codings import check_coding, coded_items
from .grouping import Entry


def read_record(sources: SourceChain, memo: MutableMapping[Any, Any] | None, rules: RuleSet, entry: Entry) -> tuple[list[CodedItem], list[Issue]]:
    """The codings of a Procedure or Condition as the rules read them, with every finding on them
    (`rules`: the Bundle-level rule set, whose statuses are those every loaded pack reads)."""
    items, issues = coded_items(sources, entry.resource, entry.path, memo)
    if not items:
        return items, issues
    elements = rules.status_elements.get(entry.kind)
    if elements:
        items = _marked(rules, entry, items, elements)
    wrong = rules.wrong_systems.get(entry.kind) or frozenset()
    foreign = misfit = False
    for item in items:  # one pass: this runs for every coded entry of every Bundle
        foreign = foreign or item.state == FOREIGN
        misfit = misfit or item.system in wrong
    if foreign:
        issues = _other_systems(rules, entry, items, issues)
    if misfit:
        items, issues = _misfits(sources, memo, rules, entry, items, issues, rules.classification, rules.classification[entry.kind])
    return items, issues


def encounter_status(rules: RuleSet, encounter: Entry | None) -> str | None:
    """The Encounter's status when it is one for which the rules are not applied (entered-in-error, cancelled)."""
    if encounter is None:
        return None
    status = encounter.resource.get("status")
    return status if isinstance(status, str) and rules.of_kind("encounter-status").status("Encounter", "status", status) else None


def _marked(rules: RuleSet, entry: Entry, items: list[CodedItem], elements: tuple[tuple[str, frozenset[str]], ...]) -> list[CodedItem]:
    """The items carrying the record statuses a rule names; those of a status that does not count no longer count."""
    marks: list[tuple[str, str]] = []
    for element, values in elements:
        value = entry.resource.get(element)
        if isinstance(value, str):  # Procedure.status: the usual "completed" is named by no rule
            if value in values:
                marks.append((f"{entry.kind}.{element}", value))
        elif isinstance(value, Mapping):  # Condition.verificationStatus, a CodeableConcept
            codings = value.get("coding")
            for coding in codings if isinstance(codings, list) else ():
                code = coding.get("code") if isinstance(coding, Mapping) else None
                if isinstance(code, str) and code in values:
                    marks.append((f"{entry.kind}.{element}", code))
    if not marks:
        return items
    if any(mark in rules.not_counted for mark in marks):
        return [i._replace(marks=tuple(marks), usable=False, state=NOT_COUNTED) for i in items]
    return [i._replace(marks=tuple(marks)) for i in items]


def _other_systems(rules: RuleSet, entry: Entry, items: list[CodedItem], issues: list[Issue]) -> list[Issue]:
    """Codings of systems not held: information beside a held coding, one warning when only a known other
    system (SNOMED CT) codes the resource; an unknown system alone keeps its not-found error."""
    foreign = [i for i in items if i.state == FOREIGN]
    held = [i for i in items if i.state != FOREIGN and i.system]
    quiet = foreign if held else [i for i in foreign if rules.system_name(i.system)]
    if not quiet:
        return issues
    places = tuple(i.expression for i in quiet)
    kept = [i for i in issues if not (i.tx_code == "not-found" and i.expression and i.expression[0].startswith(places))]
    if held:
        beside = f"{held[0].system_name} {held[0].label}"
        return kept + [finding(rules.of_kind("system-beside"), i.expression, system_label=_label(rules, i.system), code=i.code,
                               beside=beside, resource_type=entry.kind, **rules.guidance_names) for i in quiet]
    expected = dict(rules.of_kind("classification").systems).get(entry.kind)
    labels = list(dict.fromkeys(_label(rules, i.system) for i in quiet))
    return kept + [finding(rules.of_kind("system-only"), f"{entry.path}.code", resource=entry.label, system_label=" and ".join(labels),
                           codes=", ".join(i.code for i in quiet), expected_name=_name(expected), resource_type=entry.kind,
                           **rules.guidance_names)]


def _misfits(sources: SourceChain, memo: MutableMapping[Any, Any] | None, rules: RuleSet, entry: Entry, items: list[CodedItem],
             issues: list[Issue], fit: dict[str, str], expected: str) -> tuple[list[CodedItem], list[Issue]]:
    """Codings of the other classification (ICD-10 on a Procedure): an error naming the fix, and they do not count."""
    rule = rules.of_kind("classification")
    out: list[CodedItem] = []
    for item in items:
        if item.system == expected or item.system not in fit.values():
            out.append(item)
            continue
        other = next(kind for kind, system in fit.items() if system == item.system)
        display, exists = check_coding(sources, expected, item.code, memo)
        values = {"system_name": item.system_name, "code": item.code, "resource_type": entry.kind, "expected_name": _name(expected),
                  "other_type": other, "display": display or ""}
        issue = finding(rule, item.expression, **values)
        if exists and "fix" in dict(rule.variants):
            issue = Issue(issue.severity, issue.code, issue.tx_code, rule.text("fix", **values), issue.expression, None, issue.details_system)
        issues = [*issues, issue]
        out.append(item._replace(usable=False, state=item.state if item.state == NOT_COUNTED else MISFIT))
    return out, issues


def _label(rules: RuleSet, system: str | None) -> str:
    return rules.system_name(system) or f"the code system '{system}'"


def _name(system: str | None) -> str:
    fmt = format_for(system) if system else None
    return fmt.name if fmt else str(system)
