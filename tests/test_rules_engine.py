"""The rules engine, one rule kind at a time, on hand-built encounters (CodedItem lists) with the real
value-set membership of the shipped content, as bundle validation builds it."""

from __future__ import annotations

import pytest
from ipg_validator.bundle.codings import coded_items
from ipg_validator.bundle.validate import Judge
from ipg_validator.rules.case import CodedItem
from ipg_validator.rules.engine import in_scope
from ipg_validator.content.ruleset import RuleSet
from ipg_validator.core.results import Issue
from ipg_validator.core.systems import ICD10_UK, OPCS4

from support.rules import (
    ENC,
    RULE_SYSTEM,
    TITLES,
    case,
    complete_diagnoses,
    complete_procedures,
    diag,
    judge,  # noqa: F401  (a fixture)
    proc,
    rules,  # noqa: F401  (a fixture)
    run,
)

# ---------------------------------------------------------------- engine: require-each


def test_require_each_one_error_per_missing_companion(rules: RuleSet, judge: Judge) -> None:
    found = run(rules, judge, case([proc("J12.3", 2)], complete_diagnoses()), "ipg672-companion-required")
    assert len(found) == 3
    for issue, code in zip(sorted(found, key=lambda i: i.text), ["X65.3", "Y36.4", "Y53.4"]):
        assert issue.severity == "error"
        assert issue.code == "business-rule"
        assert issue.details_system == RULE_SYSTEM
        assert f"{code} {TITLES[code]}" in issue.text
        assert "Encounter/enc-1" in issue.text
        assert issue.expression == ("Bundle.entry[2].resource",)


def test_require_each_only_the_missing_ones(rules: RuleSet, judge: Judge) -> None:
    procedures = [proc("Y53.4", 2), proc("J12.3", 3), proc("X65.3", 4)]
    found = run(rules, judge, case(procedures, complete_diagnoses()), "ipg672-companion-required")
    assert len(found) == 1
    assert "Y36.4" in found[0].text
    # anchored at the J12.3 Procedure, wherever it is
    assert found[0].expression == ("Bundle.entry[3].resource",)


def test_require_each_complete_encounter_has_no_companion_error(rules: RuleSet, judge: Judge) -> None:
    assert run(rules, judge, case(complete_procedures(), complete_diagnoses()), "ipg672-companion-required") == []


def test_require_each_companion_of_the_wrong_system_does_not_count(rules: RuleSet, judge: Judge) -> None:
    procedures = [proc("J12.3", 2), proc("X65.3", 3, system=ICD10_UK), proc("Y36.4", 4), proc("Y53.4", 5)]
    found = run(rules, judge, case(procedures, complete_diagnoses()), "ipg672-companion-required")
    assert [("X65.3" in i.text) for i in found] == [True]


def test_require_each_without_j123_anchors_at_the_encounter(rules: RuleSet, judge: Judge) -> None:
    found = run(rules, judge, case([], [], forced=True), "ipg672-companion-required")
    assert len(found) == 3
    assert {i.expression for i in found} == {(ENC,)}


# ---------------------------------------------------------------- engine: require-any


def test_require_any_brachytherapy_is_information(rules: RuleSet, judge: Judge) -> None:
    found = run(rules, judge, case(complete_procedures(), complete_diagnoses()), "ipg672-brachytherapy-optional")
    assert len(found) == 1
    assert found[0].severity == "information"
    assert found[0].expression == ("Bundle.entry[2].resource",)
    assert "Encounter/enc-1" in found[0].text
    with_y89 = [*complete_procedures(), proc("Y89.1", 9)]
    assert run(rules, judge, case(with_y89, complete_diagnoses()), "ipg672-brachytherapy-optional") == []


