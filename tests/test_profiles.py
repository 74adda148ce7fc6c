"""The IPG672 StructureDefinitions: shape, bindings, invariants evaluated with fhirpathpy, agreement
with the ValueSets and with the worked examples."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.structuredefinition import StructureDefinition
from fhirpathpy import compile as fhirpath_compile
from fhirpathpy import evaluate
from ipg_validator import Terminology, load_content

from conftest import ICD10_UK, OPCS4, PROFILES_DIR, ROOT, VALUESETS_DIR, VS_BASE

SD_BASE = "https://ipg-validator.org/fhir/StructureDefinition/"
PROFILES = {
    "ipg672-procedure": "Procedure",
    "ipg672-condition": "Condition",
    "ipg672-encounter-bundle": "Bundle",
}
BUNDLE_PROFILE = SD_BASE + "ipg672-encounter-bundle"
EXAMPLES_DIR = ROOT / "examples"

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
    return read(PROFILES_DIR / f"StructureDefinition-{id_}.json")


def elements(id_: str) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in profile(id_)["differential"]["element"]}


def constraints(id_: str) -> list[dict[str, Any]]:
    return [c for e in profile(id_)["differential"]["element"] for c in e.get("constraint", [])]


def bundle_constraints() -> dict[str, dict[str, Any]]:
    return {c["key"]: c for c in constraints("ipg672-encounter-bundle")}


@lru_cache(maxsize=None)
def rules() -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in read(VALUESETS_DIR / "ipg672.rules.json")["rules"]}


@lru_cache(maxsize=None)
def value_set_urls() -> frozenset[str]:
    return frozenset(read(p)["url"] for p in VALUESETS_DIR.glob("ValueSet-*.json"))


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
    files = {p.name for p in PROFILES_DIR.glob("*.json")}
    assert {f"StructureDefinition-{id_}.json" for id_ in PROFILES} <= files


def test_profiles_load_into_the_content_index() -> None:
    loaded = {sd["url"] for sd in load_content().resources.get("StructureDefinition", ())}
    assert {SD_BASE + id_ for id_ in PROFILES} <= loaded


def test_rule_file_names_the_bundle_profile() -> None:
    assert read(VALUESETS_DIR / "ipg672.rules.json")["profile"] == BUNDLE_PROFILE


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
    assert guidance - {rule_id for rule_id, _ in BUNDLE_KEYS.values()} == {"ipg672-one-code-per-procedure"}
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


# -- 3. the invariants agree with the ValueSets -------------------------------------------


def literal_codes(expression: str) -> set[str]:
    """The code literals of an expression: quoted strings that are not system URIs or patterns."""
    return {s for s in re.findall(r"'([^']*)'", expression) if re.fullmatch(r"[A-Z][0-9]{2}[0-9X]?", s)}


def dotless(code: str) -> set[str]:
    """The normalised forms an invariant must accept for a dotted FHIR code (C19 -> C19, C19X)."""
    bare = code.replace(".", "")
    return {bare, bare + "X"} if len(bare) == 3 else {bare}


def forms(codes: set[str]) -> set[str]:
    return {f for code in codes for f in dotless(code)}


def test_literal_codes_parse_as_expected() -> None:
    assert literal_codes("x in ('http://hl7.org/fhir/sid/icd-10' | 'C19' | 'C19X' | 'J123') and y.matches('^[YZ]')") == {"C19", "C19X", "J123"}
    assert forms({"C19", "C78.7"}) == {"C19", "C19X", "C787"}


def test_companion_invariants_match_companion_value_set() -> None:
    cons = bundle_constraints()
    companions = expansion("ipg672-companion-procedures")
    sirt = expansion("ipg672-sirt-procedure")
    keys = [k for k in cons if k.startswith("ipg672-companion-")]
    assert len(keys) == len(companions)  # one invariant per companion code
    required: set[str] = set()
    for key in keys:
        codes = literal_codes(cons[key]["expression"])
        assert forms(sirt) <= codes, key  # guarded by J12.3
        (own,) = codes - forms(sirt)
        required.add(own)
        assert key == "ipg672-companion-" + {c for c in companions if c.replace(".", "") == own}.pop().lower().replace(".", "-")
    assert required == forms(companions)


@pytest.mark.parametrize(
    ("key", "value_sets"),
    [
        ("ipg672-secondary-c78-7", ("ipg672-secondary",)),
        ("ipg672-primary", ("ipg672-primary",)),
        ("ipg672-primary-contradiction", ("ipg672-primary-eradicated", "ipg672-primary-present")),
        ("ipg672-sirt-first", ("ipg672-sirt-procedure",)),
        ("ipg672-sirt-required", ("ipg672-sirt-procedure",)),
        ("ipg672-secondary-first", ("ipg672-secondary",)),
    ],
)
def test_invariant_codes_match_value_sets(key: str, value_sets: tuple[str, ...]) -> None:
    expected: set[str] = set()
    for name in value_sets:
        members = expansion(name)
        assert members, name
        expected |= members
    assert literal_codes(bundle_constraints()[key]["expression"]) == forms(expected)


def test_primary_value_set_is_present_plus_eradicated() -> None:
    assert expansion("ipg672-primary") == expansion("ipg672-primary-present") | expansion("ipg672-primary-eradicated")


def test_contradiction_sides_match_value_sets() -> None:
    left, right = bundle_constraints()["ipg672-primary-contradiction"]["expression"].split(" and entry.")
    assert literal_codes(left) == forms(expansion("ipg672-primary-eradicated"))
    assert literal_codes(right) == forms(expansion("ipg672-primary-present"))


def test_subsidiary_pattern_matches_subsidiary_value_set() -> None:
    expression = bundle_constraints()["ipg672-subsidiary-not-first"]["expression"]
    (pattern,) = re.findall(r"matches\('([^']*)'\)", expression)
    subsidiary = expansion("opcs4-subsidiary")
    assert subsidiary
    fragment = next(cs for cs in load_content().resources["CodeSystem"] if cs["url"] == OPCS4)

    def walk(concepts: list[dict[str, Any]]) -> list[str]:
        return [code for c in concepts for code in (c["code"], *walk(c.get("concept", [])))]

    codes = walk(fragment["concept"])
    assert {"J12.3", "X65.3", "Y53.4", "Y89"} <= set(codes)
    for code in codes:
        assert bool(re.search(pattern, code.replace(".", ""))) == (code in subsidiary), code


def test_invariant_systems_match_naming_systems() -> None:
    aliases = dict(load_content().aliases)
    expected = {OPCS4, ICD10_UK, *aliases}
    assert {alias for alias, canonical in aliases.items() if canonical == OPCS4} == set(OPCS4_ALIASES)
    assert {alias for alias, canonical in aliases.items() if canonical == ICD10_UK} == set(ICD10_ALIASES)
    used = {s for id_ in PROFILES for c in constraints(id_) for s in re.findall(r"'((?:https?|urn):[^']*)'", c["expression"])}
    assert used == expected


# -- 4. the invariants agree with the worked examples -------------------------------------

# The guidance rules whose errors the encounter-bundle invariants mirror, and whose warnings.
MIRRORED = {"ipg672-companion-required", "ipg672-secondary-required", "ipg672-primary-required", "ipg672-subsidiary-not-first"}
MIRRORED_WARNINGS = {"ipg672-primary-contradiction", "ipg672-sirt-first", "ipg672-secondary-first"}
OPCS4_SYSTEMS = {OPCS4, *OPCS4_ALIASES}


def expected_path(example: Path) -> Path:
    return example.with_name(example.name[: -len(".json")] + ".expected.json")


def example_pairs() -> list[tuple[Path, Path]]:
    if not EXAMPLES_DIR.is_dir():
        return []
    return sorted(
        (p, expected_path(p))
        for p in EXAMPLES_DIR.rglob("*.json")
        if not p.name.endswith(".expected.json") and expected_path(p).is_file()
    )


def resources_of(bundle: dict[str, Any], kind: str) -> list[tuple[int, dict[str, Any]]]:
    return [(n, e["resource"]) for n, e in enumerate(bundle.get("entry", [])) if (e.get("resource") or {}).get("resourceType") == kind]


def rank_order_is_entry_order(bundle: dict[str, Any], kind: str) -> bool:
    """Whether the rule engine reads `kind` resources in entry order.

    The engine puts the targets of the Encounter's ranked `diagnosis` first, by rank, and the
    unranked after them in entry order; the invariants only know entry order.
    """
    names: dict[str, int] = {}
    for n, entry in enumerate(bundle.get("entry", [])):
        resource = entry.get("resource") or {}
        if entry.get("fullUrl"):
            names[entry["fullUrl"]] = n
        if resource.get("id"):
            names[f"{resource.get('resourceType')}/{resource['id']}"] = n
    ranks: dict[int, tuple[int, int]] = {}
    for _, encounter in resources_of(bundle, "Encounter"):
        for m, diagnosis in enumerate(encounter.get("diagnosis", [])):
            target = names.get((diagnosis.get("condition") or {}).get("reference", ""))
            rank = diagnosis.get("rank")
            if target is not None and isinstance(rank, int) and not isinstance(rank, bool):
                ranks.setdefault(target, (rank, m))
    entry_order = [n for n, _ in resources_of(bundle, kind)]
    engine_order = sorted(entry_order, key=lambda n: (0, *ranks[n]) if n in ranks else (1, n, 0))
    return engine_order == entry_order


def comparable(bundle: Any, kinds: tuple[str, ...] = ("Procedure",)) -> bool:
    """Whether the invariants can judge this example the way the rule engine does.

    The invariants read the whole Bundle as one encounter, take procedures (and diagnoses) in
    entry order and apply only when an OPCS-4 J12.3 is present. The rule engine groups by
    Encounter, orders by the Encounter's diagnosis ranks when given, reads its first procedure
    from the first coding of any system, and applies every rule once the caller names the profile
    even without J12.3. Examples where these differ are left out of the comparison (they are still
    checked to have their expected outcome beside them).
    """
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return False
    if len(resources_of(bundle, "Encounter")) > 1:  # several encounters: the engine judges each on its own
        return False
    if not all(rank_order_is_entry_order(bundle, kind) for kind in kinds):  # ranked out of entry order
        return False
    for _, proc in resources_of(bundle, "Procedure"):
        codings = (proc.get("code") or {}).get("coding", [])
        if len(codings) > 1:  # several codings in one Procedure: one code string, not one Procedure each
            return False
        if any(c.get("system") not in OPCS4_SYSTEMS for c in codings):  # the engine's first procedure may be another system's
            return False
    systems = " | ".join(f"'{s}'" for s in sorted(OPCS4_SYSTEMS))
    sirt = run(f"entry.resource.ofType(Procedure).code.coding.where(system in ({systems}) "
               "and code.upper().replace('.', '').trim() = 'J123').exists()", bundle)
    return sirt == [True]  # without J12.3 the engine applies the rules only when the profile is asked for


CASES = example_pairs()


def test_examples_layout() -> None:
    """Every example bundle has its expected outcome beside it (an empty or absent folder is fine)."""
    if not EXAMPLES_DIR.is_dir():
        return
    for path in EXAMPLES_DIR.rglob("*.json"):
        if path.name.endswith(".expected.json"):
            expected = read(path)
            assert isinstance(expected.get("conforms"), bool), path.name
            for issue in expected.get("issues", []):
                assert {"severity", "code"} <= set(issue), (path.name, issue)
        else:
            assert expected_path(path).is_file(), f"{path.name} has no .expected.json"


def test_rank_order_check() -> None:
    bundle = sirt_bundle()
    assert rank_order_is_entry_order(bundle, "Procedure") and rank_order_is_entry_order(bundle, "Condition")
    encounter = bundle["entry"][0]["resource"]
    encounter["diagnosis"] = [{"condition": {"reference": "Condition/cond-0"}, "rank": 1}, {"condition": {"reference": "Procedure/proc-3"}, "rank": 1}]
    assert rank_order_is_entry_order(bundle, "Condition")
    assert not rank_order_is_entry_order(bundle, "Procedure")  # Y53.4 ranked ahead of J12.3
    assert not comparable(bundle)


def mirrored_outcome(example: Path, expected_file: Path, severity: str, mirrored: set[str]) -> tuple[set[str], set[str]]:
    keys = {key: rule_id for key, (rule_id, sev) in BUNDLE_KEYS.items() if sev == severity}
    failed = {keys[key] for key in failing(read(example)) if key in keys}
    wanted = {i["code"] for i in read(expected_file).get("issues", []) if i.get("severity") == severity and i.get("code") in mirrored}
    return failed, wanted


@pytest.mark.parametrize(
    ("example", "expected_file"),
    [pytest.param(e, x, id=e.relative_to(EXAMPLES_DIR).as_posix()) for e, x in CASES if comparable(read(e))],
)
def test_example_errors_match_invariants(example: Path, expected_file: Path) -> None:
    failed, wanted = mirrored_outcome(example, expected_file, "error", MIRRORED)
    assert failed == wanted, f"{example.name}: error invariants fail {sorted(failed)}, expected errors {sorted(wanted)}"


@pytest.mark.parametrize(
    ("example", "expected_file"),
    [pytest.param(e, x, id=e.relative_to(EXAMPLES_DIR).as_posix()) for e, x in CASES if comparable(read(e), ("Procedure", "Condition"))],
)
def test_example_warnings_match_invariants(example: Path, expected_file: Path) -> None:
    failed, wanted = mirrored_outcome(example, expected_file, "warning", MIRRORED_WARNINGS)
    assert failed == wanted, f"{example.name}: warning invariants fail {sorted(failed)}, expected warnings {sorted(wanted)}"
