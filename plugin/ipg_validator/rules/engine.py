"""Evaluate a guidance rule set on one encounter: pure, given a membership test over the value sets."""

from __future__ import annotations

from collections.abc import Callable

from ..core.results import Issue
from .case import MISFIT, NOT_COUNTED, CodedItem, EncounterCase
from ..content.ruleset import Rule, RuleSet

# Whether a coding is in a value set (a code absent from a fragment counts as in: it may be).
MemberTest = Callable[[str, CodedItem], bool]
# The codes of a value set, as (code, display), for messages naming what is missing.
Members = Callable[[str], list[tuple[str, str | None]]]


def in_scope(rules: RuleSet, case: EncounterCase, member: MemberTest) -> bool:
    """Whether the guidance applies: a code of the scope value set is present, or the caller asked for it."""
    return case.forced or any(member(rules.scope_value_set, item) for item in case.usable(rules.scope_target))


def out_of_scope(rules: RuleSet, case: EncounterCase, member: MemberTest, members: Members) -> Issue:
    """Why the guidance did not apply: its scope code is there but does not count (not performed, or sent in
    the wrong classification), or there is none at all."""
    scope = rules.scope_value_set
    items = case.items(rules.scope_target)
    for item in items:
        if item.state == NOT_COUNTED and member(scope, item):
            rule = rules.of_kind("scope-not-counted")
            path, status = item.mark(rules.of_kind("not-counted").statuses) or (".", "")
            return finding(rule, item.expression, code=item.code, display=item.display or "", resource=item.resource,
                           element=path.partition(".")[2], status=status, encounter=case.label)
    fit = dict(rules.of_kind("classification").systems)
    expected = fit.get("Procedure" if rules.scope_target == "procedures" else "Condition")
    for item in items:
        if item.state == MISFIT and expected and member(scope, item._replace(system=expected)):
            display = next((d for c, d in members(scope) if c == item.code), None)
            return finding(rules.of_kind("scope-misclassified"), item.expression, code=item.code, display=display or "",
                           resource=item.resource, system_name=item.system_name, encounter=case.label)
    return finding(rules.of_kind("out-of-scope"), case.expression, encounter=case.label)


def not_counted_text(rules: RuleSet, item: CodedItem) -> str:
    """Why a coding of the encounter does not count toward this pack, in the words of the not-counted rule."""
    rule = rules.of_kind("not-counted")
    return rule.text(**_not_counted_values(rule, item, rules.guidance))


def _not_counted_values(rule: Rule, item: CodedItem, guidance: str) -> dict[str, str]:
    path, status = item.mark(rule.statuses) or (".", "")
    kind, _, element = path.partition(".")
    return {"system_name": item.system_name, "code": item.code, "display": item.display or "", "resource": item.resource,
            "element": element, "status": status, "resource_type": kind, "meaning": dict(rule.variants).get(status, status),
            "guidance": guidance}


def record_findings(shared: RuleSet, case: EncounterCase, guidance: str) -> list[Issue]:
    """The Bundle level's findings on an encounter that packs judged (`guidance` names them): the codes
    whose record status makes them not count, and the records whose status asks for a check."""
    counted = shared.of_kind("not-counted")
    out = [finding(counted, i.expression, **_not_counted_values(counted, i, guidance))
           for i in (*case.procedures, *case.diagnoses) if i.state == NOT_COUNTED]
    check = shared.of_kind("status-check")
    by_resource: dict[str, tuple[tuple[str, str], list[str]]] = {}
    for item in (*case.procedures, *case.diagnoses):
        mark = item.mark(check.statuses) if item.usable else None
        if mark is not None:
            by_resource.setdefault(item.resource, (mark, []))[1].append(item.code)
    out += [finding(check, f"{resource}.{path.partition('.')[2]}", resource=resource, element=path.partition(".")[2], status=status,
                    codes=" ".join(codes), guidance=guidance)
            for resource, ((path, status), codes) in by_resource.items()]
    return out


def evaluate(rules: RuleSet, case: EncounterCase, member: MemberTest, members: Members) -> list[Issue]:
    """Every finding of the guidance rules on this encounter."""
    return [issue for rule in rules.guidance_rules for issue in evaluate_rule(rules, rule, case, member, members)]


def evaluate_rule(rules: RuleSet, rule: Rule, case: EncounterCase, member: MemberTest, members: Members) -> list[Issue]:
    """The findings of one guidance rule on this encounter."""
    return _CHECKS[rule.kind](rules, rule, case, member, members)


def finding(rule: Rule, expression: str, **values: object) -> Issue:
    """An issue of `rule`, coded with its id in its rule set's code system."""
    return Issue(rule.severity, rule.code, rule.id, rule.text(None, **values), (expression,), None, rule.system)


def _usable(case: EncounterCase, rule: Rule) -> tuple[CodedItem, ...]:
    return case.usable(rule.target or "procedures")


def _anchor(rules: RuleSet, case: EncounterCase, rule: Rule, member: MemberTest) -> str:
    """Where a missing code is reported: the scope procedure for procedure rules, else the Encounter."""
    trigger = next((i.resource for i in case.procedures if i.usable and member(rules.scope_value_set, i)), None)
    if rule.target == "diagnoses" and case.has_encounter:
        return case.expression
    return trigger or case.expression