def test_require_any_diagnoses_anchor_at_the_encounter(rules: RuleSet, judge: Judge) -> None:
    found = run(rules, judge, case(complete_procedures(), []))
    secondary = [i for i in found if i.tx_code == "ipg672-secondary-required"]
    primary = [i for i in found if i.tx_code == "ipg672-primary-required"]
    assert len(secondary) == len(primary) == 1
    assert secondary[0].severity == primary[0].severity == "error"
    assert secondary[0].expression == primary[0].expression == (ENC,)
    assert "C78.7" in secondary[0].text and "Encounter/enc-1" in secondary[0].text
    assert "Z85.0" in primary[0].text


def test_require_any_diagnoses_without_encounter_anchor_at_the_j123(rules: RuleSet, judge: Judge) -> None:
    procedures = [proc("Y53.4", 2), proc("J12.3", 3), proc("X65.3", 4), proc("Y36.4", 5)]
    found = run(rules, judge, case(procedures, [], has_encounter=False))
    anchors = {i.tx_code: i.expression for i in found if i.tx_code in ("ipg672-secondary-required", "ipg672-primary-required")}
    assert anchors == {"ipg672-secondary-required": ("Bundle.entry[3].resource",), "ipg672-primary-required": ("Bundle.entry[3].resource",)}


def test_require_any_without_encounter_or_j123_anchors_at_bundle(rules: RuleSet, judge: Judge) -> None:
    found = run(rules, judge, case([], [], has_encounter=False, forced=True), "ipg672-secondary-required")
    assert [i.expression for i in found] == [("Bundle",)]


@pytest.mark.parametrize("primary", ["Z85.0", "C18.0", "C18.7", "C18.9", "C19", "C20"])
def test_require_any_each_primary_satisfies_the_rule(rules: RuleSet, judge: Judge, primary: str) -> None:
    found = run(rules, judge, case(complete_procedures(), [diag("C78.7", 10), diag(primary, 11)]))
    assert not [i for i in found if i.tx_code in ("ipg672-primary-required", "ipg672-secondary-required")]


def test_require_any_c78_other_subcode_is_not_the_secondary(rules: RuleSet, judge: Judge) -> None:
    found = run(rules, judge, case(complete_procedures(), [diag("C78.6", 10), diag("C20", 11)]), "ipg672-secondary-required")
    assert len(found) == 1


# ---------------------------------------------------------------- engine: first-not-in / first-in


def test_first_not_in_subsidiary_first_is_an_error(rules: RuleSet, judge: Judge) -> None:
    procedures = [proc("Y53.4", 2), proc("J12.3", 3), proc("X65.3", 4), proc("Y36.4", 5)]
    found = run(rules, judge, case(procedures, complete_diagnoses()), "ipg672-subsidiary-not-first")
    assert len(found) == 1
    assert found[0].severity == "error"
    assert found[0].expression == ("Bundle.entry[2].resource.code.coding[0]",)
    assert "OPCS-4 Y53.4" in found[0].text and "Encounter/enc-1" in found[0].text


def test_first_not_in_j123_first_is_fine(rules: RuleSet, judge: Judge) -> None:
    assert run(rules, judge, case(complete_procedures(), complete_diagnoses()), "ipg672-subsidiary-not-first") == []


def test_first_not_in_x65_first_is_not_subsidiary(rules: RuleSet, judge: Judge) -> None:
    procedures = [proc("X65.3", 2), proc("J12.3", 3), proc("Y36.4", 4), proc("Y53.4", 5)]
    assert run(rules, judge, case(procedures, complete_diagnoses()), "ipg672-subsidiary-not-first") == []


def test_first_in_j123_second_is_a_warning_with_position(rules: RuleSet, judge: Judge) -> None:
    procedures = [proc("Y53.4", 2), proc("J12.3", 3), proc("X65.3", 4), proc("Y36.4", 5)]
    found = run(rules, judge, case(procedures, complete_diagnoses()), "ipg672-sirt-first")
    assert len(found) == 1
    assert found[0].severity == "warning"
    assert found[0].expression == ("Bundle.entry[3].resource.code.coding[0]",)
    assert "procedure 2 of Encounter/enc-1" in found[0].text
    assert "after Y53.4" in found[0].text


