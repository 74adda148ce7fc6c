"""What a record says about its codes: statuses, other code systems, the classification per resource, and FHIR's Bundle rules."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from ipg_validator.bundle.validate import bundle_findings, resource_findings
from ipg_validator.content.index import ContentIndex
from ipg_validator.content.ruleset import RuleError, read_rule_set
from ipg_validator.core.results import Issue
from ipg_validator.core.systems import ICD10_UK, OPCS4
from ipg_validator.web.checklist import bundle_checklists

from conftest import BUNDLE_RULES_FILE
SNOMED = "http://snomed.info/sct"
PROCEDURES = ["J12.3", "X65.3", "Y36.4", "Y53.4"]  # entries 2-5
DIAGNOSES = ["C78.7", "C18.7"]  # entries 6-7


def procedure(pid: str, code: str, status: str = "completed", system: str = OPCS4) -> dict[str, Any]:
    return {"resourceType": "Procedure", "id": pid, "status": status, "subject": {"reference": "urn:uuid:pat-1"},
            "encounter": {"reference": "urn:uuid:enc-1"}, "code": {"coding": [{"system": system, "code": code}]}}


def condition(cid: str, code: str, verification: str = "confirmed", clinical: str = "active", system: str = ICD10_UK) -> dict[str, Any]:
    return {"resourceType": "Condition", "id": cid, "subject": {"reference": "urn:uuid:pat-1"}, "encounter": {"reference": "urn:uuid:enc-1"},
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": clinical}]},
            "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": verification}]},
            "code": {"coding": [{"system": system, "code": code}]}}


def sirt(**statuses: str) -> dict[str, Any]:
    """A correctly coded SIRT encounter; `p2="not-done"` sets the status of the Procedure at entry 2, `c6="refuted"` a Condition's."""
    entries: list[dict[str, Any]] = [
        {"resourceType": "Patient", "id": "pat-1"},
        {"resourceType": "Encounter", "id": "enc-1", "status": statuses.get("e1", "finished"), "class": {"code": "IMP"},
         "subject": {"reference": "urn:uuid:pat-1"}},
    ]
    entries += [procedure(f"p{n}", c, statuses.get(f"p{n}", "completed")) for n, c in enumerate(PROCEDURES, 2)]
    entries += [condition(f"c{n}", c, statuses.get(f"c{n}", "confirmed"), statuses.get(f"k{n}", "active")) for n, c in enumerate(DIAGNOSES, 6)]
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in entries]}


def of(issues: list[Issue], rule_id: str) -> list[Issue]:
    return [i for i in issues if i.tx_code == rule_id]


def ids(issues: list[Issue]) -> set[str]:
    return {i.tx_code for i in issues if i.severity != "information" or i.tx_code.startswith("ipg672-")} - {"ipg672-summary", "ipg672-brachytherapy-optional"}


def summary(issues: list[Issue]) -> str:
    (s,) = of(issues, "ipg672-summary")
    return s.text


def test_the_base_encounter_is_clean(index: ContentIndex) -> None:
    issues = bundle_findings(sirt(), index)
    assert ids(issues) == set()
    assert summary(issues).endswith("coded as IPG672 recommends")


# ---------------------------------------------------------------- 1. record statuses


@pytest.mark.parametrize("status", ["not-done", "entered-in-error"])
def test_a_companion_that_was_not_performed_does_not_count(index: ContentIndex, status: str) -> None:
    issues = bundle_findings(sirt(p3=status), index)
    (missing,) = of(issues, "ipg672-companion-required")
    assert "X65.3" in missing.text and f"status is '{status}'" in missing.text and "Bundle.entry[3].resource" in missing.text
    (note,) = of(issues, "ipg672-not-counted")
    assert note.severity == "information" and note.expression == ("Bundle.entry[3].resource.code.coding[0]",)
    assert "X65.3" not in summary(issues).split(";")[0]  # left out of the code string


@pytest.mark.parametrize("status", ["in-progress", "on-hold", "stopped", "unknown"])
def test_a_procedure_status_to_check_counts_with_a_warning(index: ContentIndex, status: str) -> None:
    issues = bundle_findings(sirt(p3=status), index)
    assert ids(issues) == {"ipg672-status-check"}
    (check,) = of(issues, "ipg672-status-check")
    assert check.severity == "warning" and check.expression == ("Bundle.entry[3].resource.status",) and status in check.text


@pytest.mark.parametrize("status", ["not-done", "entered-in-error"])
def test_a_sirt_procedure_not_performed_leaves_the_rules_unapplied(index: ContentIndex, status: str) -> None:
    issues = bundle_findings(sirt(p2=status), index)
    assert ids(issues) == {"ipg672-sirt-not-performed"}
    assert of(issues, "ipg672-out-of-scope") == [] and of(issues, "ipg672-companion-required") == []
    assert summary(issues).endswith("not checked against the IPG672 rules")


