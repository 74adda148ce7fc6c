"""Check every coding of a Procedure or Condition against its code system, and read it for the rules."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import replace
from typing import Any

from ..rules.case import FOREIGN, UNCONFIRMED, CodedItem
from ..terminology.formats import format_for
from ..core.results import Coding, Issue
from ..terminology.sources import SourceChain
from ..terminology.validate import ValidateOptions, validate_code

UNUSABLE = frozenset({"invalid-data", "not-found"})  # no system, or a system nobody knows
LENIENT = ValidateOptions(lenient_display=True)

# A coding's answer depends on (system, code, version, display) and the content only; its place is
# put back into every issue on reuse. The answer is worked out with this place, which no real path has.
_HERE = "\x00coding\x00"

Key = tuple[str | None, str, str | None, str | None]


class _Answer:
    """What the check of one coding says, wherever it appears: the normalised coding and its issues."""

    __slots__ = ("system", "code", "display", "system_name", "usable", "state", "issues")

    def __init__(self, sources: SourceChain, coding: Coding) -> None:
        result = validate_code(sources, [coding], options=LENIENT)
        system = result.system or coding.system
        fmt = format_for(system) if system else None
        self.system = system
        self.code = result.code or coding.code or ""
        self.display = result.display
        held = sources.code_system(system) if system and fmt is None else None  # a held system of no NHS format: its own title
        self.system_name = fmt.name if fmt else held.title if held else (system or "a code with no system")
        self.usable = bool(system) and not any(i.tx_code in UNUSABLE for i in result.issues)
        foreign = bool(system) and any(i.tx_code == "not-found" for i in result.issues)  # a code system nobody here holds
        unconfirmed = any(i.is_error or i.tx_code == "invalid-code" for i in result.issues)
        self.state = FOREIGN if foreign else UNCONFIRMED if unconfirmed else ""
        self.issues = tuple(result.issues)  # their expressions (and any text naming the coding) hold _HERE

    def issues_at(self, where: str) -> list[Issue]:
        return [_placed(i, where) for i in self.issues]


def coded_items(
    sources: SourceChain, resource: Mapping[str, Any], path: str, memo: MutableMapping[Key, _Answer] | None = None
) -> tuple[list[CodedItem], list[Issue]]:
    """The codings of `resource.code`, normalised, with every terminology finding on them.

    `memo` (kept per content index by the caller, bounded there) remembers the check of each
    distinct (system, code, version, display), so a Bundle repeating codes checks each once.
    """
    code = resource.get("code")
    codings = code.get("coding") if isinstance(code, dict) else None
    if not isinstance(codings, list):
        return [], []
    items: list[CodedItem] = []
    issues: list[Issue] = []
    for n, raw in enumerate(codings):
        if not isinstance(raw, dict):
            continue  # structure reports it
        where = f"{path}.code.coding[{n}]"
        system, code, version, display = raw.get("system"), raw.get("code"), raw.get("version"), raw.get("display")
        key: Key = (
            system if isinstance(system, str) else None, code if isinstance(code, str) else "",
            version if isinstance(version, str) else None, display if isinstance(display, str) else None,
        )
        if not key[1]:
            issues.append(Issue("error", "required", "invalid-data", f"{where} has no code: send the code itself", (f"{where}.code",), "NO_CODE"))
            continue
        answer = memo.get(key) if memo is not None else None
        if answer is None:
            answer = _Answer(sources, Coding(key[0], key[1], key[2], key[3], _HERE))
            if memo is not None:
                memo[key] = answer
        if answer.issues:
            issues += answer.issues_at(where)
        items.append(CodedItem(answer.system, answer.code, answer.display, where, path, answer.system_name, answer.usable, answer.state))
    return items, issues


def check_coding(sources: SourceChain, system: str, code: str, memo: MutableMapping[Key, _Answer] | None = None) -> tuple[str | None, bool]:
    """The title of `code` in `system` and whether the code is confirmed there (exists, recordable)."""
    key: Key = (system, code, None, None)
    answer = memo.get(key) if memo is not None else None
    if answer is None:
        answer = _Answer(sources, Coding(system, code, None, None, _HERE))
        if memo is not None:
            memo[key] = answer
    return answer.display, answer.usable and not answer.state


def _placed(issue: Issue, where: str) -> Issue:
    """The issue as found at `where`."""
    return replace(issue, expression=tuple(e.replace(_HERE, where) for e in issue.expression), text=issue.text.replace(_HERE, where))

