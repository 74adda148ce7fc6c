"""Shared by the rule-set and rules-engine tests: the shipped rules, encounters built by hand, and a judge
with the shipped content's value-set membership."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ipg_validator.bundle.validate import Judge
from ipg_validator.content.index import ContentIndex
from ipg_validator.rules.case import CodedItem, EncounterCase
from ipg_validator.rules.engine import evaluate
from ipg_validator.content.ruleset import RuleSet
from ipg_validator.core.results import Issue
from ipg_validator.core.systems import ICD10_UK, OPCS4

from conftest import RULES_FILE
RULE_SYSTEM = "https://ipg-validator.org/fhir/CodeSystem/ipg672-rules"
PROFILE = "https://ipg-validator.org/fhir/StructureDefinition/ipg672-encounter-bundle"
ENC = "Bundle.entry[1].resource"

TITLES = {
    "X65.3": "Delivery of a fraction of interstitial radiotherapy",
    "Y36.4": "Introduction of non-removable radioactive substance into organ for brachytherapy NOC",
    "Y53.4": "Approach to organ under fluoroscopic control",
}


# ---------------------------------------------------------------- helpers


def shipped_rules_data() -> dict[str, Any]:
    return json.loads(RULES_FILE.read_text(encoding="utf-8"))


def rule_index(data: dict[str, Any], rule_id: str) -> int:
    return next(n for n, r in enumerate(data["rules"]) if r["id"] == rule_id)


def proc(code: str, n: int, j: int = 0, *, usable: bool = True, system: str | None = OPCS4) -> CodedItem:
    return CodedItem(system, code, None, f"Bundle.entry[{n}].resource.code.coding[{j}]", f"Bundle.entry[{n}].resource", "OPCS-4", usable)


def diag(code: str, n: int, j: int = 0, *, usable: bool = True) -> CodedItem:
    return CodedItem(ICD10_UK, code, None, f"Bundle.entry[{n}].resource.code.coding[{j}]", f"Bundle.entry[{n}].resource", "ICD-10", usable)


def complete_procedures(start: int = 2) -> list[CodedItem]:
    return [proc(c, start + k) for k, c in enumerate(["J12.3", "X65.3", "Y36.4", "Y53.4"])]


def complete_diagnoses(start: int = 10) -> list[CodedItem]:
    return [diag("C78.7", start), diag("Z85.0", start + 1)]


def case(procedures: list[CodedItem] = (), diagnoses: list[CodedItem] = (), *, has_encounter: bool = True, forced: bool = False,
         groups: tuple[tuple[str, str, tuple[CodedItem, ...]], ...] | None = None) -> EncounterCase:
    return EncounterCase(
        label="Encounter/enc-1" if has_encounter else "the Bundle's procedures and conditions",
        expression=ENC if has_encounter else "Bundle",
        procedures=tuple(procedures), diagnoses=tuple(diagnoses),
        procedure_groups=groups if groups is not None else (),
        has_encounter=has_encounter, forced=forced,
    )


@pytest.fixture(scope="module")
def rules(index: ContentIndex) -> RuleSet:
    (found,) = [r for r in index.rule_sets if r.id == "ipg672"]
    return found


@pytest.fixture()
def judge(index: ContentIndex) -> Judge:
    return Judge(index, set())


def run(rules: RuleSet, judge: Judge, c: EncounterCase, rule_id: str | None = None) -> list[Issue]:
    issues = evaluate(rules, c, judge.member, judge.members)
    return [i for i in issues if rule_id is None or i.tx_code == rule_id]