def test_a_profile_still_forces_the_rules_when_j12_3_was_not_performed(index: ContentIndex) -> None:
    data = sirt(p2="not-done")
    data["meta"] = {"profile": ["https://ipg-validator.org/fhir/StructureDefinition/ipg672-encounter-bundle"]}
    (required,) = of(bundle_findings(data, index), "ipg672-sirt-required")
    assert "not-done" in required.text


def test_positions_are_judged_over_the_procedures_that_count(index: ContentIndex) -> None:
    data = sirt()
    wrong = copy.deepcopy(data["entry"][5])
    wrong["fullUrl"], wrong["resource"]["id"], wrong["resource"]["status"] = "urn:uuid:px", "px", "entered-in-error"
    data["entry"].insert(2, wrong)  # an entered-in-error Y53.4 first
    issues = bundle_findings(data, index)
    assert ids(issues) == {"ipg672-not-counted"}
    counted = copy.deepcopy(data)
    counted["entry"][2]["resource"]["status"] = "completed"  # the same Bundle with it counted: Y53.4 first is an error
    assert {"ipg672-subsidiary-not-first", "ipg672-sirt-first"} <= ids(bundle_findings(counted, index))


@pytest.mark.parametrize("status", ["refuted", "entered-in-error"])
def test_a_refuted_condition_is_not_a_diagnosis(index: ContentIndex, status: str) -> None:
    issues = bundle_findings(sirt(c6=status), index)
    (missing,) = of(issues, "ipg672-secondary-required")
    assert status in missing.text
    issues = bundle_findings(sirt(c7=status), index)
    (primary,) = of(issues, "ipg672-primary-required")
    assert status in primary.text


@pytest.mark.parametrize("status", ["provisional", "differential", "unconfirmed"])
def test_a_provisional_condition_counts_with_a_warning(index: ContentIndex, status: str) -> None:
    issues = bundle_findings(sirt(c7=status), index)
    assert ids(issues) == {"ipg672-status-check"}
    assert of(issues, "ipg672-status-check")[0].expression == ("Bundle.entry[7].resource.verificationStatus",)


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled"])
def test_an_encounter_in_error_or_cancelled_is_not_judged_but_its_codings_are(index: ContentIndex, status: str) -> None:
    data = sirt(e1=status)
    del data["entry"][3:6]  # companions missing: would be errors if the rules applied
    data["entry"][2]["resource"]["code"]["coding"][0]["code"] = "J123"
    issues = bundle_findings(data, index)
    assert ids(issues) == {"ipg672-encounter-not-applied", "code-rule"}
    (note,) = of(issues, "ipg672-encounter-not-applied")
    assert note.severity == "information" and status in note.text
    (checklist,) = bundle_checklists(index, data)
    assert checklist["applies"] is False


@pytest.mark.parametrize("status", ["resolved", "remission", "inactive"])
def test_a_present_primary_whose_cancer_is_gone_asks_for_z85_0(index: ContentIndex, status: str) -> None:
    issues = bundle_findings(sirt(k7=status), index)
    (gone,) = of(issues, "ipg672-primary-resolved")
    assert gone.severity == "warning" and "Z85.0" in gone.text and status in gone.text
    assert of(bundle_findings(sirt(k6=status), index), "ipg672-primary-resolved") == []  # C78.7 is not a primary


def test_the_checklist_marks_a_not_done_companion_missing(index: ContentIndex) -> None:
    (checklist,) = bundle_checklists(index, sirt(p3="not-done"))
    line = next(i for i in checklist["items"] if i["label"] == "X65.3")
    assert line["status"] == "missing"
    assert [c["code"] for c in checklist["procedures"]] == ["J12.3", "Y36.4", "Y53.4"]  # as the summary's code string
    assert [(c["code"], c["state"]) for c in checklist["notCounted"]] == [("X65.3", "not-counted")]


# ---------------------------------------------------------------- 2. SNOMED CT and other systems


def with_snomed(data: dict[str, Any], n: int, beside: bool = True, system: str | None = None) -> dict[str, Any]:
    coding = {"system": system or SNOMED, "code": "94381002"}
    codings = data["entry"][n]["resource"]["code"]["coding"]
    codings[:] = [coding, *codings] if beside else [coding]
    return data


def test_snomed_beside_icd10_is_information_and_out_of_the_code_string(index: ContentIndex) -> None:
    issues = bundle_findings(with_snomed(sirt(), 6), index)
    assert ids(issues) == {"ipg672-system-not-checked"}
    (note,) = of(issues, "ipg672-system-not-checked")
    assert note.severity == "information" and note.text.startswith("SNOMED CT code 94381002") and "ICD-10 C78.7" in note.text
    assert "94381002" not in summary(issues) and summary(issues).endswith("coded as IPG672 recommends")


