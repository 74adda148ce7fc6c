"""Shared by the profile tests: the profiles, their constraints, fhirpathpy evaluation and resources built by hand."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from fhirpathpy import evaluate
from ipg_validator import Terminology, load_content

from conftest import BUNDLE_RULES_FILE, ICD10_UK, OPCS4, PACK_DIR, RULES_FILE, ROOT, VS_BASE, content_files

SD_BASE = "https://ipg-validator.org/fhir/StructureDefinition/"
PROFILES = {
    "ipg672-procedure": "Procedure",
    "ipg672-condition": "Condition",
    "ipg672-encounter-bundle": "Bundle",
}
BUNDLE_PROFILE = SD_BASE + "ipg672-encounter-bundle"
EXAMPLES_DIR = ROOT / "guidance" / "ipg672" / "examples"

OPCS4_ALIASES = (
    "https://fhir.hl7.org.uk/CodeSystem/OPCS-4",
    "https://fhir.nhs.uk/Id/opcs-4",
    "http://fhir.hl7.org.uk/R4/CodeSystem/OPCS-4",
)
ICD10_ALIASES = ("http://hl7.org/fhir/sid/icd-10",)

# Which role ValueSet each encounter-bundle invariant's literal codes come from.
BUNDLE_KEYS = {
    "ipg672-sirt-required": ("ipg672-sirt-required", "error"),
    "ipg672-companion-x65-3": ("ipg672-companion-required", "error"),
    "ipg672-companion-y36-4": ("ipg672-companion-required", "error"),
    "ipg672-companion-y53-4": ("ipg672-companion-required", "error"),
    "ipg672-secondary-c78-7": ("ipg672-secondary-required", "error"),
    "ipg672-primary": ("ipg672-primary-required", "error"),
    "ipg672-primary-contradiction": ("ipg672-primary-contradiction", "warning"),
    "ipg672-subsidiary-not-first": ("ipg672-subsidiary-not-first", "error"),
    "ipg672-sirt-first": ("ipg672-sirt-first", "warning"),
    "ipg672-secondary-first": ("ipg672-secondary-first", "warning"),
}


# -- helpers ------------------------------------------------------------------------------


def read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def profile(id_: str) -> dict[str, Any]:
    return read(PACK_DIR / "profiles" / f"StructureDefinition-{id_}.json")


def elements(id_: str) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in profile(id_)["differential"]["element"]}


def constraints(id_: str) -> list[dict[str, Any]]:
    return [c for e in profile(id_)["differential"]["element"] for c in e.get("constraint", [])]


def bundle_constraints() -> dict[str, dict[str, Any]]:
    return {c["key"]: c for c in constraints("ipg672-encounter-bundle")}


@lru_cache(maxsize=None)
def rules() -> dict[str, dict[str, Any]]:
    return {r["id"]: r for path in (RULES_FILE, BUNDLE_RULES_FILE) for r in read(path)["rules"]}


@lru_cache(maxsize=None)
def value_set_urls() -> frozenset[str]:
    return frozenset(read(p)["url"] for p in content_files("ValueSet-*.json"))


@lru_cache(maxsize=None)
def terminology() -> Terminology:
    return Terminology(load_content())


def expansion(name: str) -> set[str]:
    return {item.code for item in terminology().expand(VS_BASE + name).items}


def rule_ids(human: str) -> list[str]:
    return re.findall(r"\[([a-z0-9-]+)\]", human)


def run(expression: str, resource: dict[str, Any]) -> list[Any]:
    return evaluate(resource, expression)


def holds(constraint: dict[str, Any], resource: dict[str, Any]) -> bool:
    result = run(constraint["expression"], resource)
    assert result in ([True], [False]), f"{constraint['key']} gave {result!r}, not a single boolean"
    return result == [True]


def failing(resource: dict[str, Any]) -> set[str]:
    return {key for key, c in bundle_constraints().items() if not holds(c, resource)}


def procedure(code: str, system: str = OPCS4, n: int = 0) -> dict[str, Any]:
    return {
        "fullUrl": f"urn:uuid:00000000-0000-0000-0000-1000000000{n:02d}",
        "resource": {
            "resourceType": "Procedure",
            "id": f"proc-{n}",
            "status": "completed",
            "code": {"coding": [{"system": system, "code": code}]},
            "subject": {"reference": "Patient/pat-1"},
            "encounter": {"reference": "Encounter/enc-1"},
        },
    }


def condition(code: str, system: str = ICD10_UK, n: int = 0) -> dict[str, Any]:
    return {
        "fullUrl": f"urn:uuid:00000000-0000-0000-0000-2000000000{n:02d}",
        "resource": {
            "resourceType": "Condition",
            "id": f"cond-{n}",
            "code": {"coding": [{"system": system, "code": code}]},
            "subject": {"reference": "Patient/pat-1"},
            "encounter": {"reference": "Encounter/enc-1"},
        },
    }


def sirt_bundle(
    procedures: tuple[str, ...] = ("J12.3", "X65.3", "Y36.4", "Y53.4"),
    diagnoses: tuple[str, ...] = ("C78.7", "C18.7"),
    opcs: str = OPCS4,
    icd: str = ICD10_UK,
) -> dict[str, Any]:
    encounter = {
        "fullUrl": "urn:uuid:00000000-0000-0000-0000-300000000000",
        "resource": {"resourceType": "Encounter", "id": "enc-1", "status": "finished",
                     "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
                     "subject": {"reference": "Patient/pat-1"}},
    }
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "meta": {"profile": [BUNDLE_PROFILE]},
        "entry": [
            encounter,
            *(procedure(code, opcs, n) for n, code in enumerate(procedures)),
            *(condition(code, icd, n) for n, code in enumerate(diagnoses)),
        ],
    }
