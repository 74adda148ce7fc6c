"""The IPG672 StructureDefinitions: shape and bindings, and their invariants evaluated with fhirpathpy."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fhir.resources.R4B.structuredefinition import StructureDefinition
from fhirpathpy import compile as fhirpath_compile
from ipg_validator import load_content

from conftest import ICD10_UK, OPCS4, PACK_DIR, RULES_FILE, VS_BASE
from support.profiles import (
    BUNDLE_KEYS,
    BUNDLE_PROFILE,
    ICD10_ALIASES,
    OPCS4_ALIASES,
    PROFILES,
    SD_BASE,
    bundle_constraints,
    condition,
    constraints,
    elements,
    failing,
    procedure,
    profile,
    read,
    rule_ids,
    rules,
    run,
    sirt_bundle,
    value_set_urls,
)

# -- 1. the profiles themselves -----------------------------------------------------------


@pytest.mark.parametrize("id_", sorted(PROFILES))
def test_profile_parses_and_has_metadata(id_: str) -> None:
    data = profile(id_)
    model = StructureDefinition.model_validate(data)
    assert model.id == id_
    assert data["url"] == SD_BASE + id_
    assert data["version"] == "1.0.0"
    assert data["status"] == "active"
    assert data["publisher"] == "ipg-validator"
    assert data["fhirVersion"] == "4.0.1"
    assert data["kind"] == "resource"
    assert data["abstract"] is False
    assert data["derivation"] == "constraint"
    assert data["type"] == PROFILES[id_]
    assert data["baseDefinition"] == "http://hl7.org/fhir/StructureDefinition/" + PROFILES[id_]
    assert "snapshot" not in data
    assert data["differential"]["element"]
    description = data["description"]
    assert "IPG672" in description
    assert "https://www.nice.org.uk/guidance/ipg672" in description
    assert re.search(r"derived .*recommendation that NICE publishes", description, re.IGNORECASE), description
    assert re.search(r"not\s+(?:\w+\s+)*?issued\b.*\bby NICE", description, re.IGNORECASE), description


def test_profile_folder_holds_the_three_profiles() -> None:
    files = {p.name for p in (PACK_DIR / "profiles").glob("*.json")}
    assert {f"StructureDefinition-{id_}.json" for id_ in PROFILES} <= files


def test_profiles_load_into_the_content_index() -> None:
    loaded = {sd["url"] for sd in load_content().resources.get("StructureDefinition", ())}
    assert {SD_BASE + id_ for id_ in PROFILES} <= loaded


def test_rule_file_names_the_bundle_profile() -> None:
    assert read(RULES_FILE)["profile"] == BUNDLE_PROFILE


@pytest.mark.parametrize("id_", sorted(PROFILES))
def test_differential_ids_and_paths_start_with_the_type(id_: str) -> None:
    type_ = PROFILES[id_]
    for element in profile(id_)["differential"]["element"]:
        for name in ("id", "path"):
            value = element[name]
            assert value == type_ or value.startswith(type_ + "."), (name, value)
        assert element["id"] == element["path"]  # no slices: the invariants do the work


@pytest.mark.parametrize("id_", sorted(PROFILES))
def test_bindings_name_shipped_value_sets(id_: str) -> None:
    for element in profile(id_)["differential"]["element"]:
        binding = element.get("binding")
        if binding:
            assert binding["valueSet"] in value_set_urls(), binding["valueSet"]
            assert binding["strength"] == "required"


@pytest.mark.parametrize(
    ("id_", "value_set", "system", "aliases"),
    [
        ("ipg672-procedure", "ipg672-procedures", OPCS4, OPCS4_ALIASES),
        ("ipg672-condition", "ipg672-diagnoses", ICD10_UK, ICD10_ALIASES),
    ],
)
def test_resource_profile_elements(id_: str, value_set: str, system: str, aliases: tuple[str, ...]) -> None:
    type_ = PROFILES[id_]
    els = elements(id_)
    code = els[f"{type_}.code"]
    assert (code["min"], code["max"]) == (1, "1")
    assert code["binding"] == {**code["binding"], "strength": "required", "valueSet": VS_BASE + value_set}
    assert els[f"{type_}.code.coding"]["min"] == 1
    for name in ("subject", "encounter"):
        el = els[f"{type_}.{name}"]
        assert (el["min"], el["max"]) == (1, "1")
    # the system invariant names the canonical URI and every alias the NamingSystems accept
    system_check = next(c for c in code["constraint"] if c["severity"] == "error")
    for uri in (system, *aliases):
        assert f"'{uri}'" in system_check["expression"]


@pytest.mark.parametrize("id_", sorted(PROFILES))
def test_constraints_are_complete_and_name_rules(id_: str) -> None:
    url = SD_BASE + id_
    assert constraints(id_)
    for c in constraints(id_):
        for name in ("key", "severity", "human", "expression"):
            assert c.get(name), (c.get("key"), name)
        assert c["severity"] in ("error", "warning")
        assert c["source"] == url
        assert re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", c["key"])
        named = rule_ids(c["human"])
        assert named, f"{c['key']}: the human text names no rule id in brackets"
        assert set(named) <= set(rules()), (c["key"], named)


def test_constraint_keys_are_unique() -> None:
    keys = [c["key"] for id_ in PROFILES for c in constraints(id_)]
    assert len(keys) == len(set(keys))


def test_bundle_invariants_mirror_the_guidance_rules() -> None:
    cons = bundle_constraints()
    assert set(cons) == set(BUNDLE_KEYS)
    for key, (rule_id, severity) in BUNDLE_KEYS.items():
        c = cons[key]
        assert rule_ids(c["human"]) == [rule_id]
        assert c["severity"] == severity == rules()[rule_id]["severity"], key
        assert "one encounter per Bundle" in c["human"], key
    # every error or warning rule about an encounter's codes has an invariant
    guidance = {r["id"] for r in rules().values() if r.get("in") in ("procedures", "diagnoses") and r["severity"] in ("error", "warning")}
    # (ipg672-primary-resolved reads the Condition's clinicalStatus, a record status, not the encounter's codes)
    assert guidance - {rule_id for rule_id, _ in BUNDLE_KEYS.values()} == {"ipg672-one-code-per-procedure", "ipg672-primary-resolved"}
    assert any("[ipg672-one-code-per-procedure]" in c["human"] for c in constraints("ipg672-procedure"))


def test_bundle_invariants_sit_on_the_bundle_element() -> None:
    els = profile("ipg672-encounter-bundle")["differential"]["element"]
    assert [e["path"] for e in els] == ["Bundle"]


# -- 2. the invariants evaluate with fhirpathpy -------------------------------------------


@pytest.mark.parametrize("key", [c["key"] for id_ in sorted(PROFILES) for c in constraints(id_)])
def test_expression_compiles(key: str) -> None:
    c = next(c for id_ in PROFILES for c in constraints(id_) if c["key"] == key)
    assert callable(fhirpath_compile(c["expression"]))


def test_of_type_works_on_plain_json() -> None:
    bundle = sirt_bundle()
    assert run("entry.resource.ofType(Procedure).id", bundle) == run("entry.resource.where(resourceType='Procedure').id", bundle)
    assert run("entry.resource.ofType(Condition).count()", bundle) == [2]


def test_valid_sirt_bundle_satisfies_every_invariant() -> None:
    assert failing(sirt_bundle()) == set()


def V(bundle: dict[str, Any], expected: set[str], id_: str | None = None) -> Any:  # noqa: N802
    """One variant: its id names the codes, in order, and the invariants it must fail."""
    if id_ is None:
        codes = [c["code"].strip() or "blank" for e in bundle["entry"] for c in (e["resource"].get("code") or {}).get("coding", [])]
        systems = {c["system"] for e in bundle["entry"] for c in (e["resource"].get("code") or {}).get("coding", [])}
        other = sorted(systems - {OPCS4, ICD10_UK})
        id_ = ",".join(codes) + (f"@{'+'.join(other)}" if other else "")
    fails = "+".join(k.removeprefix("ipg672-") for k in sorted(expected)) or "none"
    return pytest.param(bundle, expected, id=f"{id_}->{fails}")


@pytest.mark.parametrize(
    ("bundle", "expected"),
    [
        V(sirt_bundle(procedures=("J12.3", "Y36.4", "Y53.4")), {"ipg672-companion-x65-3"}),
        V(sirt_bundle(procedures=("J12.3", "X65.3", "Y53.4")), {"ipg672-companion-y36-4"}),
        V(sirt_bundle(procedures=("J12.3", "X65.3", "Y36.4")), {"ipg672-companion-y53-4"}),
        V(sirt_bundle(procedures=("J12.3",)), {"ipg672-companion-x65-3", "ipg672-companion-y36-4", "ipg672-companion-y53-4"}),
        V(sirt_bundle(procedures=("J12.3", "X65.3", "Y36.4", "Y89.1", "Y53.4", "Y79.3")), set()),
        V(sirt_bundle(diagnoses=("C18.7",)), {"ipg672-secondary-c78-7"}),
        V(sirt_bundle(diagnoses=("C78.7",)), {"ipg672-primary"}),
        V(sirt_bundle(diagnoses=()), {"ipg672-secondary-c78-7", "ipg672-primary"}),
        V(sirt_bundle(diagnoses=("C78.7", "Z85.0")), set()),
        V(sirt_bundle(diagnoses=("C78.7", "C19")), set()),
        V(sirt_bundle(diagnoses=("C78.7", "C20")), set()),
        V(sirt_bundle(diagnoses=("C78.7", "C18.0", "C20")), set()),  # synchronous primaries: information only
        V(sirt_bundle(diagnoses=("C78.7", "C18.7", "Z85.0")), {"ipg672-primary-contradiction"}),
        V(sirt_bundle(diagnoses=("C78.7", "Z85.0", "C20X")), {"ipg672-primary-contradiction"}),
        V(sirt_bundle(diagnoses=("C78.7", "C18")), {"ipg672-primary"}),  # a category is not a recordable code
        V(sirt_bundle(diagnoses=("C78.7", "C21.0")), {"ipg672-primary"}),
        V(sirt_bundle(diagnoses=("C18.7", "C78.7")), {"ipg672-secondary-first"}),
        V(sirt_bundle(procedures=("X65.3", "J12.3", "Y36.4", "Y53.4")), {"ipg672-sirt-first"}),
        V(sirt_bundle(procedures=("Y53.4", "J12.3", "X65.3", "Y36.4")), {"ipg672-sirt-first", "ipg672-subsidiary-not-first"}),
        V(sirt_bundle(procedures=("Y36.4", "X65.3", "Y53.4", "J12.3")), {"ipg672-sirt-first", "ipg672-subsidiary-not-first"}),
        V(sirt_bundle(procedures=("Y53", "J12.3", "X65.3", "Y36.4")), {"ipg672-companion-y53-4", "ipg672-sirt-first", "ipg672-subsidiary-not-first"}),
        # NHS formats: dotless, lower case, surrounding spaces, X filler
        V(sirt_bundle(procedures=("J123", "X653", "Y364", "Y534"), diagnoses=("C787", "C19X")), set()),
        V(sirt_bundle(procedures=(" j12.3 ", "x65.3", " Y364", "y53.4 "), diagnoses=("c787", "c20x")), set()),
        V(sirt_bundle(diagnoses=("C78.7", "C19.X")), set()),
        V(sirt_bundle(procedures=("y534", "J123", "X653", "Y364")), {"ipg672-sirt-first", "ipg672-subsidiary-not-first"}),
        V(sirt_bundle(diagnoses=("C78.7", "z850", "C187")), {"ipg672-primary-contradiction"}),
        # alias system URIs are accepted
        *[V(sirt_bundle(opcs=alias), set(), f"opcs-alias-{n}") for n, alias in enumerate(OPCS4_ALIASES)],
        *[V(sirt_bundle(icd=alias), set(), f"icd-alias-{n}") for n, alias in enumerate(ICD10_ALIASES)],
        # a code means nothing without its system: OPCS-4 and ICD-10 codes collide
        V(sirt_bundle(icd=OPCS4), {"ipg672-secondary-c78-7", "ipg672-primary"}),
        # no OPCS-4 J12.3: a Bundle claiming the profile must have one; the companion and order checks do not fire
        V(sirt_bundle(opcs=ICD10_UK), {"ipg672-sirt-required"}),
        V(sirt_bundle(opcs="http://snomed.info/sct"), {"ipg672-sirt-required"}),
        # without J12.3 the diagnosis invariants and the J12.3 requirement bind
        V(sirt_bundle(procedures=("X65.3",), diagnoses=()), {"ipg672-sirt-required", "ipg672-secondary-c78-7", "ipg672-primary"}),
    ],
)
def test_variant_fails_exactly(bundle: dict[str, Any], expected: set[str]) -> None:
    assert failing(bundle) == expected


def test_first_procedure_is_the_first_opcs4_coding_of_the_first_procedure_entry() -> None:
    bundle = sirt_bundle()
    first = bundle["entry"][1]["resource"]
    first["code"]["coding"] = [{"system": "http://snomed.info/sct", "code": "1234567"}, {"system": OPCS4, "code": "Y53.4"}, {"system": OPCS4, "code": "J12.3"}]
    assert failing(bundle) == {"ipg672-sirt-first", "ipg672-subsidiary-not-first"}
    first["code"]["coding"].reverse()
    assert failing(bundle) == set()


def test_codings_without_code_or_system_are_ignored() -> None:
    bundle = sirt_bundle()
    bundle["entry"].insert(1, {"resource": {"resourceType": "Procedure", "code": {"coding": [{"code": "Y53.4"}, {"system": OPCS4}]}}})
    bundle["entry"].append({"resource": {"resourceType": "Condition", "code": {"text": "liver metastases"}}})
    # the first Procedure entry has no OPCS-4 coding: no subsidiary code first, but J12.3 is not first either
    assert failing(bundle) == {"ipg672-sirt-first"}


def test_empty_bundle() -> None:
    assert failing({"resourceType": "Bundle", "type": "collection"}) == {"ipg672-sirt-required", "ipg672-secondary-c78-7", "ipg672-primary"}


def _resource_constraint(id_: str, key: str) -> dict[str, Any]:
    return next(c for c in constraints(id_) if c["key"] == key)


@pytest.mark.parametrize(
    ("codings", "expected"),
    [
        ([{"system": OPCS4, "code": "J12.3"}], {"ipg672-proc-1": True, "ipg672-proc-2": True}),
        ([{"system": OPCS4_ALIASES[1], "code": "J123"}], {"ipg672-proc-1": True, "ipg672-proc-2": True}),
        ([{"system": OPCS4, "code": "J12.3"}, {"system": "http://snomed.info/sct", "code": "1234567"}], {"ipg672-proc-1": True, "ipg672-proc-2": True}),
        ([{"system": OPCS4, "code": "J12.3"}, {"system": OPCS4, "code": "Y53.4"}], {"ipg672-proc-1": False, "ipg672-proc-2": True}),
        ([{"system": OPCS4, "code": "J12.3"}, {"system": OPCS4_ALIASES[0], "code": "Y53.4"}], {"ipg672-proc-1": False, "ipg672-proc-2": True}),
        ([{"system": ICD10_UK, "code": "C18.1"}], {"ipg672-proc-1": True, "ipg672-proc-2": False}),
        ([{"code": "J12.3"}], {"ipg672-proc-1": True, "ipg672-proc-2": False}),
    ],
)
def test_procedure_invariants(codings: list[dict[str, str]], expected: dict[str, bool]) -> None:
    proc = procedure("J12.3")["resource"]
    proc["code"]["coding"] = codings
    for key, value in expected.items():
        c = _resource_constraint("ipg672-procedure", key)
        assert run(c["expression"], proc["code"]) == [value], key
    assert {c["key"] for c in constraints("ipg672-procedure")} == set(expected)


@pytest.mark.parametrize(
    ("codings", "expected"),
    [
        ([{"system": ICD10_UK, "code": "C78.7"}], True),
        ([{"system": ICD10_ALIASES[0], "code": "C787"}], True),
        ([{"system": OPCS4, "code": "C18.1"}], False),
        ([{"code": "C78.7"}], False),
    ],
)
def test_condition_invariant(codings: list[dict[str, str]], expected: bool) -> None:
    cond = condition("C78.7")["resource"]
    cond["code"]["coding"] = codings
    (c,) = constraints("ipg672-condition")
    assert run(c["expression"], cond["code"]) == [expected]