def test_first_in_position_counts_usable_items(rules: RuleSet, judge: Judge) -> None:
    procedures = [proc("X65.3", 2), proc("Y36.4", 3), proc("Y53.4", 4), proc("J12.3", 5)]
    found = run(rules, judge, case(procedures, complete_diagnoses()), "ipg672-sirt-first")
    assert "procedure 4 of" in found[0].text


def test_first_in_not_reported_when_j123_absent(rules: RuleSet, judge: Judge) -> None:
    procedures = [proc("X65.3", 2), proc("Y36.4", 3), proc("Y53.4", 4)]
    assert run(rules, judge, case(procedures, complete_diagnoses(), forced=True), "ipg672-sirt-first") == []


def test_first_in_c787_not_first_is_a_warning(rules: RuleSet, judge: Judge) -> None:
    found = run(rules, judge, case(complete_procedures(), [diag("Z85.0", 10), diag("C78.7", 11)]), "ipg672-secondary-first")
    assert len(found) == 1
    assert found[0].severity == "warning"
    assert "diagnosis 2" in found[0].text
    assert found[0].expression == ("Bundle.entry[11].resource.code.coding[0]",)
    assert run(rules, judge, case(complete_procedures(), complete_diagnoses()), "ipg672-secondary-first") == []


# ---------------------------------------------------------------- engine: not-together / at-most-one


def test_not_together_z850_with_c187_warns_at_c187(rules: RuleSet, judge: Judge) -> None:
    diagnoses = [diag("C78.7", 10), diag("Z85.0", 11), diag("C18.7", 12)]
    found = run(rules, judge, case(complete_procedures(), diagnoses), "ipg672-primary-contradiction")
    assert len(found) == 1
    assert found[0].severity == "warning"
    assert found[0].expression == ("Bundle.entry[12].resource.code.coding[0]",)
    assert "C18.7" in found[0].text and "Z85.0" in found[0].text


def test_not_together_one_warning_per_present_primary(rules: RuleSet, judge: Judge) -> None:
    diagnoses = [diag("C78.7", 10), diag("C20", 11), diag("Z85.0", 12), diag("C19", 13)]
    found = run(rules, judge, case(complete_procedures(), diagnoses), "ipg672-primary-contradiction")
    assert sorted(i.expression for i in found) == [("Bundle.entry[11].resource.code.coding[0]",), ("Bundle.entry[13].resource.code.coding[0]",)]


@pytest.mark.parametrize("diagnoses", [["C78.7", "Z85.0"], ["C78.7", "C18.7"], ["C78.7", "C18.7", "C20"]])
def test_not_together_needs_both(rules: RuleSet, judge: Judge, diagnoses: list[str]) -> None:
    items = [diag(c, 10 + n) for n, c in enumerate(diagnoses)]
    assert run(rules, judge, case(complete_procedures(), items), "ipg672-primary-contradiction") == []


def test_at_most_one_two_present_primaries_is_information_at_the_second(rules: RuleSet, judge: Judge) -> None:
    diagnoses = [diag("C78.7", 10), diag("C18.7", 11), diag("C20", 12)]
    found = run(rules, judge, case(complete_procedures(), diagnoses), "ipg672-synchronous-primaries")
    assert len(found) == 1
    assert found[0].severity == "information"
    assert found[0].expression == ("Bundle.entry[12].resource.code.coding[0]",)
    assert "C18.7" in found[0].text and "C20" in found[0].text


def test_at_most_one_same_code_twice_is_nothing(rules: RuleSet, judge: Judge) -> None:
    diagnoses = [diag("C78.7", 10), diag("C18.7", 11), diag("C18.7", 12)]
    assert run(rules, judge, case(complete_procedures(), diagnoses), "ipg672-synchronous-primaries") == []


