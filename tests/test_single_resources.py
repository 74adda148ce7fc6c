"""Procedure/$validate and Condition/$validate: one resource's codes against the code systems and the IPG672 sets."""

from __future__ import annotations

from typing import Any

import pytest

from ipg_validator.bundle.validate import resource_findings
from ipg_validator.content.index import ContentIndex
from ipg_validator.core.systems import ICD10_UK, OPCS4


def resource(kind: str, system: str, code: str) -> dict[str, Any]:
    body: dict[str, Any] = {"resourceType": kind, "subject": {"reference": "Patient/p"}, "code": {"coding": [{"system": system, "code": code}]}}
    if kind == "Procedure":
        body["status"] = "completed"
    return body


@pytest.mark.parametrize(("kind", "system", "code"), [
    ("Procedure", OPCS4, "J12.3"), ("Procedure", OPCS4, "Y89.1"), ("Condition", ICD10_UK, "C78.7"), ("Condition", ICD10_UK, "Z85.0"),
])
def test_members_draw_no_finding(index: ContentIndex, kind: str, system: str, code: str) -> None:
    assert resource_findings(resource(kind, system, code), index, kind) == []


@pytest.mark.parametrize(("kind", "system", "code", "rule"), [
    ("Procedure", OPCS4, "Y79.3", "ipg672-procedure-outside"), ("Condition", ICD10_UK, "Z85.1", "ipg672-diagnosis-outside"),
])
def test_codes_outside_the_sets_are_information(index: ContentIndex, kind: str, system: str, code: str, rule: str) -> None:
    [issue] = resource_findings(resource(kind, system, code), index, kind)
    assert (issue.severity, issue.tx_code, issue.expression) == ("information", rule, (f"{kind}.code.coding[0]",))
    assert code in issue.text and "not part of the IPG672 recommendation" in issue.text


def test_nhs_format_and_category(index: ContentIndex) -> None:
    [warning] = resource_findings(resource("Procedure", OPCS4, "J123"), index, "Procedure")
    assert (warning.severity, warning.tx_code, warning.expression) == ("warning", "code-rule", ("Procedure.code.coding[0].code",))
    found = resource_findings(resource("Condition", ICD10_UK, "C18"), index, "Condition")
    # a category is not recordable: never also called "fine as an additional diagnosis"
    assert [(i.severity, i.tx_code) for i in found] == [("error", "invalid-code")]


def test_wrong_resource_type(index: ContentIndex) -> None:
    [issue] = resource_findings(resource("Condition", ICD10_UK, "C78.7"), index, "Procedure")
    assert issue.severity == "error" and "Expected a Procedure" in issue.text
