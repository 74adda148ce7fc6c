"""validate-code, lookup and expand over the shipped IPG672 content."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ipg_validator.content.loader import load_content
from ipg_validator.terminology.compose import ComposeError
from ipg_validator.terminology.expand import expand
from ipg_validator.terminology.lookup import lookup
from ipg_validator.core.results import ERROR, WARNING, Coding, ValidationResult
from ipg_validator.terminology.sources import SourceChain
from ipg_validator.terminology.validate import ValidateOptions, validate_code

from conftest import DIAGNOSES, ICD10_UK, OPCS4, PROCEDURES, VALUESETS_DIR, VS_BASE

PROCEDURE_MEMBERS = ["J12.3", "X65.3", "Y36.4", "Y53.4", "Y89.1"]
DIAGNOSIS_MEMBERS = ["C78.7", *(f"C18.{i}" for i in range(10)), "C19", "C20", "Z85.0"]


def _walk(concepts: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for concept in concepts:
        yield concept
        yield from _walk(concept.get("concept", []))


def _shipped_concepts() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(VALUESETS_DIR.glob("CodeSystem-*.json")):
        cs = json.loads(path.read_text(encoding="utf-8"))
        out += [(cs["url"], c) for c in _walk(cs["concept"])]
    return out


def _not_selectable(concept: dict[str, Any]) -> bool:
    return any(p["code"] == "notSelectable" and p.get("valueBoolean") is True for p in concept.get("property", []))


def check(sources: SourceChain, system: str | None, code: str, vs_url: str | None = None, **kw: Any) -> ValidationResult:
    vs = sources.value_set(vs_url) if vs_url else None
    if vs_url:
        assert vs is not None, vs_url
    return validate_code(sources, [Coding(system=system, code=code, **kw)], value_set=vs)


def errors(r: ValidationResult) -> list[str]:
    return [i.text for i in r.issues if i.severity == ERROR]


def warnings(r: ValidationResult) -> list[str]:
    return [i.text for i in r.issues if i.severity == WARNING]


# -- every shipped code against its code system -------------------------------------------


@pytest.mark.parametrize(("system", "concept"), _shipped_concepts(), ids=lambda x: x["code"] if isinstance(x, dict) else x.rsplit("/", 1)[-1])
def test_every_shipped_code_validates(sources: SourceChain, system: str, concept: dict[str, Any]) -> None:
    r = check(sources, system, concept["code"], display=concept["display"])
    assert r.code == concept["code"]
    assert r.system == system
    assert r.display == concept["display"]
    if _not_selectable(concept):
        assert r.result is False
        assert len(errors(r)) == 1
        assert "category" in errors(r)[0]
        assert concept["code"] in errors(r)[0]
    else:
        assert r.result is True
        assert r.issues == []


# -- membership of the IPG672 sets ---------------------------------------------------------


@pytest.mark.parametrize("code", PROCEDURE_MEMBERS)
def test_procedure_members(sources: SourceChain, code: str) -> None:
    r = check(sources, OPCS4, code, PROCEDURES)
    assert r.result is True
    assert r.issues == []


@pytest.mark.parametrize("code", ["J12.4", "X65.2", "Y35.4", "Y53.2", "Y79.3", "J12.7", "X65.8", "Y53.9"])
def test_procedure_non_members(sources: SourceChain, code: str) -> None:
    r = check(sources, OPCS4, code, PROCEDURES)
    assert r.result is False
    assert any("not found in the value set" in t and code in t for t in errors(r)), r.issues


@pytest.mark.parametrize("code", ["Y89", "Y89.-", "J12", "y89.-"])
def test_procedure_category_is_an_error(sources: SourceChain, code: str) -> None:
    r = check(sources, OPCS4, code, PROCEDURES)
    assert r.result is False
    assert any("category" in t for t in errors(r))


def test_unlisted_y89_subcode_cannot_be_confirmed(sources: SourceChain) -> None:
    r = check(sources, OPCS4, "Y89.5", PROCEDURES)
    assert r.result is True
    assert errors(r) == []
    assert len(warnings(r)) == 1
    assert "cannot be confirmed" in warnings(r)[0]
    assert "Y89.5" in warnings(r)[0]


def test_unlisted_code_outside_y89_is_not_in_procedures(sources: SourceChain) -> None:
    r = check(sources, OPCS4, "J12.5", PROCEDURES)  # well-formed, not in the fragment, not under Y89
    assert r.result is False
    assert any("cannot be confirmed" in t for t in warnings(r))
    assert errors(r)


def test_unlisted_y89_subcode_is_an_error_once_the_full_release_is_loaded(tmp_path: Path) -> None:
    full = {
        "resourceType": "CodeSystem", "url": OPCS4, "version": "4.11", "name": "OPCS4Full",
        "status": "active", "content": "complete", "caseSensitive": True,
        "concept": [
            {"code": "J12", "display": "Other therapeutic percutaneous operations on liver",
             "property": [{"code": "notSelectable", "valueBoolean": True}],
             "concept": [{"code": "J12.3", "display": "Selective internal radiotherapy with microspheres to lesion of liver"}]},
            {"code": "Y89", "display": "Brachytherapy", "property": [{"code": "notSelectable", "valueBoolean": True}],
             "concept": [{"code": "Y89.1", "display": "High dose rate brachytherapy treatment"}]},
        ],
    }
    (tmp_path / "CodeSystem-opcs-4-full.json").write_text(json.dumps(full), encoding="utf-8")
    chain = SourceChain([load_content([tmp_path])])
    r = check(chain, OPCS4, "Y89.5", PROCEDURES)
    assert r.result is False
    assert errors(r)
    assert check(chain, OPCS4, "J12.3", PROCEDURES).result is True
    assert check(chain, OPCS4, "Y89.1", PROCEDURES).result is True


@pytest.mark.parametrize("code", DIAGNOSIS_MEMBERS)
def test_diagnosis_members(sources: SourceChain, code: str) -> None:
    r = check(sources, ICD10_UK, code, DIAGNOSES)
    assert r.result is True
    assert r.issues == []


@pytest.mark.parametrize("code", ["C78.6", "Z85.1", "C78.0", "Z85.9"])
def test_diagnosis_non_members(sources: SourceChain, code: str) -> None:
    r = check(sources, ICD10_UK, code, DIAGNOSES)
    assert r.result is False
    assert any("not found in the value set" in t for t in errors(r))


@pytest.mark.parametrize("code", ["C18", "C18.-", "C78", "Z85"])
def test_diagnosis_category_is_an_error(sources: SourceChain, code: str) -> None:
    r = check(sources, ICD10_UK, code, DIAGNOSES)
    assert r.result is False
    assert any("category" in t for t in errors(r))


# -- NHS formats ---------------------------------------------------------------------------


def _variants(code: str, system: str) -> list[str]:
    dotless = code.replace(".", "")
    out = [dotless, code.lower(), f" {code} ", dotless.lower(), f"  {dotless}\t"]
    if system == ICD10_UK and "." not in code:
        out = [f"{code}X", f"{code}.X", code.lower(), f" {code} ", f"{code.lower()}x"]
    return out


FORMAT_CASES = [
    (system, vs, code, variant)
    for system, vs, members in ((OPCS4, PROCEDURES, PROCEDURE_MEMBERS), (ICD10_UK, DIAGNOSES, DIAGNOSIS_MEMBERS))
    for code in members
    for variant in _variants(code, system)
]


@pytest.mark.parametrize(("system", "vs", "code", "variant"), FORMAT_CASES, ids=lambda x: repr(x) if isinstance(x, str) and len(x) < 10 else None)
def test_nhs_format_variants(sources: SourceChain, system: str, vs: str, code: str, variant: str) -> None:
    r = check(sources, system, variant, vs)
    assert r.result is True
    assert r.code == code
    assert r.normalised_from == variant
    assert errors(r) == []
    assert len(r.issues) == 1
    assert r.issues[0].severity == WARNING
    assert f"'{code}'" in r.issues[0].text


# -- systems -------------------------------------------------------------------------------

ALIASES = [
    ("https://fhir.hl7.org.uk/CodeSystem/OPCS-4", OPCS4, "J12.3"),
    ("https://fhir.nhs.uk/Id/opcs-4", OPCS4, "J12.3"),
    ("http://fhir.hl7.org.uk/R4/CodeSystem/OPCS-4", OPCS4, "Y53.4"),
    ("http://hl7.org/fhir/sid/icd-10", ICD10_UK, "C78.7"),
]


@pytest.mark.parametrize(("alias", "canonical", "code"), ALIASES)
def test_alias_system_is_a_warning(sources: SourceChain, alias: str, canonical: str, code: str) -> None:
    r = check(sources, alias, code, PROCEDURES if canonical == OPCS4 else DIAGNOSES)
    assert r.result is True
    assert r.system == canonical
    assert len(r.issues) == 1
    assert r.issues[0].severity == WARNING
    assert alias in r.issues[0].text and canonical in r.issues[0].text


@pytest.mark.parametrize("code", ["J12.3", "C78.7", "C19X"])
def test_missing_system_is_an_error_without_a_guess(sources: SourceChain, code: str) -> None:
    r = check(sources, None, code)
    assert r.result is False
    assert r.system is None
    assert r.display is None
    assert len(errors(r)) == 1
    assert "no system" in errors(r)[0]
    r_vs = check(sources, None, code, PROCEDURES)
    assert r_vs.result is False
    assert r_vs.system is None


def test_unknown_system(sources: SourceChain) -> None:
    r = check(sources, "http://example.org/not-a-system", "J12.3", PROCEDURES)
    assert r.result is False
    assert r.unknown_systems == ["http://example.org/not-a-system"]
    assert any("could not be found" in t for t in errors(r))


def test_unknown_version(sources: SourceChain) -> None:
    r = check(sources, ICD10_UK, "C78.7", version="99")
    assert r.result is False
    assert r.unknown_systems
    assert any("5.0" in t for t in errors(r))


# -- displays ------------------------------------------------------------------------------


@pytest.mark.parametrize(("system", "code", "vs"), [(OPCS4, "J12.3", PROCEDURES), (ICD10_UK, "C18.7", DIAGNOSES)])
def test_wrong_display_is_a_warning(sources: SourceChain, system: str, code: str, vs: str) -> None:
    r = check(sources, system, code, vs, display="Something else entirely")
    assert r.result is True
    assert errors(r) == []
    assert len(warnings(r)) == 1
    assert "Something else entirely" in warnings(r)[0]


@pytest.mark.parametrize(
    ("system", "code", "display"),
    [
        (OPCS4, "J12.3", "selective internal RADIOTHERAPY with microspheres  to lesion of liver"),
        (OPCS4, "Y53.4", "  Approach to organ under fluoroscopic control "),
        (ICD10_UK, "C78.7", "SECONDARY malignant neoplasm of liver and\tintrahepatic bile duct"),
    ],
)
def test_display_case_and_spacing_is_no_issue(sources: SourceChain, system: str, code: str, display: str) -> None:
    r = check(sources, system, code, display=display)
    assert r.result is True
    assert r.issues == []


def test_icd10_code_sent_as_opcs4(sources: SourceChain) -> None:
    r = check(sources, OPCS4, "C78.7", PROCEDURES)
    assert r.result is False
    assert any("looks like an ICD-10 code" in t for t in errors(r)), r.issues


def test_malformed_code_is_an_error(sources: SourceChain) -> None:
    r = check(sources, OPCS4, "J1231", PROCEDURES)
    assert r.result is False
    assert any("J12.3" in t for t in errors(r))  # says what to send
    assert check(sources, ICD10_UK, "12.3", DIAGNOSES).result is False


# -- lookup --------------------------------------------------------------------------------


def test_lookup_j12_3(sources: SourceChain) -> None:
    r = lookup(sources, OPCS4, "J12.3")
    assert r.found is True
    assert r.display == "Selective internal radiotherapy with microspheres to lesion of liver"
    assert r.abstract is False
    assert r.version == "4.11"
    assert ("parent", "J12") in r.properties
    assert r.issues == []


def test_lookup_category(sources: SourceChain) -> None:
    r = lookup(sources, OPCS4, "Y89")
    assert r.found is True
    assert r.display == "Brachytherapy"
    assert r.abstract is True
    assert ("child", "Y89.1") in r.properties


def test_lookup_nhs_format(sources: SourceChain) -> None:
    r = lookup(sources, OPCS4, "J123")
    assert r.found is True
    assert r.code == "J12.3"
    assert r.display == "Selective internal radiotherapy with microspheres to lesion of liver"
    assert len(r.issues) == 1
    assert r.issues[0].severity == WARNING
    assert "'J12.3'" in r.issues[0].text


def test_lookup_alias(sources: SourceChain) -> None:
    r = lookup(sources, "http://hl7.org/fhir/sid/icd-10", "C19")
    assert r.found is True
    assert r.system == ICD10_UK
    assert [i.severity for i in r.issues] == [WARNING]


def test_lookup_unknown_code(sources: SourceChain) -> None:
    r = lookup(sources, OPCS4, "J12.9")
    assert r.found is False
    assert r.display is None
    assert r.issues
    assert "J12.9" in r.issues[0].text


def test_lookup_unknown_system(sources: SourceChain) -> None:
    r = lookup(sources, "http://example.org/nothing", "J12.3")
    assert r.found is False
    assert any(i.severity == ERROR for i in r.issues)


# -- expand --------------------------------------------------------------------------------


def codes(sources: SourceChain, url: str, **kw: Any) -> list[str]:
    return [i.code for i in expand(sources, sources.value_set(url), **kw).items]


def test_expand_diagnoses(sources: SourceChain) -> None:
    e = expand(sources, sources.value_set(DIAGNOSES))
    got = [i.code for i in e.items]
    assert len(got) == len(set(got)) == 14
    assert set(got) == set(DIAGNOSIS_MEMBERS)
    assert e.total == 14
    assert {i.system for i in e.items} == {ICD10_UK}
    assert not any(i.abstract for i in e.items)
    assert all(i.display for i in e.items)
    assert any(f"{ICD10_UK}|5.0" == u for u in e.used_code_systems)


def test_expand_procedures(sources: SourceChain) -> None:
    e = expand(sources, sources.value_set(PROCEDURES))
    assert sorted(i.code for i in e.items) == sorted(PROCEDURE_MEMBERS)
    assert e.total == 5
    assert {i.system for i in e.items} == {OPCS4}
    by_code = {i.code: i.display for i in e.items}
    assert by_code["Y89.1"] == "High dose rate brachytherapy treatment"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("colon", {"C18.2", "C18.4", "C18.6", "C18.7", "C18.8", "C18.9"}),
        ("C18", {f"C18.{i}" for i in range(10)}),
        ("rectum", {"C20"}),
        ("liver", {"C78.7"}),
        ("personal history", {"Z85.0"}),
    ],
)
def test_expand_filter_text(sources: SourceChain, text: str, expected: set[str]) -> None:
    e = expand(sources, sources.value_set(DIAGNOSES), text=text)
    assert {i.code for i in e.items} == expected
    assert e.total == len(expected)


def test_expand_paging(sources: SourceChain) -> None:
    vs = sources.value_set(DIAGNOSES)
    full = [i.code for i in expand(sources, vs).items]
    page = expand(sources, vs, offset=3, count=4)
    assert [i.code for i in page.items] == full[3:7]
    assert page.total == 14
    assert page.offset == 3
    pages = [i.code for off in range(0, 14, 5) for i in expand(sources, vs, offset=off, count=5).items]
    assert pages == full
    beyond = expand(sources, vs, offset=20, count=5)
    assert beyond.items == [] and beyond.total == 14


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ipg672-sirt-procedure", ["J12.3"]),
        ("ipg672-companion-procedures", ["X65.3", "Y36.4", "Y53.4"]),
        ("ipg672-brachytherapy", ["Y89.1"]),
        ("ipg672-secondary", ["C78.7"]),
        ("ipg672-primary-present", [*(f"C18.{i}" for i in range(10)), "C19", "C20"]),
        ("ipg672-primary-eradicated", ["Z85.0"]),
    ],
)
def test_role_sets_expand(sources: SourceChain, name: str, expected: list[str]) -> None:
    assert sorted(codes(sources, VS_BASE + name)) == sorted(expected)


def test_expand_reports_fragment(sources: SourceChain) -> None:
    e = expand(sources, sources.value_set(PROCEDURES))
    assert any("fragment" in i.text for i in e.issues)


def test_expansion_too_small_a_limit(sources: SourceChain) -> None:
    with pytest.raises(ComposeError):
        expand(sources, sources.value_set(DIAGNOSES), max_items=5)


def test_lenient_display_option_with_generic_check(sources: SourceChain) -> None:
    r = validate_code(
        sources, [Coding(system=OPCS4, code="J12.3", display="Wrong")], options=ValidateOptions(lenient_display=True)
    )
    assert r.result is True
    assert len(warnings(r)) == 1
