"""One encounter of an export, judged as `Bundle/$validate` judges the same encounter put in a Bundle.

The export's lines for one group (an Encounter, its Patient, its Procedures and Conditions; or one
resource that belongs to no encounter) become the entries of a collection Bundle, in that order,
and go through `bundle_findings`: the rules are never restated here. Each finding's place is then
told in the export's terms: the resource (`Procedure/p1`), a FHIRPath from it, file and line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from ..bundle.validate import bundle_findings
from ..content.index import ContentIndex
from ..core.errors import FhirError
from ..core.jsonio import parse_json
from ..core.models import R4_ONLY, model_class
from ..core.outcome import issue_json, sort_issues
from ..core.results import Issue

FILE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/operationoutcome-file"
LINE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-line"
SOURCE_EXTENSION = "https://ipg-validator.org/fhir/StructureDefinition/bulk-source"  # the OperationOutcome's encounter or resource
CODED = ("Procedure", "Condition")
_ENTRY = re.compile(r"^Bundle\.entry\[(\d+)\](?:\.resource)?")
_ENTRY_IN_TEXT = re.compile(r"Bundle\.entry\[(\d+)\](?:\.resource)?")


class Line(NamedTuple):
    """One line of the export: its resource type, file (as reports name it), line number and text."""

    kind: str
    file: str
    line: int
    text: str | None  # None: not kept (not UTF-8, or a type that is not read)


class Finding(NamedTuple):
    """One issue of an export, flat: the columns of the Spark DataFrame and of the summary."""

    group: str  # the encounter (`Encounter/e1`) or the resource the group is made of
    resource: str  # `Procedure/p1`, or `Procedure at FILE line N` for a resource without an id
    file: str
    line: int
    severity: str
    code: str
    rule: str  # the rule id (or tx-issue-type code)
    expression: str  # FHIRPath from the resource, e.g. Procedure.code.coding[0]
    text: str


@dataclass
class Judged:
    """A group's findings, its OperationOutcome and whether the guidance's rules applied to it."""

    group: str
    findings: list[Finding]
    outcome: dict[str, Any]
    applies: bool
    is_encounter: bool


def label(line: Line, resource: Any) -> str:
    """How reports name a resource: `Type/id`, else its type, file and line."""
    rid = resource.get("id") if isinstance(resource, dict) else None
    return f"{line.kind}/{rid}" if isinstance(rid, str) else f"{line.kind} at {line.file} line {line.line}"


def judge(lines: Sequence[Line], index: ContentIndex, *, structure: bool = False, profile: str | None = None) -> Judged:
    """Validate one group of lines (its main resource first) through the Bundle code path."""
    resources: list[tuple[Line, Any]] = []
    unread: list[tuple[Line, Issue]] = []
    for line in lines:
        parsed = parse_line(line.text or "")
        if isinstance(parsed, Issue):
            unread.append((line, parsed))
        else:
            resources.append((line, parsed))
    main = resources[0] if resources else None
    group = label(*main) if main else f"{lines[0].kind} at {lines[0].file} line {lines[0].line}"
    placed: list[tuple[Issue, Line, str]] = [(issue, line, f"{line.kind} at {line.file} line {line.line}") for line, issue in unread]
    if main is not None:
        bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for _, r in resources]}
        for issue in bundle_findings(bundle, index, structure=structure, profile=profile):
            placed.append(_placed(issue, resources))
    oos = {rules.of_kind("out-of-scope").id for rules in index.rule_sets}
    findings, issues = [], []
    for issue, line, resource in placed:
        expression = ", ".join(issue.expression)
        findings.append(Finding(group, resource, line.file, line.line, issue.severity, issue.code, issue.tx_code, expression, issue.text))
        issues.append((issue, line))
    is_encounter = main is not None and main[0].kind == "Encounter"
    applies = bool(index.rule_sets) and main is not None and not any(f.rule in oos for f in findings)
    return Judged(group, findings, outcome(group, main, issues), applies, is_encounter)


def parse_line(text: str) -> Any:
    """A line read as the HTTP layer reads a body (byte order mark, duplicate keys refused)."""
    try:
        value = parse_json(text.encode(), max_depth=None)
    except FhirError as exc:
        return replace(exc.issues[0], expression=(), message_id="NOT_JSON", text=exc.issues[0].text.replace("request body", "line"))
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        return Issue("error", "structure", "invalid-data", "The line is not a FHIR resource: a JSON object with a resourceType", (), "NOT_A_RESOURCE")
    return value


def problem_text(text: str | None, kind: str | None) -> str | None:
    """Why a line is no resource the export can hold (None when it is one): not JSON, no resourceType, an unknown type."""
    if text is None:  # not kept: a line that was not UTF-8, or one of a type that is not read
        return _unknown_type(kind) if kind else "The line is not UTF-8: FHIR NDJSON is UTF-8"
    parsed = parse_line(text)
    if isinstance(parsed, Issue):
        return parsed.text
    return _unknown_type(parsed["resourceType"])


def _unknown_type(kind: str) -> str | None:
    if model_class(kind) is None and kind not in R4_ONLY:
        return f"{kind!r} is not a FHIR R4 resource type: the line cannot be validated"
    return None


def _placed(issue: Issue, resources: list[tuple[Line, Any]]) -> tuple[Issue, Line, str]:
    """The issue with its expressions from the resource rather than the Bundle, and the line it is on."""
    first = None
    expressions = []
    for expression in issue.expression:
        match = _ENTRY.match(expression)
        n = int(match.group(1)) if match else 0  # a Bundle-wide finding belongs to the group's main resource
        line, resource = resources[n]
        first = first or (line, resource)
        expressions.append(line.kind + (expression[match.end():] if match else expression[len("Bundle"):] if expression.startswith("Bundle") else "." + expression))
    line, resource = first or resources[0]
    text = issue.text
    if "Bundle.entry[" in text:
        text = _ENTRY_IN_TEXT.sub(lambda m: _where(resources, int(m.group(1))), text)
    moved = Issue(issue.severity, issue.code, issue.tx_code, text, tuple(expressions), issue.message_id, issue.details_system, issue.in_message)
    return moved, line, label(line, resource)


def _where(resources: list[tuple[Line, Any]], n: int) -> str:
    if n >= len(resources):
        return f"entry {n}"
    line = resources[n][0]
    return f"{line.file} line {line.line}"


def outcome(group: str, main: tuple[Line, Any] | None, issues: list[tuple[Issue, Line]]) -> dict[str, Any]:
    """The OperationOutcome of a group: its issues sorted as `Bundle/$validate` sorts them, each with its file and line."""
    lines = {id(issue): line for issue, line in issues}
    out = []
    for issue in sort_issues(i for i, _ in issues):
        body = issue_json(issue)
        line = lines[id(issue)]
        body["extension"] = [*body.get("extension", []), {"url": FILE_EXTENSION, "valueString": line.file}, {"url": LINE_EXTENSION, "valueInteger": line.line}]
        out.append(body)
    source: dict[str, Any] = {"display": group}
    if main is not None and "/" in group and " " not in group:
        source = {"reference": group, "display": f"{main[0].file} line {main[0].line}"}
    return {"resourceType": "OperationOutcome", "extension": [{"url": SOURCE_EXTENSION, "valueReference": source}], "issue": out}