# ---------------------------------------------------------------- engine: each-outside


def test_each_outside_y793_is_information(rules: RuleSet, judge: Judge) -> None:
    procedures = [*complete_procedures(), proc("Y79.3", 9)]
    found = run(rules, judge, case(procedures, complete_diagnoses()), "ipg672-procedure-outside")
    assert len(found) == 1
    assert found[0].severity == "information"
    assert found[0].expression == ("Bundle.entry[9].resource.code.coding[0]",)
    assert "OPCS-4 Y79.3" in found[0].text
    assert not [i for i in run(rules, judge, case(procedures, complete_diagnoses())) if i.severity == "error"]


def test_each_outside_members_are_not_reported(rules: RuleSet, judge: Judge) -> None:
    procedures = [*complete_procedures(), proc("Y89.1", 9)]
    assert run(rules, judge, case(procedures, complete_diagnoses()), "ipg672-procedure-outside") == []


def test_a_complete_encounter_has_no_findings(rules: RuleSet, judge: Judge) -> None:
    procedures = [*complete_procedures(), proc("Y89.1", 9)]
    assert run(rules, judge, case(procedures, complete_diagnoses())) == []


# ---------------------------------------------------------------- engine: single-coding


def test_single_coding_four_opcs_codings_in_one_procedure(rules: RuleSet, judge: Judge) -> None:
    items = tuple(proc(c, 2, j) for j, c in enumerate(["J12.3", "X65.3", "Y36.4", "Y53.4"]))
    c = case(list(items), complete_diagnoses(), groups=(("Bundle.entry[2].resource.code", "Procedure/p1", items),))
    found = run(rules, judge, c, "ipg672-one-code-per-procedure")
    assert len(found) == 1
    assert found[0].severity == "warning"
    assert found[0].expression == ("Bundle.entry[2].resource.code",)
    assert "Procedure/p1 carries 4 OPCS-4 codes (J12.3, X65.3, Y36.4, Y53.4)" in found[0].text
    # read in order as the code string: no companion or order findings
    assert not [i for i in run(rules, judge, c) if i.tx_code != "ipg672-one-code-per-procedure" and i.severity != "information"]


def test_single_coding_one_code_per_procedure_is_fine(rules: RuleSet, judge: Judge) -> None:
    items = complete_procedures()
    groups = tuple((f"Bundle.entry[{2 + n}].resource.code", f"Procedure/p{n}", (i,)) for n, i in enumerate(items))
    assert run(rules, judge, case(items, complete_diagnoses(), groups=groups), "ipg672-one-code-per-procedure") == []


def test_single_coding_ignores_codings_of_other_systems(rules: RuleSet, judge: Judge) -> None:
    items = (proc("J12.3", 2, 0), CodedItem("http://snomed.info/sct", "1234", None, "Bundle.entry[2].resource.code.coding[1]", "Bundle.entry[2].resource", "SNOMED CT", True))
    c = case([items[0]], complete_diagnoses(), groups=(("Bundle.entry[2].resource.code", "Procedure/p1", items),))
    assert run(rules, judge, c, "ipg672-one-code-per-procedure") == []


def test_single_coding_ignores_unusable_codings(rules: RuleSet, judge: Judge) -> None:
    # Codings of a system nobody knows are not OPCS-4 codes and count toward no rule.
    items = tuple(CodedItem("http://example.org/unknown", c, None, f"Bundle.entry[2].resource.code.coding[{j}]", "Bundle.entry[2].resource", "http://example.org/unknown", False)
                  for j, c in enumerate(["A", "B"]))
    c = case([proc("J12.3", 3)], complete_diagnoses(), groups=(("Bundle.entry[2].resource.code", "Procedure/p1", items),))
    assert run(rules, judge, c, "ipg672-one-code-per-procedure") == []


# ---------------------------------------------------------------- in_scope and unusable items


