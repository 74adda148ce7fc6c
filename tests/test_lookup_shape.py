"""$lookup answers in the shape real clients read: every top-level parameter carries a value or parts.

Pathling (9.4.0, tests/test_interop_pathling.py) reads each top-level parameter without parts of a
$lookup answer as a property and fails the whole Spark job on one without a value; the answer used to
end with an `issues` OperationOutcome (a `resource`) whenever the lookup met an NHS-format code or an
alias system, so `display()` of such a coding failed. $lookup defines no `issues` output: the warnings
stay with $validate-code and the command line.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from ipg_validator.content.index import ContentIndex
from ipg_validator.fhir.parameters import Params
from ipg_validator.fhir.terminology_ops import lookup_answer

from conftest import ICD10_UK, OPCS4

NOTED = [  # each lookup meets an issue: NHS format, spaces, an alias system URI
    (OPCS4, "J123", "Selective internal radiotherapy with microspheres to lesion of liver"),
    (OPCS4, " Y53.4 ", "Approach to organ under fluoroscopic control"),
    (ICD10_UK, "C19X", "Malignant neoplasm of rectosigmoid junction"),
    ("https://fhir.nhs.uk/Id/opcs-4", "Y53.4", "Approach to organ under fluoroscopic control"),
    ("http://hl7.org/fhir/sid/icd-10", "C78.7", "Secondary malignant neoplasm of liver and intrahepatic bile duct"),
]


def carries_value_or_parts(parameter: dict[str, Any]) -> bool:
    return "part" in parameter or any(key.startswith("value") for key in parameter)


@pytest.mark.parametrize(("system", "code", "title"), NOTED)
@pytest.mark.parametrize("asked", [[("property", "display")], []])
def test_lookup_parameters_all_have_values(client: TestClient, system: str, code: str, title: str, asked: list[tuple[str, str]]) -> None:
    response = client.get("/fhir/CodeSystem/$lookup", params=[("system", system), ("code", code), *asked])
    assert response.status_code == 200, response.text
    parameters = response.json()["parameter"]
    assert all(carries_value_or_parts(p) for p in parameters), [p["name"] for p in parameters if not carries_value_or_parts(p)]
    assert [p["valueString"] for p in parameters if p["name"] == "display"] == [title]


@pytest.mark.parametrize(("system", "code", "title"), NOTED)
def test_lookup_issues_still_reach_the_command_line(index: ContentIndex, system: str, code: str, title: str) -> None:
    """What the Parameters leave out is still said: lookup_answer hands the issues to the CLI."""
    answer, issues = lookup_answer(index, Params([("system", system), ("code", code)]))
    assert all(carries_value_or_parts(p) for p in answer["parameter"])
    assert issues and all(i.severity == "warning" for i in issues)
