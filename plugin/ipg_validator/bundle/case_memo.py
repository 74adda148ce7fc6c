"""The rules' findings on an encounter, remembered by what the rules read (the codes, in order)
rather than by where those codes sit, and put back at each encounter's own places.

Encounters of a feed repeat the same codes; the rules need judging once per distinct encounter.
The case is judged with a token in place of every path and label (`\\x00P3\\x00`: the place of
the fourth procedure coding), and each finding's tokens are replaced with the real places.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from dataclasses import replace

from ..rules.case import CodedItem, EncounterCase
from ..rules.engine import MemberTest, Members, evaluate, in_scope, out_of_scope
from ..content.ruleset import RuleSet
from ..core.results import Issue

TOKEN = re.compile("\x00([A-Z])([0-9]*)\x00")

Shape = tuple[object, ...]
Judged = tuple[bool, tuple[Issue, ...]]  # whether the rules apply, and their findings in tokens


def judge_case(rules: RuleSet, case: EncounterCase, member: MemberTest, members: Members,
               memo: MutableMapping[Shape, Judged] | None = None) -> tuple[bool, list[Issue]]:
    """Whether the rules apply to `case`, and their findings (the out-of-scope one when they do not)."""
    if memo is None:
        return _judged(rules, case, member, members)
    key = _shape(rules, case)
    judged = memo.get(key)
    if judged is None:
        if _quotes_nul(case):  # a code or title holding a NUL could read as a token: judged where it is, not kept
            return _judged(rules, case, member, members)
        applies, found = _judged(rules, _tokens(case), member, members)
        judged = memo[key] = (applies, tuple(found))
    return judged[0], [_placed(issue, case) for issue in judged[1]]


def _judged(rules: RuleSet, case: EncounterCase, member: MemberTest, members: Members) -> tuple[bool, list[Issue]]:
    if in_scope(rules, case, member):
        return True, evaluate(rules, case, member, members)
    return False, [out_of_scope(rules, case, member, members)]


def _shape(rules: RuleSet, case: EncounterCase) -> Shape:
    """What the rules read of `case`: each coding but its expression and resource, and how the Procedures group them."""
    return (
        id(rules), case.has_encounter, case.forced, len(case.procedures),
        tuple([i[:3] + i[5:] for i in case.procedures]), tuple([i[:3] + i[5:] for i in case.diagnoses]),
        tuple([len(codings) for _, _, codings in case.procedure_groups]),
    )


def _quotes_nul(case: EncounterCase) -> bool:
    """Whether a text the messages may quote (code, display, system name) holds a NUL."""
    return any("\x00" in i.code or "\x00" in i.system_name or (i.display is not None and "\x00" in i.display)
               for i in (*case.procedures, *case.diagnoses))


def _tokens(case: EncounterCase) -> EncounterCase:
    """`case` with a token for every place and label: L its label, E its expression, P/Q a procedure
    coding's expression/resource, D/S a diagnosis coding's, G/H a Procedure's code path/label."""

    def tokened(items: tuple[CodedItem, ...], expression: str, resource: str) -> tuple[CodedItem, ...]:
        return tuple(i._replace(expression=f"\x00{expression}{n}\x00", resource=f"\x00{resource}{n}\x00") for n, i in enumerate(items))

    procedures = tokened(case.procedures, "P", "Q")
    groups, start = [], 0
    for n, (_, _, codings) in enumerate(case.procedure_groups):
        groups.append((f"\x00G{n}\x00", f"\x00H{n}\x00", procedures[start:start + len(codings)]))
        start += len(codings)
    return replace(case, label="\x00L\x00", expression="\x00E\x00", procedures=procedures,
                   diagnoses=tokened(case.diagnoses, "D", "S"), procedure_groups=tuple(groups))


def _placed(issue: Issue, case: EncounterCase) -> Issue:
    """A remembered finding at the places of `case`; a text with a label in it is spaced and
    capitalised again, as `Rule.text` does, since the label now stands where its token was."""

    def place(match: re.Match[str]) -> str:
        kind, n = match[1], int(match[2] or 0)
        if kind == "L":
            return case.label
        if kind == "E":
            return case.expression
        if kind in "GH":
            path, label, _ = case.procedure_groups[n]
            return path if kind == "G" else label
        item = (case.procedures if kind in "PQ" else case.diagnoses)[n]
        return item.expression if kind in "PD" else item.resource

    text = issue.text
    if "\x00" in text:
        text = " ".join(TOKEN.sub(place, text).split())
        text = text[:1].upper() + text[1:]
    return Issue(issue.severity, issue.code, issue.tx_code, text, tuple([TOKEN.sub(place, e) for e in issue.expression]),
                 issue.message_id, issue.details_system, issue.in_message)
