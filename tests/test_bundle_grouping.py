"""Bundles read as encounters: references, grouping, rank order, profile forcing, and the findings on them."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome
from ipg_validator.bundle.validate import bundle_findings, validate_bundle
from ipg_validator.content.index import ContentIndex
from ipg_validator.core.results import Issue
from ipg_validator.core.systems import ICD10_UK, OPCS4

PROFILE = "https://ipg-validator.org/fhir/StructureDefinition/ipg672-encounter-bundle"
ENCOUNTER_CLASS = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"}
COMPLETE_PROCEDURES = ["J12.3", "X65.3", "Y36.4", "Y53.4"]
COMPLETE_DIAGNOSES = ["C78.7", "Z85.0"]


# ---------------------------------------------------------------- builders


def patient(pid: str = "pat-1") -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid}


def encounter(eid: str = "enc-1", subject: str | None = "urn:uuid:pat-1", diagnosis: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    res: dict[str, Any] = {"resourceType": "Encounter", "id": eid, "status": "finished", "class": dict(ENCOUNTER_CLASS)}
    if subject:
        res["subject"] = {"reference": subject}
    if diagnosis is not None:
        res["diagnosis"] = diagnosis
    return res


def procedure(pid: str, codes: list[str] | None, enc: str | None = "urn:uuid:enc-1", subject: str = "urn:uuid:pat-1", system: str = OPCS4) -> dict[str, Any]:
    res: dict[str, Any] = {"resourceType": "Procedure", "id": pid, "status": "completed", "subject": {"reference": subject}}
    if enc:
        res["encounter"] = {"reference": enc}
    if codes is not None:
        res["code"] = {"coding": [{"system": system, "code": c} for c in codes]}
    return res


def condition(cid: str, code: str, enc: str | None = "urn:uuid:enc-1", subject: str = "urn:uuid:pat-1") -> dict[str, Any]:
    res: dict[str, Any] = {"resourceType": "Condition", "id": cid, "subject": {"reference": subject}, "code": {"coding": [{"system": ICD10_UK, "code": code}]}}
    if enc:
        res["encounter"] = {"reference": enc}
    return res


def entry(resource: dict[str, Any], full_url: str | None = None) -> dict[str, Any]:
    if full_url is None:
        full_url = f"urn:uuid:{resource['id']}"
    return {"fullUrl": full_url, "resource": resource} if full_url else {"resource": resource}


def bundle(*entries: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", **extra, "entry": list(entries)}


def coded_entries(enc: str | None = "urn:uuid:enc-1", procedures: list[str] = COMPLETE_PROCEDURES, diagnoses: list[str] = COMPLETE_DIAGNOSES,
                  prefix: str = "", subject: str = "urn:uuid:pat-1") -> list[dict[str, Any]]:
    out = [entry(procedure(f"{prefix}proc-{n}", [c], enc, subject)) for n, c in enumerate(procedures)]
    out += [entry(condition(f"{prefix}cond-{n}", c, enc, subject)) for n, c in enumerate(diagnoses)]
    return out


def complete_bundle(**extra: Any) -> dict[str, Any]:
    return bundle(entry(patient()), entry(encounter()), *coded_entries(), **extra)


def of(issues: list[Issue], rule_id: str) -> list[Issue]:
    return [i for i in issues if i.tx_code == rule_id]


def summaries(issues: list[Issue]) -> list[Issue]:
    return of(issues, "ipg672-summary")


def not_info(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.severity != "information"]


# ---------------------------------------------------------------- a complete encounter, three kinds of reference


def test_complete_bundle_by_urn_uuid(index: ContentIndex) -> None:
    issues = bundle_findings(complete_bundle(), index)
    assert not_info(issues) == []
    (summary,) = summaries(issues)
    assert summary.expression == ("Bundle.entry[1].resource",)
    assert summary.text == "Encounter/enc-1: procedures J12.3 X65.3 Y36.4 Y53.4; diagnoses C78.7 Z85.0; coded as IPG672 recommends"
    assert [i.tx_code for i in issues if i.severity == "information"] == ["ipg672-brachytherapy-optional", "ipg672-summary"]


def test_relative_references_resolve_by_type_and_id(index: ContentIndex) -> None:
    base = "https://ehr.example/fhir/"
    entries = [entry(patient("x"), base + "Patient/x"), entry(encounter("x", subject="Patient/x"), base + "Encounter/x")]
    for n, code in enumerate(COMPLETE_PROCEDURES):
        entries.append(entry(procedure(f"p{n}", [code], "Encounter/x", "Patient/x"), f"{base}Procedure/p{n}"))
    for n, code in enumerate(COMPLETE_DIAGNOSES):
        entries.append(entry(condition(f"c{n}", code, "Encounter/x", "Patient/x"), f"{base}Condition/c{n}"))
    issues = bundle_findings(bundle(*entries), index)
    assert not_info(issues) == []
    assert "coded as IPG672 recommends" in summaries(issues)[0].text
    assert summaries(issues)[0].text.startswith("Encounter/x:")


def test_absolute_reference_equal_to_a_full_url_resolves(index: ContentIndex) -> None:
    base = "https://ehr.example/fhir/"
    entries = [entry(patient("x"), base + "Patient/x"), entry(encounter("x", subject=base + "Patient/x"), base + "Encounter/x")]
    for n, code in enumerate(COMPLETE_PROCEDURES):
        entries.append(entry(procedure(f"p{n}", [code], base + "Encounter/x", base + "Patient/x"), f"{base}Procedure/p{n}"))
    for n, code in enumerate(COMPLETE_DIAGNOSES):
        entries.append(entry(condition(f"c{n}", code, base + "Encounter/x", base + "Patient/x"), f"{base}Condition/c{n}"))
    issues = bundle_findings(bundle(*entries), index)
    assert not_info(issues) == []
    assert "coded as IPG672 recommends" in summaries(issues)[0].text


def test_versioned_relative_reference_resolves(index: ContentIndex) -> None:
    data = complete_bundle()
    data["entry"][2]["resource"]["encounter"] = {"reference": "Encounter/enc-1/_history/3"}
    issues = bundle_findings(data, index)
    assert not_info(issues) == []


def test_absolute_reference_to_another_server_does_not_resolve(index: ContentIndex) -> None:
    base = "https://ehr.example/fhir/"
    entries = [entry(patient("x"), base + "Patient/x"), entry(encounter("x", subject="Patient/x"), base + "Encounter/x")]
    other = "https://other.example/fhir/Encounter/x"
    entries.append(entry(procedure("p0", ["J12.3"], other, "Patient/x"), base + "Procedure/p0"))
    entries += [entry(procedure(f"p{n}", [c], "Encounter/x", "Patient/x"), f"{base}Procedure/p{n}") for n, c in enumerate(COMPLETE_PROCEDURES[1:], 1)]
    entries += [entry(condition(f"c{n}", c, "Encounter/x", "Patient/x"), f"{base}Condition/c{n}") for n, c in enumerate(COMPLETE_DIAGNOSES)]
    issues = bundle_findings(bundle(*entries), index)
    (unresolved,) = of(issues, "ipg672-unresolved-reference")
    assert unresolved.severity == "warning"
    assert unresolved.code == "not-found"
    assert unresolved.expression == ("Bundle.entry[2].resource.encounter",)
    assert other in unresolved.text


def test_urn_reference_that_matches_no_full_url_does_not_resolve_by_id(index: ContentIndex) -> None:
    data = complete_bundle()
    data["entry"][3]["resource"]["encounter"] = {"reference": "urn:uuid:enc-404"}
    issues = bundle_findings(data, index)
    assert [i.expression for i in of(issues, "ipg672-unresolved-reference")] == [("Bundle.entry[3].resource.encounter",)]


def test_encounter_reference_to_a_non_encounter_is_a_type_mismatch(index: ContentIndex) -> None:
    # it resolves (to the Patient), so "does not resolve" would be untrue: the type is what is wrong
    data = complete_bundle()
    data["entry"][3]["resource"]["encounter"] = {"reference": "urn:uuid:pat-1"}
    issues = bundle_findings(data, index)
    assert of(issues, "ipg672-unresolved-reference") == []
    (mismatch,) = of(issues, "ipg672-reference-type")
    assert mismatch.severity == "error" and mismatch.expression == ("Bundle.entry[3].resource.encounter",)
    assert "Patient" in mismatch.text and "must reference Encounter" in mismatch.text and "does not resolve" not in mismatch.text


def test_dangling_subject_reference(index: ContentIndex) -> None:
    data = complete_bundle()
    data["entry"][2]["resource"]["subject"] = {"reference": "Patient/nobody"}
    data["entry"][1]["resource"]["subject"] = {"reference": "Patient/nobody"}
    issues = bundle_findings(data, index)
    unresolved = of(issues, "ipg672-unresolved-reference")
    assert sorted(i.expression for i in unresolved) == [("Bundle.entry[1].resource.subject",), ("Bundle.entry[2].resource.subject",)]
    assert all("Patient" in i.text for i in unresolved)


def test_external_absolute_subject_is_not_unresolved(index: ContentIndex) -> None:
    data = complete_bundle()
    for e in data["entry"][1:]:
        e["resource"]["subject"] = {"reference": "https://pds.example/fhir/Patient/9000000009"}
    issues = bundle_findings(data, index)
    assert not_info(issues) == []


# ---------------------------------------------------------------- encounters judged on their own


def test_two_encounters_each_judged_on_their_own(index: ContentIndex) -> None:
    data = bundle(
        entry(patient()),
        entry(encounter("enc-a")), *coded_entries("urn:uuid:enc-a", prefix="a-"),
        entry(encounter("enc-b")), *coded_entries("urn:uuid:enc-b", procedures=["J12.3", "Y36.4", "Y53.4"], prefix="b-"),
    )
    issues = bundle_findings(data, index)
    by_place = {s.expression: s.text for s in summaries(issues)}
    assert by_place == {
        ("Bundle.entry[1].resource",): "Encounter/enc-a: procedures J12.3 X65.3 Y36.4 Y53.4; diagnoses C78.7 Z85.0; coded as IPG672 recommends",
        ("Bundle.entry[8].resource",): "Encounter/enc-b: procedures J12.3 Y36.4 Y53.4; diagnoses C78.7 Z85.0; not coded as IPG672 recommends: 1 error",
    }
    (missing,) = of(issues, "ipg672-companion-required")
    assert "X65.3" in missing.text and "Encounter/enc-b" in missing.text
    assert missing.expression == ("Bundle.entry[9].resource",)
    assert [i.expression for i in not_info(issues)] == [missing.expression]


def test_a_diagnosis_in_one_encounter_does_not_satisfy_the_other(index: ContentIndex) -> None:
    data = bundle(
        entry(patient()),
        entry(encounter("enc-a")), *coded_entries("urn:uuid:enc-a", prefix="a-"),
        entry(encounter("enc-b")), *coded_entries("urn:uuid:enc-b", diagnoses=["Z85.0"], prefix="b-"),
    )
    issues = bundle_findings(data, index)
    (missing,) = of(issues, "ipg672-secondary-required")
    assert missing.expression == ("Bundle.entry[8].resource",)


def test_encounter_without_j123_is_out_of_scope(index: ContentIndex) -> None:
    data = bundle(entry(patient()), entry(encounter()), *coded_entries(procedures=["X65.3", "Y53.4"], diagnoses=["C78.7"]))
    issues = bundle_findings(data, index)
    (out,) = of(issues, "ipg672-out-of-scope")
    assert out.severity == "information"
    assert out.expression == ("Bundle.entry[1].resource",)
    assert not_info(issues) == []
    assert summaries(issues)[0].text.endswith("not checked against the IPG672 rules")


def test_empty_encounter_gets_a_summary(index: ContentIndex) -> None:
    issues = bundle_findings(bundle(entry(patient()), entry(encounter())), index)
    (summary,) = summaries(issues)
    assert "procedures (none); diagnoses (none)" in summary.text
    assert of(issues, "ipg672-out-of-scope")


# ---------------------------------------------------------------- no encounter, unattributed, ambiguous


def test_no_encounter_reads_the_bundle_as_one_and_applies_the_rules(index: ContentIndex) -> None:
    data = bundle(entry(patient()), *coded_entries(enc=None, procedures=["J12.3", "Y36.4", "Y53.4"]))
    issues = bundle_findings(data, index)
    (none,) = of(issues, "ipg672-no-encounter")
    assert none.severity == "warning"
    assert none.expression == ("Bundle",)
    assert "5 procedures and conditions" in none.text
    (missing,) = of(issues, "ipg672-companion-required")
    assert "X65.3" in missing.text
    assert missing.expression == ("Bundle.entry[1].resource",)  # the J12.3 Procedure
    (summary,) = summaries(issues)
    assert summary.expression == ("Bundle",)
    assert "not coded as IPG672 recommends" in summary.text
    assert not of(issues, "ipg672-unattributed")


def test_no_encounter_diagnosis_rule_anchors_at_the_j123(index: ContentIndex) -> None:
    data = bundle(entry(patient()), *coded_entries(enc=None, diagnoses=["Z85.0"]))
    issues = bundle_findings(data, index)
    (missing,) = of(issues, "ipg672-secondary-required")
    assert missing.expression == ("Bundle.entry[1].resource",)


def test_single_encounter_takes_an_unattributed_condition(index: ContentIndex) -> None:
    entries = coded_entries()
    entries[4]["resource"].pop("encounter")  # the C78.7 Condition
    issues = bundle_findings(bundle(entry(patient()), entry(encounter()), *entries), index)
    (unattributed,) = of(issues, "ipg672-unattributed")
    assert unattributed.severity == "warning"
    assert unattributed.expression == ("Bundle.entry[6].resource",)
    assert "Condition/cond-0" in unattributed.text and "Encounter/enc-1" in unattributed.text and "Condition.encounter" in unattributed.text
    assert not of(issues, "ipg672-secondary-required")  # C78.7 counts
    assert "diagnoses C78.7 Z85.0" in summaries(issues)[0].text


def test_two_encounters_and_an_unattributed_procedure_is_ambiguous(index: ContentIndex) -> None:
    loose = procedure("loose", ["J123"], enc=None)
    data = bundle(
        entry(patient()),
        entry(encounter("enc-a")), *coded_entries("urn:uuid:enc-a", prefix="a-"),
        entry(encounter("enc-b")), *coded_entries("urn:uuid:enc-b", prefix="b-"),
        entry(loose),
    )
    issues = bundle_findings(data, index)
    (ambiguous,) = of(issues, "ipg672-ambiguous-encounter")
    assert ambiguous.severity == "warning"
    assert ambiguous.expression == ("Bundle.entry[15].resource",)
    assert "Procedure/loose" in ambiguous.text and "2 Encounters" in ambiguous.text
    # its codings are still checked: the NHS format is reported at the coding
    format_warnings = [i for i in issues if i.expression and i.expression[0].startswith("Bundle.entry[15].resource.code.coding[0]")]
    assert format_warnings and all(i.severity == "warning" for i in format_warnings)
    assert any("J12.3" in i.text for i in format_warnings)
    # and it counts toward neither encounter
    assert len(summaries(issues)) == 2
    assert all("J12.3 X65.3 Y36.4 Y53.4;" in s.text for s in summaries(issues))
    assert not of(issues, "ipg672-unattributed")


def test_encounter_diagnosis_list_attributes_a_condition(index: ContentIndex) -> None:
    entries = coded_entries()
    entries[4]["resource"].pop("encounter")
    enc = encounter(diagnosis=[{"condition": {"reference": "urn:uuid:cond-0"}}])
    issues = bundle_findings(bundle(entry(patient()), entry(enc), *entries), index)
    assert not_info(issues) == []


def test_encounter_diagnosis_that_does_not_resolve(index: ContentIndex) -> None:
    enc = encounter(diagnosis=[{"condition": {"reference": "urn:uuid:nothing"}}, {"rank": 1}])
    issues = bundle_findings(bundle(entry(patient()), entry(enc), *coded_entries()), index)
    assert sorted(i.expression for i in of(issues, "ipg672-unresolved-reference")) == [
        ("Bundle.entry[1].resource.diagnosis[0].condition",), ("Bundle.entry[1].resource.diagnosis[1].condition",)]


# ---------------------------------------------------------------- subject


def test_subject_mismatch_is_an_error_at_the_subject(index: ContentIndex) -> None:
    entries = coded_entries()
    entries[1]["resource"]["subject"] = {"reference": "urn:uuid:pat-2"}
    issues = bundle_findings(bundle(entry(patient()), entry(patient("pat-2")), entry(encounter()), *entries), index)
    (mismatch,) = of(issues, "ipg672-subject-mismatch")
    assert mismatch.severity == "error"
    assert mismatch.expression == ("Bundle.entry[4].resource.subject",)
    assert "urn:uuid:pat-2" in mismatch.text and "urn:uuid:pat-1" in mismatch.text
    assert "1 error" in summaries(issues)[0].text


def test_same_patient_by_two_kinds_of_reference_is_no_mismatch(index: ContentIndex) -> None:
    entries = coded_entries()
    entries[1]["resource"]["subject"] = {"reference": "Patient/pat-1"}
    issues = bundle_findings(bundle(entry(patient()), entry(encounter()), *entries), index)
    assert not of(issues, "ipg672-subject-mismatch")


# ---------------------------------------------------------------- rank order


def ranked_bundle(c787_rank: int | None, c187_rank: int | None) -> dict[str, Any]:
    conditions = [entry(condition("c-primary", "C18.7")), entry(condition("c-secondary", "C78.7"))]
    diagnosis = []
    if c787_rank is not None:
        diagnosis.append({"condition": {"reference": "urn:uuid:c-secondary"}, "rank": c787_rank})
    if c187_rank is not None:
        diagnosis.append({"condition": {"reference": "urn:uuid:c-primary"}, "rank": c187_rank})
    return bundle(entry(patient()), entry(encounter(diagnosis=diagnosis)), *coded_entries(diagnoses=[]), *conditions)


def test_c787_ranked_first_though_listed_after(index: ContentIndex) -> None:
    issues = bundle_findings(ranked_bundle(1, 2), index)
    assert not of(issues, "ipg672-secondary-first")
    assert "diagnoses C78.7 C18.7" in summaries(issues)[0].text


def test_c787_ranked_second_is_a_warning(index: ContentIndex) -> None:
    issues = bundle_findings(ranked_bundle(2, 1), index)
    (warning,) = of(issues, "ipg672-secondary-first")
    assert "diagnosis 2" in warning.text
    assert warning.expression == ("Bundle.entry[7].resource.code.coding[0]",)


def test_unranked_conditions_follow_entry_order(index: ContentIndex) -> None:
    issues = bundle_findings(ranked_bundle(None, None), index)
    assert len(of(issues, "ipg672-secondary-first")) == 1


def test_ranked_come_before_unranked(index: ContentIndex) -> None:
    issues = bundle_findings(ranked_bundle(1, None), index)
    assert not of(issues, "ipg672-secondary-first")


def test_procedures_ranked_via_encounter_diagnosis(index: ContentIndex) -> None:
    procs = [entry(procedure("p-y53", ["Y53.4"])), entry(procedure("p-x65", ["X65.3"])), entry(procedure("p-y36", ["Y36.4"])), entry(procedure("p-j12", ["J12.3"]))]
    conds = [entry(condition(f"c{n}", c)) for n, c in enumerate(COMPLETE_DIAGNOSES)]
    unranked = bundle(entry(patient()), entry(encounter()), *procs, *conds)
    issues = bundle_findings(unranked, index)
    assert len(of(issues, "ipg672-subsidiary-not-first")) == 1
    assert "procedure 4" in of(issues, "ipg672-sirt-first")[0].text

    ranks = [{"condition": {"reference": "urn:uuid:p-j12"}, "rank": 1}, {"condition": {"reference": "urn:uuid:p-y53"}, "rank": 2}]
    ranked = bundle(entry(patient()), entry(encounter(diagnosis=ranks)), *procs, *conds)
    issues = bundle_findings(ranked, index)
    assert not of(issues, "ipg672-subsidiary-not-first")
    assert not of(issues, "ipg672-sirt-first")
    assert "procedures J12.3 Y53.4 X65.3 Y36.4;" in summaries(issues)[0].text


# ---------------------------------------------------------------- profile forcing


def non_sirt_bundle(**extra: Any) -> dict[str, Any]:
    return bundle(entry(patient()), entry(encounter()), *coded_entries(procedures=["J12.4"], diagnoses=["C78.7", "C20"]), **extra)


def test_without_the_profile_a_non_sirt_encounter_is_out_of_scope(index: ContentIndex) -> None:
    issues = bundle_findings(non_sirt_bundle(), index)
    assert len(of(issues, "ipg672-out-of-scope")) == 1
    assert not of(issues, "ipg672-companion-required")


@pytest.mark.parametrize("how", ["argument", "argument-versioned", "meta", "meta-versioned"])
def test_the_profile_forces_the_rules(index: ContentIndex, how: str) -> None:
    versioned = PROFILE + "|1.0.0"
    if how.startswith("argument"):
        issues = bundle_findings(non_sirt_bundle(), index, profile=versioned if how.endswith("versioned") else PROFILE)
    else:
        issues = bundle_findings(non_sirt_bundle(meta={"profile": [versioned if how.endswith("versioned") else PROFILE]}), index)
    assert not of(issues, "ipg672-out-of-scope")
    assert len(of(issues, "ipg672-companion-required")) == 3
    [missing_sirt] = of(issues, "ipg672-sirt-required")  # the profile says SIRT, the codes do not
    assert missing_sirt.severity == "error" and missing_sirt.expression == ("Bundle.entry[1].resource",)
    assert "not coded as IPG672 recommends: 4 errors" in summaries(issues)[0].text
    assert of(issues, "ipg672-procedure-outside")  # J12.4 is outside the recommendation


def test_another_profile_does_not_force(index: ContentIndex) -> None:
    issues = bundle_findings(non_sirt_bundle(meta={"profile": ["http://example.org/StructureDefinition/other"]}), index, profile="http://example.org/x")
    assert len(of(issues, "ipg672-out-of-scope")) == 1


# ---------------------------------------------------------------- uncoded and unreadable


@pytest.mark.parametrize("code", [None, {}, {"coding": []}, {"text": "SIRT"}])
def test_procedure_with_no_code_is_uncoded(index: ContentIndex, code: Any) -> None:
    data = complete_bundle()
    uncoded = procedure("uncoded", None)
    if code is not None:
        uncoded["code"] = code
    data["entry"].append(entry(uncoded))
    issues = bundle_findings(data, index)
    (warning,) = of(issues, "ipg672-uncoded")
    assert warning.severity == "warning"
    assert warning.expression == ("Bundle.entry[8].resource",)
    assert "Procedure/uncoded" in warning.text and "OPCS-4" in warning.text


def test_condition_with_no_code_is_uncoded(index: ContentIndex) -> None:
    data = complete_bundle()
    cond = condition("uncoded", "C20")
    del cond["code"]
    data["entry"].append(entry(cond))
    (warning,) = of(bundle_findings(data, index), "ipg672-uncoded")
    assert "ICD-10" in warning.text


def test_two_codings_of_an_unknown_system_are_not_called_opcs4_codes(index: ContentIndex) -> None:
    data = complete_bundle()
    odd = procedure("odd", ["A1", "B2"], system="http://example.org/local-codes")
    data["entry"].append(entry(odd))
    issues = bundle_findings(data, index)
    assert not [i for i in of(issues, "ipg672-one-code-per-procedure") if "OPCS-4" in i.text]


@pytest.mark.parametrize("data", [b"not json", b"{", "", b"\xff\xfe", "[1, 2"])
def test_non_json_is_one_error(index: ContentIndex, data: Any) -> None:
    issues = bundle_findings(data, index)
    assert len(issues) == 1
    assert issues[0].severity == "error"
    outcome = validate_bundle(data, index)
    OperationOutcome.model_validate(outcome)
    assert len(outcome["issue"]) == 1


@pytest.mark.parametrize("data", [
    b"[]", b"3", b"null", b'"Bundle"', b'{"resourceType": "Procedure"}', b"{}",
    {"resourceType": "Patient", "id": "x"}, {"resourceType": "bundle"},
])
def test_a_non_bundle_is_one_error(index: ContentIndex, data: Any) -> None:
    issues = bundle_findings(data, index)
    assert len(issues) == 1
    assert issues[0].severity == "error" and issues[0].expression == ("Bundle",)
    OperationOutcome.model_validate(validate_bundle(data, index))


def test_json_bytes_and_parsed_give_the_same_outcome(index: ContentIndex) -> None:
    data = non_sirt_bundle()
    assert validate_bundle(orjson.dumps(data), index) == validate_bundle(data, index) == validate_bundle(orjson.dumps(data).decode(), index)


def test_validate_bundle_outcome_is_valid_fhir(index: ContentIndex) -> None:
    entries = coded_entries(procedures=["Y53.4", "J123", "X65.3"], diagnoses=["Z85.0", "C18.7", "C78.7"])
    outcome = validate_bundle(bundle(entry(patient()), entry(encounter()), *entries), index)
    OperationOutcome.model_validate(outcome)
    severities = [i["severity"] for i in outcome["issue"]]
    assert severities == sorted(severities, key=["fatal", "error", "warning", "information"].index)
    assert {"error", "warning", "information"} <= set(severities)


def test_structure_false_skips_structure_issues(index: ContentIndex) -> None:
    data = complete_bundle(type="nope")
    assert [i for i in bundle_findings(data, index) if i.message_id == "STRUCTURE"]
    assert not [i for i in bundle_findings(data, index, structure=False) if i.message_id == "STRUCTURE"]