def test_in_scope_with_j123(rules: RuleSet, judge: Judge) -> None:
    assert in_scope(rules, case([proc("X65.3", 2), proc("J12.3", 3)]), judge.member)


def test_not_in_scope_without_j123(rules: RuleSet, judge: Judge) -> None:
    assert not in_scope(rules, case([proc("X65.3", 2), proc("J12.4", 3)], complete_diagnoses()), judge.member)
    assert not in_scope(rules, case([], []), judge.member)


def test_j123_as_a_diagnosis_does_not_bring_into_scope(rules: RuleSet, judge: Judge) -> None:
    assert not in_scope(rules, case([], [diag("J12.3", 10)]), judge.member)


def test_in_scope_when_forced(rules: RuleSet, judge: Judge) -> None:
    assert in_scope(rules, case([proc("X65.3", 2)], forced=True), judge.member)
    assert in_scope(rules, case([], [], has_encounter=False, forced=True), judge.member)


def test_in_scope_with_an_nhs_format_code(rules: RuleSet, judge: Judge) -> None:
    resource = {"resourceType": "Procedure", "code": {"coding": [{"system": OPCS4, "code": "J123"}]}}
    items, issues = coded_items(judge.sources, resource, "Bundle.entry[2].resource")
    assert [i.code for i in items] == ["J12.3"]
    assert items[0].usable
    assert any(i.severity == "warning" for i in issues)  # normalised, never silently
    assert in_scope(rules, case(items), judge.member)


def test_in_scope_j123_of_icd10_system_does_not_count(rules: RuleSet, judge: Judge) -> None:
    assert not in_scope(rules, case([proc("J12.3", 2, system=ICD10_UK)]), judge.member)


def test_unusable_j123_does_not_bring_into_scope(rules: RuleSet, judge: Judge) -> None:
    assert not in_scope(rules, case([proc("J12.3", 2, usable=False)]), judge.member)


def test_unusable_items_never_count(rules: RuleSet, judge: Judge) -> None:
    procedures = [proc("Y53.4", 2, usable=False), proc("J12.3", 3), proc("X65.3", 4, usable=False), proc("Y36.4", 5),
                  proc("Y53.4", 6), proc("Y79.3", 7, usable=False), proc("Y89.1", 8, usable=False)]
    diagnoses = [diag("Z85.0", 9, usable=False), diag("C78.7", 10, usable=False), diag("C20", 11), diag("C18.7", 12, usable=False)]
    found = run(rules, judge, case(procedures, diagnoses))
    by_rule: dict[str, list[Issue]] = {}
    for issue in found:
        by_rule.setdefault(issue.tx_code, []).append(issue)
    # unusable Y53.4 first is not "first"; J12.3 is the first usable procedure
    assert "ipg672-subsidiary-not-first" not in by_rule
    assert "ipg672-sirt-first" not in by_rule
    # unusable X65.3 does not satisfy the companion rule; unusable Y89.1 not the brachytherapy one
    assert ["X65.3" in i.text for i in by_rule["ipg672-companion-required"]] == [True]
    assert len(by_rule["ipg672-brachytherapy-optional"]) == 1
    # unusable Y79.3 is not reported as outside
    assert "ipg672-procedure-outside" not in by_rule
    # unusable C78.7 does not satisfy the secondary rule; unusable Z85.0 and C18.7 contradict nothing
    assert len(by_rule["ipg672-secondary-required"]) == 1
    assert "ipg672-primary-contradiction" not in by_rule
    assert "ipg672-synchronous-primaries" not in by_rule
    assert "ipg672-secondary-first" not in by_rule


def test_evaluate_is_pure(rules: RuleSet, judge: Judge) -> None:
    c = case([proc("Y53.4", 2), proc("J12.3", 3)], [diag("C18.7", 10), diag("C20", 11)])
    assert run(rules, judge, c) == run(rules, judge, c) == run(rules, Judge(judge.index, set()), c)