def test_any_unknown_system_beside_a_held_one_is_information(index: ContentIndex) -> None:
    issues = bundle_findings(with_snomed(sirt(), 6, system="https://example.nhs.uk/local-codes"), index)
    assert ids(issues) == {"ipg672-system-not-checked"}
    assert "https://example.nhs.uk/local-codes" in of(issues, "ipg672-system-not-checked")[0].text


def test_snomed_alone_is_a_warning_that_ipg672_cannot_be_checked(index: ContentIndex) -> None:
    data = sirt()
    data["entry"].append({"fullUrl": "urn:uuid:c8", "resource": condition("c8", "38341003", system=SNOMED)})
    issues = bundle_findings(data, index)
    assert ids(issues) == {"ipg672-not-checkable"}
    (warning,) = of(issues, "ipg672-not-checkable")
    assert warning.severity == "warning" and warning.expression == ("Bundle.entry[8].resource.code",) and "SNOMED CT" in warning.text


def test_an_unknown_system_alone_keeps_its_not_found_error(index: ContentIndex) -> None:
    data = with_snomed(sirt(), 7, beside=False, system="http://example.org/typo-opcs")
    issues = bundle_findings(data, index)
    assert any(i.tx_code == "not-found" and i.is_error for i in issues)


def test_snomed_alone_on_validate_code_keeps_not_found(index: ContentIndex) -> None:
    from ipg_validator.core.results import Coding
    from ipg_validator.terminology.sources import SourceChain
    from ipg_validator.terminology.validate import validate_code

    result = validate_code(SourceChain([index]), [Coding(SNOMED, "94381002")])
    assert result.result is False and any(i.tx_code == "not-found" for i in result.issues)


def test_a_single_condition_with_snomed_beside(index: ContentIndex) -> None:
    res = condition("c1", "C78.7")
    res["code"]["coding"].insert(0, {"system": SNOMED, "code": "94381002"})
    found = resource_findings(res, index, "Condition")
    assert [(i.severity, i.tx_code) for i in found] == [("information", "ipg672-system-not-checked")]


# ---------------------------------------------------------------- 3. the classification must fit


def test_icd10_on_a_procedure_names_the_fix_and_the_sirt_candidate(index: ContentIndex) -> None:
    data = sirt()
    data["entry"][2]["resource"]["code"]["coding"][0]["system"] = ICD10_UK
    issues = bundle_findings(data, index)
    (wrong,) = of(issues, "ipg672-wrong-classification")
    assert wrong.is_error and "send it as OPCS-4 J12.3 Selective internal radiotherapy" in wrong.text
    (candidate,) = of(issues, "ipg672-sirt-candidate")
    assert candidate.severity == "information" and of(issues, "ipg672-out-of-scope") == []
    assert of(issues, "ipg672-procedure-outside") == []  # not "fine when it was performed"


def test_opcs4_on_a_condition_is_an_error_and_does_not_count(index: ContentIndex) -> None:
    data = sirt()
    data["entry"][7]["resource"]["code"]["coding"][0]["system"] = OPCS4
    issues = bundle_findings(data, index)
    (wrong,) = of(issues, "ipg672-wrong-classification")
    assert "send it as ICD-10 C18.7" in wrong.text
    assert of(issues, "ipg672-primary-required")


def test_a_misfit_without_a_counterpart_says_which_classification(index: ContentIndex) -> None:
    data = sirt()
    data["entry"].append({"fullUrl": "urn:uuid:p8", "resource": procedure("p8", "C78.7", system=ICD10_UK)})
    (wrong,) = of(bundle_findings(data, index), "ipg672-wrong-classification")
    assert "a Procedure is coded with OPCS-4" in wrong.text and "send it as" not in wrong.text


# ---------------------------------------------------------------- 4. FHIR's Bundle and reference rules


def structural(issues: list[Issue]) -> list[tuple[str | None, str]]:
    return sorted((i.message_id, i.expression[0]) for i in issues if i.tx_code == "invalid-data" and i.is_error)


def test_bdl_7_duplicate_full_url_and_type_id(index: ContentIndex) -> None:
    data = sirt()
    data["entry"].append(copy.deepcopy(data["entry"][6]))
    data["entry"].append({"fullUrl": "urn:uuid:other", "resource": {"resourceType": "Patient", "id": "pat-1"}})
    assert structural(bundle_findings(data, index)) == [("BDL_7", "Bundle.entry[8].fullUrl"), ("BDL_7", "Bundle.entry[9].resource.id")]


def test_bdl_7_allows_versions_in_a_history(index: ContentIndex) -> None:
    data = sirt()
    data["type"] = "history"
    for e in data["entry"]:
        e["request"], e["response"] = {"method": "PUT", "url": "x"}, {"status": "200"}
    data["entry"].append(copy.deepcopy(data["entry"][6]))
    assert structural(bundle_findings(data, index)) == []