def _require_each(rules: RuleSet, rule: Rule, case: EncounterCase, member: MemberTest, members: Members) -> list[Issue]:
    items = _usable(case, rule)
    url = rule.value_sets[0]
    out = []
    for code, display in members(url):
        if not any(i.code == code and member(url, i) for i in items):
            why = _why_not(rules, case, rule, member, url, code)
            out.append(finding(rule, _anchor(rules, case, rule, member), code=code, display=display or "", encounter=case.label, not_counted=why))
    return out


def _require_any(rules: RuleSet, rule: Rule, case: EncounterCase, member: MemberTest, members: Members) -> list[Issue]:
    url = rule.value_sets[0]
    if any(member(url, i) for i in _usable(case, rule)):
        return []
    return [finding(rule, _anchor(rules, case, rule, member), encounter=case.label, not_counted=_why_not(rules, case, rule, member, url))]


def _why_not(rules: RuleSet, case: EncounterCase, rule: Rule, member: MemberTest, url: str, code: str | None = None) -> str:
    """Why a recorded code that would meet `rule` does not count ("; X65.3 at ... does not count: ..."), or ""."""
    for item in case.items(rule.target or "procedures"):
        if item.state == NOT_COUNTED and (code is None or item.code == code) and member(url, item):
            return "; " + not_counted_text(rules, item)
    return ""


def _first_not_in(rules: RuleSet, rule: Rule, case: EncounterCase, member: MemberTest, members: Members) -> list[Issue]:
    items = _usable(case, rule)
    if items and member(rule.value_sets[0], items[0]):
        first = items[0]
        return [finding(rule, first.expression, code=first.code, display=first.display or "", system_name=first.system_name, encounter=case.label)]
    return []


def _first_in(rules: RuleSet, rule: Rule, case: EncounterCase, member: MemberTest, members: Members) -> list[Issue]:
    items = _usable(case, rule)
    if not items or member(rule.value_sets[0], items[0]):
        return []
    found = next(((n, i) for n, i in enumerate(items, 1) if member(rule.value_sets[0], i)), None)
    if found is None:
        return []
    position, item = found
    return [finding(rule, item.expression, code=item.code, display=item.display or "", position=position, first=items[0].label, encounter=case.label)]


def _not_together(rules: RuleSet, rule: Rule, case: EncounterCase, member: MemberTest, members: Members) -> list[Issue]:
    items = _usable(case, rule)
    first = [i for i in items if member(rule.value_sets[0], i)]
    second = [i for i in items if member(rule.value_sets[1], i)]
    if not first:
        return []
    return [finding(rule, i.expression, code=i.code, display=i.display or "", other=first[0].label, encounter=case.label) for i in second]


def _at_most_one(rules: RuleSet, rule: Rule, case: EncounterCase, member: MemberTest, members: Members) -> list[Issue]:
    found: dict[str, CodedItem] = {}
    for item in _usable(case, rule):
        if member(rule.value_sets[0], item):
            found.setdefault(item.code, item)
    if len(found) < 2:
        return []
    codes = ", ".join(i.label for i in found.values())
    return [finding(rule, i.expression, code=i.code, codes=codes, encounter=case.label) for i in list(found.values())[1:]]


def _each_outside(rules: RuleSet, rule: Rule, case: EncounterCase, member: MemberTest, members: Members) -> list[Issue]:
    """Confirmed codes outside the value set: a category or a code that cannot be confirmed is never called fine."""
    return [
        finding(rule, i.expression, code=i.code, display=i.display or "", system_name=i.system_name, encounter=case.label)
        for i in _usable(case, rule) if not i.state and not member(rule.value_sets[0], i)
    ]


def _status_contradicts(rules: RuleSet, rule: Rule, case: EncounterCase, member: MemberTest, members: Members) -> list[Issue]:
    out = []
    for item in _usable(case, rule):
        mark = item.mark(rule.statuses)
        if mark is not None and member(rule.value_sets[0], item):
            out.append(finding(rule, item.expression, code=item.code, display=item.display or "", status=mark[1], element=mark[0].partition(".")[2]))
    return out


def _single_coding(rules: RuleSet, rule: Rule, case: EncounterCase, member: MemberTest, members: Members) -> list[Issue]:
    out = []
    for path, label, codings in case.procedure_groups:
        by_system: dict[str | None, list[CodedItem]] = {}
        for item in codings:
            if item.usable:
                by_system.setdefault(item.system, []).append(item)
        for system, same in by_system.items():
            if system and len(same) > 1:
                out.append(finding(rule, path, resource=label, count=len(same), codes=", ".join(i.code for i in same), system_name=same[0].system_name))
    return out


_CHECKS = {
    "require-each": _require_each, "require-any": _require_any, "first-not-in": _first_not_in, "first-in": _first_in,
    "not-together": _not_together, "at-most-one": _at_most_one, "each-outside": _each_outside, "single-coding": _single_coding,
    "status-contradicts": _status_contradicts,
}
