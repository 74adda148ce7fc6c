"""Each encounter's guidance checklist: every required (or optional) code, present, missing or wrong.

The lines come from the rules file, not from code: a `require-each` rule gives one line per
code of its value set (X65.3, Y36.4, Y53.4), a `require-any` rule one line for its value set
(J12.3, the Y89 subcode, C78.7, the primary). A rule of severity `information` is optional.

The encounter is read exactly as the rules engine reads it (the same grouping, rank order,
normalised codings and value-set membership), so a line is `missing` exactly when the engine
reports that rule for that code. A line is `wrong` when no clean coding meets it but a coding
of the encounter aimed at it (the same code, or its category such as Y89 or C18) has an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..bundle.reading import EncounterReading, read_encounters
from ..bundle.records import encounter_status
from ..bundle.validate import Judge
from ..content.index import ContentIndex
from ..rules.case import HIDDEN, CodedItem, EncounterCase
from ..rules.engine import in_scope, out_of_scope
from ..content.ruleset import Rule

LINE_KINDS = ("require-each", "require-any")
PRESENT, MISSING, WRONG = "present", "missing", "wrong"


def bundle_checklists(index: ContentIndex, body: Any, *, profile: str | None = None) -> list[dict[str, Any]]:
    """The checklist of every encounter of a Bundle (or of a Parameters' `resource`); [] for anything else."""
    bundle = _unwrap(body)
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return []
    judge, encounters = read_encounters(bundle, index, profile=profile)
    lists = [_encounter(judge, reading) for reading in encounters]
    applied = {c["expression"] for c in lists if c["applies"]}
    # as the OperationOutcome has it: a pack that did not apply is left out where another one did
    return [c for c in lists if c["applies"] or c["expression"] not in applied]


def _encounter(judge: Judge, reading: EncounterReading) -> dict[str, Any]:
    rules, group, case = reading.rules, reading.group, reading.case
    summary = rules.of_kind("summary")
    applies = encounter_status(rules, group.encounter) is None and in_scope(rules, case, judge.member)
    return {
        "encounter": group.label,
        "expression": group.expression,
        "resources": [group.expression, *(e.path for e in (*reading.procedures, *reading.conditions))],
        "guidance": rules.title,
        "guidanceId": rules.guidance,
        "ruleSet": rules.id,
        "summaryRule": summary.id,  # the rule id of the encounter's summary issue in the OperationOutcome
        "verdicts": {name: summary.text(name) for name in ("not-applied", "coded")},  # the pack's own words for the badge
        "applies": applies,
        "notApplied": None if applies else _why_not_applied(judge, reading),
        "procedures": [_coding(i, n) for n, i in enumerate(_shown(case.procedures), 1)],
        "diagnoses": [_coding(i, n) for n, i in enumerate(_shown(case.diagnoses), 1)],
        # codings that do not count (record status, other code system, wrong classification), as the summary leaves them out
        "notCounted": [{**_coding(i, n), "state": i.state} for n, i in enumerate((*case.procedures, *case.diagnoses), 1) if i.state in HIDDEN],
        "items": [line for rule in rules.guidance_rules if rule.kind in LINE_KINDS for line in _lines(judge, rule, case, set(reading.errors))],
    }


def _why_not_applied(judge: Judge, reading: EncounterReading) -> str:
    """The pack's own finding on why it was not applied: the encounter's status, or what its scope lacks."""
    rules, group = reading.rules, reading.group
    stopped = encounter_status(rules, group.encounter)
    if stopped is not None:
        return rules.of_kind("encounter-status").text(encounter=group.label, status=stopped)
    return out_of_scope(rules, reading.case, judge.member, judge.members).text


def _lines(judge: Judge, rule: Rule, case: EncounterCase, errors: set[str]) -> list[dict[str, Any]]:
    url = rule.value_sets[0]
    vs = judge.index.value_set(url) or {}
    members = judge.members(url)
    if rule.kind == "require-each":
        return [_line(judge, rule, case, errors, code, display, [(code, display)], _coded_as(code), [code])
                for code, display in members]
    parts = _label_parts(judge.index, vs, frozenset()) or [c for c, _ in members]
    label = value_set_label(judge.index, vs) or " or ".join(parts)
    title = members[0][1] if len(members) == 1 and parts == [members[0][0]] else vs.get("title") or vs.get("name") or url
    return [_line(judge, rule, case, errors, label, title, members, lambda i: True, parts)]


def _coded_as(code: str) -> Callable[[CodedItem], bool]:
    """Whether an item carries `code`."""
    return lambda item: item.code == code


def _line(judge: Judge, rule: Rule, case: EncounterCase, errors: set[str], label: str, title: str | None,
          codes: Sequence[tuple[str, str | None]], matches: Callable[[CodedItem], bool], parts: Sequence[str]) -> dict[str, Any]:
    url = rule.value_sets[0]
    items = case.items(rule.target or "procedures")
    met = [i for i in items if i.usable and matches(i) and judge.member(url, i)]
    clean = [i for i in met if not _has_error(i, errors)]
    aimed = [i for i in items if i not in clean and _has_error(i, errors) and (i in met or _aims_at(i.code, codes, parts))]
    status = PRESENT if clean else WRONG if aimed else MISSING
    return {
        "rule": rule.id,
        "target": rule.target,
        "valueSet": url,
        "label": label,
        "title": title or "",
        "optional": rule.severity == "information",
        "status": status,
        "codes": [{"code": c, "display": d or ""} for c, d in codes],
        "found": [_coding(i, _position(items, i)) for i in clean],
        "wrong": [_coding(i, _position(items, i)) for i in aimed],
    }


def _shown(items: tuple[CodedItem, ...]) -> tuple[CodedItem, ...]:
    """The codings of the encounter's code strings, as the summary gives them."""
    return tuple(i for i in items if i.state not in HIDDEN)


def _position(items: tuple[CodedItem, ...], item: CodedItem) -> int:
    """Where `item` stands in the code string (codings that do not count take no place)."""
    shown = _shown(items)
    return shown.index(item) + 1 if item in shown else items.index(item) + 1


def _has_error(item: CodedItem, errors: set[str]) -> bool:
    return any(e == item.expression or e.startswith(item.expression + ".") for e in errors)


def _aims_at(code: str, codes: Sequence[tuple[str, str | None]], parts: Sequence[str]) -> bool:
    """Whether a coding meant this line: one of its codes, or the category they belong to (Y89, C18)."""
    wanted = code.strip().upper().rstrip("-").rstrip(".")
    categories = {c.split(".")[0] for c, _ in codes} | {p.split(".")[0].split()[0] for p in parts}
    return any(wanted == c for c, _ in codes) or wanted in categories


def _coding(item: CodedItem, position: int) -> dict[str, Any]:
    return {
        "code": item.code, "display": item.display or "", "system": item.system, "systemName": item.system_name,
        "expression": item.expression, "resource": item.resource, "position": position, "usable": item.usable,
    }


def value_set_label(index: ContentIndex, vs: Mapping[str, Any]) -> str:
    """The codes of a value set as a coder writes them, 'C18.x, C19, C20 or Z85.0', from its compose."""
    parts = _label_parts(index, vs, frozenset())
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1] if parts else ""


