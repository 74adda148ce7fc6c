"""OperationOutcome resources in tx.fhir.org's conventions: severity, code, details.coding, text, expression."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .results import SEVERITY_ORDER, Issue

TX_ISSUE_TYPE = "http://hl7.org/fhir/tools/CodeSystem/tx-issue-type"
MESSAGE_ID = "http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id"


def issue_json(issue: Issue) -> dict[str, Any]:
    """One OperationOutcome.issue; `location` repeats `expression` for R4 clients.

    An issue with no tx-issue-type (`tx_code` empty: a malformed request rather than a finding
    about a code) carries only `details.text`, as tx.fhir.org answers it.
    """
    out: dict[str, Any] = {}
    if issue.message_id:
        out["extension"] = [{"url": MESSAGE_ID, "valueString": issue.message_id}]
    out["severity"] = issue.severity
    out["code"] = issue.code
    out["details"] = {"text": issue.text}
    if issue.tx_code:
        out["details"] = {"coding": [{"system": issue.details_system or TX_ISSUE_TYPE, "code": issue.tx_code}], "text": issue.text}
    if issue.expression:
        out["location"] = list(issue.expression)
        out["expression"] = list(issue.expression)
    return out


def sort_issues(issues: Iterable[Issue]) -> list[Issue]:
    """Most severe first, then by place: stable, so identical input gives identical output."""
    return sorted(issues, key=lambda i: (SEVERITY_ORDER.get(i.severity, 9), i.expression, i.text))


def operation_outcome(issues: Iterable[Issue], *, sort: bool = True) -> dict[str, Any]:
    """An OperationOutcome; with no issues, one `information` issue says all is well (FHIR needs one)."""
    ordered = sort_issues(issues) if sort else list(issues)
    if not ordered:
        ordered = [Issue("information", "informational", "process-note", "No issues detected")]
    return {"resourceType": "OperationOutcome", "issue": [issue_json(i) for i in ordered]}
