"""Check every coding of a Procedure or Condition against its code system, and read it for the rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..rules.case import CodedItem
from ..terminology.formats import format_for
from ..terminology.results import Coding, Issue
from ..terminology.sources import SourceChain
from ..terminology.validate import ValidateOptions, validate_code

UNUSABLE = frozenset({"invalid-data", "not-found"})  # no system, or a system nobody knows
LENIENT = ValidateOptions(lenient_display=True)


def coded_items(sources: SourceChain, resource: Mapping[str, Any], path: str) -> tuple[list[CodedItem], list[Issue]]:
    """The codings of `resource.code`, normalised, with every terminology finding on them."""
    code = resource.get("code")
    codings = code.get("coding") if isinstance(code, dict) else None
    if not isinstance(codings, list):
        return [], []
    items: list[CodedItem] = []
    issues: list[Issue] = []
    for n, raw in enumerate(codings):
        where = f"{path}.code.coding[{n}]"
        if not isinstance(raw, dict):
            continue  # structure reports it
        coding = Coding(_text(raw.get("system")), _text(raw.get("code")) or "", _text(raw.get("version")), _text(raw.get("display")), where)
        if not coding.code:
            issues.append(Issue("error", "required", "invalid-data", f"{where} has no code: send the code itself", (f"{where}.code",), "NO_CODE"))
            continue
        result = validate_code(sources, [coding], options=LENIENT)
        issues += result.issues
        system = result.system or coding.system
        fmt = format_for(system) if system else None
        items.append(CodedItem(
            system=system, code=result.code or coding.code, display=result.display, expression=where, resource=path,
            system_name=fmt.name if fmt else (system or "a code with no system"),
            usable=bool(system) and not any(i.tx_code in UNUSABLE for i in result.issues),
        ))
    return items, issues


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