def _label_parts(index: ContentIndex, vs: Mapping[str, Any], seen: frozenset[str]) -> list[str]:
    url = str(vs.get("url"))
    compose = vs.get("compose")
    if url in seen or not isinstance(compose, Mapping):
        return []
    parts: list[str] = []
    for include in compose.get("include") or []:
        if not isinstance(include, Mapping):
            continue
        for imported in include.get("valueSet") or []:
            inner = index.value_set(imported) if isinstance(imported, str) else None
            parts += _label_parts(index, inner, seen | {url}) if inner is not None else []
        parts += [c["code"] for c in include.get("concept") or [] if isinstance(c, Mapping) and isinstance(c.get("code"), str)]
        for flt in include.get("filter") or []:
            if isinstance(flt, Mapping) and isinstance(flt.get("value"), str) and flt.get("op") in ("descendent-of", "is-a"):
                parts.append(f"{flt['value']}.x" if flt["op"] == "descendent-of" else f"{flt['value']} or a subcode")
    return parts


def _unwrap(body: Any) -> Any:
    if isinstance(body, dict) and body.get("resourceType") == "Parameters" and isinstance(body.get("parameter"), list):
        for param in body["parameter"]:
            if isinstance(param, dict) and param.get("name") == "resource":
                return param.get("resource")
    return body