def test_bdl_3_and_bdl_4_in_a_collection(index: ContentIndex) -> None:
    data = sirt()
    data["entry"][2]["request"] = {"method": "POST", "url": "Procedure"}
    data["entry"][3]["response"] = {"status": "201 Created"}
    assert structural(bundle_findings(data, index)) == [("BDL_3", "Bundle.entry[2].request"), ("BDL_4", "Bundle.entry[3].response")]


def test_bdl_3_a_transaction_entry_needs_its_request(index: ContentIndex) -> None:
    data = sirt()
    data["type"] = "transaction"
    for e in data["entry"][1:]:
        e["request"] = {"method": "POST", "url": e["resource"]["resourceType"]}
    assert structural(bundle_findings(data, index)) == [("BDL_3", "Bundle.entry[0]")]


def test_an_entry_without_resource(index: ContentIndex) -> None:
    data = sirt()
    data["entry"].append({"fullUrl": "urn:uuid:gone"})
    assert structural(bundle_findings(data, index)) == [("BDL_5", "Bundle.entry[8]")]


def test_empty_arrays_and_objects(index: ContentIndex) -> None:
    data = sirt()
    data["entry"][2]["resource"]["note"] = []
    data["entry"][6]["resource"]["bodySite"] = [{}]
    data["entry"][3]["search"] = {}
    found = [(i.expression[0], i.text) for i in bundle_findings(data, index) if "empty" in i.text]
    assert sorted(e for e, _ in found) == ["Bundle.entry[2].resource.note", "Bundle.entry[3].search", "Bundle.entry[6].resource.bodySite[0]"]


def test_the_coding_only_path_skips_the_structure_rules(index: ContentIndex) -> None:
    data = sirt()
    data["entry"][2]["resource"]["note"] = []
    data["entry"].append({"fullUrl": "urn:uuid:gone"})
    assert structural(bundle_findings(data, index, structure=False)) == []


@pytest.mark.parametrize(("element", "path"), [("encounter", "Procedure.encounter"), ("subject", "Procedure.subject")])
def test_a_reference_to_the_wrong_type_is_a_type_mismatch(index: ContentIndex, element: str, path: str) -> None:
    data = sirt()
    data["entry"][5]["resource"][element] = {"reference": "urn:uuid:c6"}  # the C78.7 Condition
    issues = bundle_findings(data, index)
    (mismatch,) = of(issues, "ipg672-reference-type")
    assert mismatch.is_error and mismatch.expression == (f"Bundle.entry[5].resource.{element}",)
    assert path in mismatch.text and "Condition/c6" in mismatch.text and "does not resolve" not in mismatch.text
    assert of(issues, "ipg672-unresolved-reference") == []


def test_a_diagnosis_reference_to_a_patient_is_a_type_mismatch(index: ContentIndex) -> None:
    data = sirt()
    data["entry"][1]["resource"]["diagnosis"] = [{"condition": {"reference": "urn:uuid:pat-1"}}]
    (mismatch,) = of(bundle_findings(data, index), "ipg672-reference-type")
    assert mismatch.expression == ("Bundle.entry[1].resource.diagnosis[0].condition",)


def test_unconfirmed_codes_are_never_called_fine(index: ContentIndex) -> None:
    data = sirt()
    data["entry"].append({"fullUrl": "urn:uuid:c8", "resource": condition("c8", "C34.1")})
    data["entry"].append({"fullUrl": "urn:uuid:c9", "resource": condition("c9", "C18")})
    issues = bundle_findings(data, index)
    assert of(issues, "ipg672-diagnosis-outside") == []
    data["entry"][-1]["resource"]["code"]["coding"][0]["code"] = "C78.0"  # in the fragment: confirmed, outside the sets
    assert [i.expression for i in of(bundle_findings(data, index), "ipg672-diagnosis-outside")] == [("Bundle.entry[9].resource.code.coding[0]",)]


# ---------------------------------------------------------------- the rules data


def test_statuses_come_from_the_rules_file(index: ContentIndex) -> None:
    (rules,) = index.rule_sets
    assert rules.of_kind("not-counted").status("Procedure", "status", "not-done")
    assert not rules.of_kind("not-counted").status("Procedure", "status", "completed")
    assert rules.system_name(SNOMED) == "SNOMED CT"


def test_a_status_rule_without_statuses_is_refused() -> None:
    data = json.loads(BUNDLE_RULES_FILE.read_text())
    for rule in data["rules"]:
        if rule["kind"] == "not-counted":
            del rule["statuses"]
    with pytest.raises(RuleError, match="statuses"):
        read_rule_set(data)
