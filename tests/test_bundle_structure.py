"""FHIR structure of an encounter Bundle, entry by entry: structure_issues and bundle_issues."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from ipg_validator.bundle.structure import MAX_ISSUES_PER_RESOURCE, bundle_issues, structure_issues
from ipg_validator.bundle.validate import bundle_findings
from ipg_validator.content.index import ContentIndex
from ipg_validator.core.results import Issue
from ipg_validator.core.systems import ICD10_UK, OPCS4

ENCOUNTER_CLASS = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"}


def patient() -> dict[str, Any]:
    return {"resourceType": "Patient", "id": "pat-1"}


def encounter() -> dict[str, Any]:
    return {"resourceType": "Encounter", "id": "enc-1", "status": "finished", "class": dict(ENCOUNTER_CLASS), "subject": {"reference": "Patient/pat-1"}}


def procedure(code: Any = "J12.3") -> dict[str, Any]:
    return {
        "resourceType": "Procedure", "id": "proc-1", "status": "completed", "subject": {"reference": "Patient/pat-1"},
        "encounter": {"reference": "Encounter/enc-1"}, "code": {"coding": [{"system": OPCS4, "code": code}]},
    }


def condition(code: Any = "C78.7") -> dict[str, Any]:
    return {"resourceType": "Condition", "id": "cond-1", "subject": {"reference": "Patient/pat-1"},
            "encounter": {"reference": "Encounter/enc-1"}, "code": {"coding": [{"system": ICD10_UK, "code": code}]}}


def bundle(*entries: Any, **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", **extra, "entry": [e if not isinstance(e, dict) or "resourceType" not in e else {"resource": e} for e in entries]}


def assert_well_formed(issues: list[Issue]) -> None:
    for issue in issues:
        assert issue.severity == "error"
        assert issue.code in {"structure", "required", "value", "not-supported", "code-invalid", "invalid"}
        assert issue.tx_code == "invalid-data"
        assert isinstance(issue.text, str) and issue.text.strip()
        assert len(issue.expression) == 1
        assert issue.expression[0].startswith("Bundle")


def expressions(issues: list[Issue]) -> list[str]:
    return [i.expression[0] for i in issues]


# ---------------------------------------------------------------- valid content


def test_a_valid_bundle_has_no_structure_issues() -> None:
    assert bundle_issues(bundle(patient(), encounter(), procedure(), condition())) == []


def test_a_bundle_without_entries_is_fine() -> None:
    assert bundle_issues({"resourceType": "Bundle", "type": "collection"}) == []


def test_an_empty_entry_array_is_an_error() -> None:
    # FHIR JSON never has an empty array: the element is left out instead
    [issue] = bundle_issues({"resourceType": "Bundle", "type": "collection", "entry": []})
    assert (issue.severity, issue.code, issue.expression) == ("error", "structure", ("Bundle.entry",))
    assert "empty array" in issue.text


def test_entry_without_resource_in_a_collection_is_bdl_5() -> None:
    [issue] = bundle_issues(bundle({"fullUrl": "urn:uuid:x"}))
    assert (issue.severity, issue.code, issue.expression, issue.message_id) == ("error", "invariant", ("Bundle.entry[0]",), "BDL_5")


def test_entry_without_resource_is_fine_for_a_delete_request() -> None:
    delete = {"resourceType": "Bundle", "type": "transaction", "entry": [{"request": {"method": "DELETE", "url": "Procedure/p1"}}]}
    assert bundle_issues(delete) == []
    put = {"resourceType": "Bundle", "type": "transaction", "entry": [{"request": {"method": "PUT", "url": "Procedure/p1"}}]}
    assert [i.message_id for i in bundle_issues(put)] == ["BDL_5"]


def test_structure_issues_use_the_given_path() -> None:
    issues = structure_issues({"resourceType": "Procedure", "status": "completed"}, "Procedure")
    assert expressions(issues) == ["Procedure.subject"]


# ---------------------------------------------------------------- resourceType


def test_unknown_resource_type_is_one_error_at_its_resource_type() -> None:
    issues = bundle_issues(bundle(patient(), {"resourceType": "Procedur", "status": "completed", "whatever": 1}))
    assert_well_formed(issues)
    assert expressions(issues) == ["Bundle.entry[1].resource.resourceType"]
    assert issues[0].code == "not-supported"
    assert "Procedur" in issues[0].text


@pytest.mark.parametrize("kind", ["procedure", "PROCEDURE", "", " Procedure"])
def test_resource_type_is_case_and_space_sensitive(kind: str) -> None:
    issues = bundle_issues(bundle({"resourceType": kind, "status": "completed"}))
    assert expressions(issues) == ["Bundle.entry[0].resource.resourceType"]


@pytest.mark.parametrize("kind", ["Coding", "Reference", "Resource", "DomainResource"])
def test_a_datatype_or_abstract_type_is_not_a_resource(kind: str) -> None:
    # FHIR R4: resourceType names a concrete resource; a datatype or an abstract base is none.
    issues = bundle_issues(bundle({"resourceType": kind}))
    assert expressions(issues) == ["Bundle.entry[0].resource.resourceType"]
    assert issues[0].severity == "error"


def test_an_r4_resource_type_is_not_called_unknown() -> None:
    # EffectEvidenceSynthesis is an R4 (4.0.1) resource, removed in R4B; the validator checks FHIR R4.
    issues = bundle_issues(bundle({"resourceType": "EffectEvidenceSynthesis", "status": "active"}))
    assert not [i for i in issues if "Unknown resourceType" in i.text]


@pytest.mark.parametrize("value", [None, 12, ["Procedure"], {"name": "Procedure"}])
def test_missing_or_non_string_resource_type(value: Any) -> None:
    resource: dict[str, Any] = {"id": "x", "status": "completed"}
    if value is not None:
        resource["resourceType"] = value
    issues = bundle_issues(bundle(patient(), {"resource": resource}))
    assert_well_formed(issues)
    assert expressions(issues) == ["Bundle.entry[1].resource.resourceType"]
    assert issues[0].code == "required"


# ---------------------------------------------------------------- types, unknown and required elements


def test_code_as_a_number_is_an_error_at_the_code() -> None:
    issues = bundle_issues(bundle(patient(), encounter(), procedure(code=123)))
    assert_well_formed(issues)
    assert expressions(issues) == ["Bundle.entry[2].resource.code.coding[0].code"]
    assert issues[0].code == "value"
    assert "123" in issues[0].text


def test_status_as_a_boolean_is_an_error_at_the_status() -> None:
    resource = procedure()
    resource["status"] = True
    issues = bundle_issues(bundle(resource))
    assert_well_formed(issues)
    assert "Bundle.entry[0].resource.status" in expressions(issues)


def test_coding_as_an_object_instead_of_a_list() -> None:
    resource = procedure()
    resource["code"] = {"coding": {"system": OPCS4, "code": "J12.3"}}
    issues = bundle_issues(bundle(resource))
    assert_well_formed(issues)
    assert expressions(issues) and all(e.startswith("Bundle.entry[0].resource.code.coding") for e in expressions(issues))


def test_unknown_element_is_an_error_at_it() -> None:
    resource = procedure()
    resource["procedureCode"] = "J12.3"
    issues = bundle_issues(bundle(patient(), resource))
    assert_well_formed(issues)
    assert expressions(issues) == ["Bundle.entry[1].resource.procedureCode"]
    assert issues[0].code == "structure"
    assert "procedureCode" in issues[0].text


def test_unknown_element_inside_a_coding() -> None:
    resource = procedure()
    resource["code"]["coding"][0]["title"] = "SIRT"
    issues = bundle_issues(bundle(resource))
    assert expressions(issues) == ["Bundle.entry[0].resource.code.coding[0].title"]


def test_unknown_element_on_the_bundle_itself() -> None:
    issues = bundle_issues(bundle(patient(), kind="collection"))
    assert_well_formed(issues)
    assert expressions(issues) == ["Bundle.kind"]


@pytest.mark.parametrize("element", ["status", "subject"])
def test_procedure_required_element_missing(element: str) -> None:
    resource = procedure()
    del resource[element]
    issues = bundle_issues(bundle(patient(), resource))
    assert_well_formed(issues)
    assert expressions(issues) == [f"Bundle.entry[1].resource.{element}"]
    assert issues[0].code == "required"
    assert element in issues[0].text


def test_procedure_missing_both_status_and_subject_reports_both() -> None:
    resource = procedure()
    del resource["status"], resource["subject"]
    issues = bundle_issues(bundle(resource))
    assert sorted(expressions(issues)) == ["Bundle.entry[0].resource.status", "Bundle.entry[0].resource.subject"]


def test_encounter_missing_class_and_bundle_missing_type() -> None:
    enc = encounter()
    del enc["class"]
    data = bundle(enc)
    del data["type"]
    issues = bundle_issues(data)
    assert_well_formed(issues)
    assert sorted(expressions(issues)) == ["Bundle.entry[0].resource.class", "Bundle.type"]


def test_condition_missing_subject() -> None:
    resource = condition()
    del resource["subject"]
    assert expressions(bundle_issues(bundle(resource))) == ["Bundle.entry[0].resource.subject"]


# ---------------------------------------------------------------- required bindings


def test_invalid_bundle_type() -> None:
    issues = bundle_issues(bundle(patient(), type="encounter"))
    assert_well_formed(issues)
    assert expressions(issues) == ["Bundle.type"]
    assert issues[0].code == "code-invalid"
    assert "'encounter'" in issues[0].text and "collection" in issues[0].text


@pytest.mark.parametrize("status", ["done", "Completed", "finished"])
def test_invalid_procedure_status(status: str) -> None:
    resource = procedure()
    resource["status"] = status
    issues = bundle_issues(bundle(patient(), resource))
    assert_well_formed(issues)
    assert expressions(issues) == ["Bundle.entry[1].resource.status"]
    assert issues[0].code == "code-invalid"


def test_invalid_encounter_status() -> None:
    enc = encounter()
    enc["status"] = "completed"  # a Procedure status, not an Encounter one
    issues = bundle_issues(bundle(enc))
    assert expressions(issues) == ["Bundle.entry[0].resource.status"]


@pytest.mark.parametrize("status", ["preparation", "in-progress", "not-done", "on-hold", "stopped", "completed", "entered-in-error", "unknown"])
def test_every_procedure_status_is_accepted(status: str) -> None:
    resource = procedure()
    resource["status"] = status
    assert bundle_issues(bundle(resource)) == []


# ---------------------------------------------------------------- entries and resources that are not objects


@pytest.mark.parametrize("entry", [3, "a string", None, ["list"], True])
def test_entry_that_is_not_an_object(entry: Any) -> None:
    issues = bundle_issues({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": patient()}, entry]})
    assert_well_formed(issues)
    assert "Bundle.entry[1]" in expressions(issues)
    assert not [e for e in expressions(issues) if e.startswith("Bundle.entry[0]")]


@pytest.mark.parametrize("resource", [3, "Procedure", ["Procedure"], True])
def test_resource_that_is_not_an_object(resource: Any) -> None:
    issues = bundle_issues({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": resource}]})
    assert_well_formed(issues)
    assert expressions(issues) == ["Bundle.entry[0].resource"]
    assert issues[0].code == "structure"


def test_entry_list_that_is_not_a_list() -> None:
    issues = bundle_issues({"resourceType": "Bundle", "type": "collection", "entry": {"resource": patient()}})
    assert_well_formed(issues)
    assert "Bundle.entry" in expressions(issues)


def test_full_url_that_is_not_a_string() -> None:
    issues = bundle_issues({"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": 7, "resource": patient()}]})
    assert_well_formed(issues)
    assert "Bundle.entry[0].fullUrl" in expressions(issues)


def test_an_issue_per_broken_entry_and_none_for_good_ones() -> None:
    bad_status = procedure()
    bad_status["status"] = "done"
    issues = bundle_issues(bundle(patient(), {"resourceType": "Nope"}, encounter(), bad_status, condition()))
    assert_well_formed(issues)
    assert sorted(expressions(issues)) == ["Bundle.entry[1].resource.resourceType", "Bundle.entry[3].resource.status"]


def test_issues_per_resource_are_capped() -> None:
    resource = procedure()
    resource.update({f"unknown{n}": n for n in range(MAX_ISSUES_PER_RESOURCE + 10)})
    issues = bundle_issues(bundle(resource))
    assert_well_formed(issues)
    assert 1 <= len(issues) <= MAX_ISSUES_PER_RESOURCE


# ---------------------------------------------------------------- a Bundle inside a Bundle


def test_nested_bundle_is_checked_as_a_bundle_without_crashing() -> None:
    inner = {"resourceType": "Bundle", "type": "not-a-type", "entry": [{"resource": {"resourceType": "Nope"}}, 3, {"resource": "x"}]}
    issues = bundle_issues(bundle(patient(), inner))
    assert_well_formed(issues)
    # the inner Bundle's own elements are checked at its place in the outer Bundle
    assert "Bundle.entry[1].resource.type" in expressions(issues)
    assert all(e.startswith("Bundle.entry[1].resource") for e in expressions(issues))
    # and nothing is attributed to the outer Bundle's entries by mistake
    assert not [e for e in expressions(issues) if e.startswith(("Bundle.entry[0]", "Bundle.entry[2]"))]


def test_nested_bundle_through_bundle_findings(index: ContentIndex) -> None:
    inner = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": procedure()}]}
    issues = bundle_findings(bundle(patient(), inner), index)
    for issue in issues:
        assert issue.expression and issue.expression[0].startswith("Bundle")
    # the inner Procedure is not an entry of the outer Bundle: not read as a coded resource
    assert not [i for i in issues if i.tx_code == "ipg672-summary"]


# ---------------------------------------------------------------- every issue is well formed


def test_every_issue_is_well_formed_on_a_very_broken_bundle() -> None:
    broken_proc = procedure(code=5)
    broken_proc["status"] = "done"
    broken_proc["extra"] = {"a": 1}
    del broken_proc["subject"]
    data = {
        "resourceType": "Bundle", "type": "nope", "total": "many", "oops": 1,
        "entry": [
            3, {"resource": 4}, {"fullUrl": 5, "resource": {"resourceType": 6}}, {"resource": {"resourceType": "Nope"}},
            {"resource": broken_proc}, {"resource": {"resourceType": "Bundle", "entry": "x"}},
            {"resource": {"resourceType": "Encounter", "status": 1, "class": "IMP"}},
            {"resource": {"resourceType": "Condition", "subject": 3, "code": {"coding": [None, 1, "x"]}}},
        ],
    }
    issues = bundle_issues(copy.deepcopy(data))
    assert_well_formed(issues)
    places = {e.split(".resource")[0].split(".fullUrl")[0] for e in expressions(issues)}
    assert {"Bundle.entry[0]", "Bundle.entry[1]", "Bundle.entry[2]", "Bundle.entry[3]", "Bundle.entry[4]",
            "Bundle.entry[5]", "Bundle.entry[6]", "Bundle.entry[7]"} <= places
    assert bundle_issues(copy.deepcopy(data)) == issues
