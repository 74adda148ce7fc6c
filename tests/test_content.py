"""The shipped content (ValueSets, CodeSystem fragments, NamingSystems) and the content loader."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fhir.resources.R4B import get_fhir_model_class
from ipg_validator.content.loader import ContentError, load_content

from conftest import (
    DIAGNOSES,
    ICD10_UK,
    OPCS4,
    PROCEDURES,
    VS_BASE,
)
from conftest import content_files as shipped_files

# -- the independent oracle: titles confirmed in /work/shared/reference/ipg672-coding.md ----

CONFIRMED_OPCS4 = {
    "J12": "Other therapeutic percutaneous operations on liver",
    "J12.3": "Selective internal radiotherapy with microspheres to lesion of liver",
    "J12.4": "Percutaneous radiofrequency ablation of lesion of liver",
    "J12.7": "Percutaneous microwave ablation of lesion of liver",
    "J12.8": "Other specified other therapeutic percutaneous operations on liver",
    "X65": "Radiotherapy delivery",
    "X65.2": "Delivery of a fraction of intracavitary radiotherapy",
    "X65.3": "Delivery of a fraction of interstitial radiotherapy",
    "X65.8": "Other specified radiotherapy delivery",
    "Y35.4": "Introduction of radioactive substance into organ for brachytherapy NOC",
    "Y36.4": "Introduction of non-removable radioactive substance into organ for brachytherapy NOC",
    "Y53": "Approach to organ under image control",
    "Y53.2": "Approach to organ under ultrasonic control",
    "Y53.4": "Approach to organ under fluoroscopic control",
    "Y53.9": "Unspecified approach to organ under image control",
    "Y79": "Approach to organ through artery",
    "Y79.3": "Transluminal approach to organ through femoral artery",
    "Y89": "Brachytherapy",
    "Y89.1": "High dose rate brachytherapy treatment",
}

CONFIRMED_ICD10 = {
    "C18": "Malignant neoplasm of colon",
    "C18.0": "Malignant neoplasm: Caecum",
    "C18.1": "Malignant neoplasm: Appendix",
    "C18.2": "Malignant neoplasm: Ascending colon",
    "C18.3": "Malignant neoplasm: Hepatic flexure",
    "C18.4": "Malignant neoplasm: Transverse colon",
    "C18.5": "Malignant neoplasm: Splenic flexure",
    "C18.6": "Malignant neoplasm: Descending colon",
    "C18.7": "Malignant neoplasm: Sigmoid colon",
    "C18.8": "Malignant neoplasm: Overlapping lesion of colon",
    "C18.9": "Malignant neoplasm: Colon, unspecified",
    "C19": "Malignant neoplasm of rectosigmoid junction",
    "C20": "Malignant neoplasm of rectum",
    "C78": "Secondary malignant neoplasm of respiratory and digestive organs",
    "C78.0": "Secondary malignant neoplasm of lung",
    "C78.1": "Secondary malignant neoplasm of mediastinum",
    "C78.2": "Secondary malignant neoplasm of pleura",
    "C78.3": "Secondary malignant neoplasm of other and unspecified respiratory organs",
    "C78.4": "Secondary malignant neoplasm of small intestine",
    "C78.5": "Secondary malignant neoplasm of large intestine and rectum",
    "C78.6": "Secondary malignant neoplasm of retroperitoneum and peritoneum",
    "C78.7": "Secondary malignant neoplasm of liver and intrahepatic bile duct",
    "C78.8": "Secondary malignant neoplasm of other and unspecified digestive organs",
    "Z85": "Personal history of malignant neoplasm",
    "Z85.0": "Personal history of malignant neoplasm of digestive organs",
    "Z85.1": "Personal history of malignant neoplasm of trachea, bronchus and lung",
    "Z85.2": "Personal history of malignant neoplasm of other respiratory and intrathoracic organs",
    "Z85.3": "Personal history of malignant neoplasm of breast",
    "Z85.4": "Personal history of malignant neoplasm of genital organs",
    "Z85.5": "Personal history of malignant neoplasm of urinary tract",
    "Z85.6": "Personal history of leukaemia",
    "Z85.7": "Personal history of other malignant neoplasms of lymphoid, haematopoietic and related tissues",
    "Z85.8": "Personal history of malignant neoplasms of other organs and systems",
    "Z85.9": "Personal history of malignant neoplasm, unspecified",
}

CONFIRMED = {OPCS4: CONFIRMED_OPCS4, ICD10_UK: CONFIRMED_ICD10}

ALIASES = {
    "https://fhir.hl7.org.uk/CodeSystem/OPCS-4": OPCS4,
    "https://fhir.nhs.uk/Id/opcs-4": OPCS4,
    "http://fhir.hl7.org.uk/R4/CodeSystem/OPCS-4": OPCS4,
    "http://hl7.org/fhir/sid/icd-10": ICD10_UK,
}

ROLE_SETS = {
    PROCEDURES: {VS_BASE + "ipg672-sirt-procedure", VS_BASE + "ipg672-companion-procedures", VS_BASE + "ipg672-brachytherapy"},
    DIAGNOSES: {VS_BASE + "ipg672-secondary", VS_BASE + "ipg672-primary-present", VS_BASE + "ipg672-primary-eradicated"},
}


def content_files() -> list[Path]:
    return [p for p in shipped_files() if not p.name.endswith(".rules.json")]


def read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def of_type(kind: str) -> list[dict[str, Any]]:
    return [r for r in (read(p) for p in content_files()) if r.get("resourceType") == kind]


def walk(concepts: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for concept in concepts:
        yield concept
        yield from walk(concept.get("concept", []))


def by_url(kind: str) -> dict[str, dict[str, Any]]:
    return {r["url"]: r for r in of_type(kind)}


def test_content_files_are_there() -> None:
    names = {p.name for p in content_files()}
    assert "CodeSystem-opcs-4-fragment.json" in names
    assert "CodeSystem-icd-10-uk-fragment.json" in names
    assert len(of_type("ValueSet")) >= 8


@pytest.mark.parametrize("path", content_files(), ids=lambda p: p.name)
def test_file_parses_with_r4b_model(path: Path) -> None:
    data = read(path)
    cls = get_fhir_model_class(data["resourceType"])
    model = cls.model_validate(data)
    assert model.get_resource_type() == data["resourceType"]


# -- ValueSets ----------------------------------------------------------------------------


@pytest.mark.parametrize("vs", of_type("ValueSet"), ids=lambda vs: vs.get("id", "?"))
def test_value_set_metadata(vs: dict[str, Any]) -> None:
    assert vs["url"].startswith(VS_BASE)
    assert vs["url"] == VS_BASE + vs["id"]
    assert vs["status"] == "active"
    assert vs.get("version")
    assert vs.get("publisher")
    description = vs.get("description", "")
    assert "IPG672" in description
    assert re.search(r"not\s+(?:\w+\s+)*?issued\b.*\bby NICE", description, re.IGNORECASE), description


@pytest.mark.parametrize("url", sorted(ROLE_SETS))
def test_main_sets_import_role_sets(url: str) -> None:
    vs = by_url("ValueSet")[url]
    imported = {ref for inc in vs["compose"]["include"] for ref in inc.get("valueSet", [])}
    assert imported == ROLE_SETS[url]
    known = set(by_url("ValueSet"))
    assert imported <= known


@pytest.mark.parametrize(("system", "category"), [(OPCS4, "Y89"), (ICD10_UK, "C18")])
def test_every_subcode_is_a_filter_not_a_list(system: str, category: str) -> None:
    filters = []
    for vs in of_type("ValueSet"):
        for inc in vs.get("compose", {}).get("include", []):
            if inc.get("system") != system:
                continue
            listed = {c["code"] for c in inc.get("concept", [])}
            assert not any(code.startswith(category + ".") for code in listed), (vs["id"], listed)
            assert category not in listed, (vs["id"], "a category listed as a member")
            filters += [
                f for f in inc.get("filter", [])
                if f.get("value") == category and f.get("property") == "concept"
            ]
    assert filters, f"no filter on {category}"
    assert all(f["op"] in ("descendent-of", "is-a") for f in filters)


def test_no_value_set_lists_a_category() -> None:
    categories = {code for table in CONFIRMED.values() for code in table if "." not in code} - {"C19", "C20"}
    for vs in of_type("ValueSet"):
        for inc in vs.get("compose", {}).get("include", []):
            assert not {c["code"] for c in inc.get("concept", [])} & categories, vs["id"]


# -- CodeSystems --------------------------------------------------------------------------


def test_code_systems_are_fragments_with_right_urls_and_versions() -> None:
    systems = by_url("CodeSystem")
    assert set(systems) == {OPCS4, ICD10_UK}
    assert systems[ICD10_UK]["version"] == "5.0"
    assert re.fullmatch(r"4\.\d+", systems[OPCS4]["version"])
    for cs in systems.values():
        assert cs["content"] == "fragment"
        assert cs["status"] == "active"


@pytest.mark.parametrize("system", [OPCS4, ICD10_UK])
def test_every_shipped_display_is_a_confirmed_title(system: str) -> None:
    cs = by_url("CodeSystem")[system]
    confirmed = CONFIRMED[system]
    shipped = list(walk(cs["concept"]))
    assert shipped
    for concept in shipped:
        assert concept["code"] in confirmed, f"{concept['code']} has no confirmed title"
        assert concept.get("display") == confirmed[concept["code"]], concept["code"]
        # the reference confirms one title per code, so no other wording (a designation) can ship
        assert not concept.get("designation"), f"{concept['code']} ships a designation, which no reference confirms"


def test_value_set_displays_are_confirmed_titles() -> None:
    for vs in of_type("ValueSet"):
        for part in ("include", "exclude"):
            for inc in vs.get("compose", {}).get(part, []):
                for concept in inc.get("concept", []):
                    if "display" in concept:
                        assert concept["display"] == CONFIRMED[inc["system"]][concept["code"]]


def test_recommendation_codes_are_shipped() -> None:
    systems = by_url("CodeSystem")
    opcs = {c["code"] for c in walk(systems[OPCS4]["concept"])}
    icd = {c["code"] for c in walk(systems[ICD10_UK]["concept"])}
    assert {"J12.3", "X65.3", "Y36.4", "Y53.4", "Y89", "Y89.1"} <= opcs
    assert {"C78.7", "Z85.0", "C18", *(f"C18.{i}" for i in range(10)), "C19", "C20"} <= icd


@pytest.mark.parametrize("system", [OPCS4, ICD10_UK])
def test_categories_with_subcodes_are_not_selectable(system: str) -> None:
    cs = by_url("CodeSystem")[system]
    for concept in walk(cs["concept"]):
        flag = any(p["code"] == "notSelectable" and p.get("valueBoolean") is True for p in concept.get("property", []))
        if concept.get("concept"):
            assert flag, f"{concept['code']} has subcodes but is selectable"
            assert all(c["code"].startswith(concept["code"] + ".") for c in concept["concept"])
        else:
            assert not flag, f"{concept['code']} is a leaf but not selectable"


def test_naming_systems_map_each_alias_to_its_canonical_uri() -> None:
    mapping: dict[str, str] = {}
    preferred: set[str] = set()
    for ns in of_type("NamingSystem"):
        assert ns["kind"] == "codesystem"
        uris = [u for u in ns["uniqueId"] if u["type"] == "uri"]
        canon = [u["value"] for u in uris if u.get("preferred")]
        assert len(canon) == 1
        preferred.add(canon[0])
        mapping.update({u["value"]: canon[0] for u in uris if not u.get("preferred")})
    assert preferred == {OPCS4, ICD10_UK}
    assert mapping == ALIASES


# -- loader -------------------------------------------------------------------------------


def test_load_content_counts(index) -> None:
    counts = index.counts()
    assert counts["CodeSystem"] == len(of_type("CodeSystem")) == 2
    assert counts["ValueSet"] == len(of_type("ValueSet"))
    assert counts["NamingSystem"] == len(of_type("NamingSystem")) == 2
    rule_files = shipped_files("*.rules.json")
    assert {p.name for p in rule_files} == {"bundle.rules.json", "ipg672.rules.json"}
    assert counts["rules"] == sum(len(read(p)["rules"]) for p in rule_files)
    assert set(index.value_sets) == set(by_url("ValueSet"))
    assert {url for url in index.code_systems} == {OPCS4, ICD10_UK}
    assert dict(index.aliases) == ALIASES
    assert index.replaced == ()


def _write(folder: Path, name: str, content: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


GOOD_VS = {
    "resourceType": "ValueSet",
    "url": "http://example.org/ValueSet/x",
    "status": "active",
    "compose": {"include": [{"system": OPCS4, "concept": [{"code": "J12.3"}]}]},
}


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("broken.json", '{"resourceType": "ValueSet", "url": ', r"not valid JSON"),
        ("plain.json", {"hello": "world"}, r"not a FHIR resource"),
        ("list.json", [1, 2, 3], r"not a FHIR resource"),
        # ValueSet.status has a required binding (publication-status): 'bogus' is not a FHIR ValueSet
        ("bogus-status.json", {**GOOD_VS, "status": "bogus"}, r"invalid ValueSet.*status"),
        ("bad-boolean.json", {**GOOD_VS, "experimental": "maybe"}, r"invalid ValueSet.*experimental"),
        ("unknown-type.json", {"resourceType": "Frobnicator", "id": "x"}, r"unknown resourceType 'Frobnicator'"),
        (
            "ns.json",
            {
                "resourceType": "NamingSystem", "name": "X", "status": "active", "kind": "codesystem",
                "date": "2026-01-01",
                "uniqueId": [{"type": "uri", "value": "http://example.org/a", "preferred": False},
                             {"type": "uri", "value": "http://example.org/b"}],
            },
            r"preferred uri",
        ),
    ],
)
@pytest.mark.parametrize("include_shipped", [True, False])
def test_bad_content_file_is_a_content_error(tmp_path: Path, name: str, content: Any, problem: str, include_shipped: bool) -> None:
    _write(tmp_path, "ok.json", GOOD_VS)
    bad = _write(tmp_path, name, content)
    with pytest.raises(ContentError) as caught:
        load_content([tmp_path], include_shipped=include_shipped)
    message = str(caught.value)
    assert name in message
    assert str(bad) in message or caught.value.path == str(bad)
    assert re.search(problem, message, re.IGNORECASE), message


def test_good_extra_folder_adds_resources(tmp_path: Path) -> None:
    _write(tmp_path, "ok.json", GOOD_VS)
    idx = load_content([tmp_path])
    assert idx.value_set("http://example.org/ValueSet/x") is not None
    assert idx.counts()["ValueSet"] == len(of_type("ValueSet")) + 1


def test_missing_folder_is_a_content_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(ContentError) as caught:
        load_content([missing])
    assert "nowhere" in str(caught.value)
    assert "not exist" in str(caught.value)


def _complete_opcs4() -> dict[str, Any]:
    fragment = by_url("CodeSystem")[OPCS4]
    return {
        "resourceType": "CodeSystem",
        "id": "opcs-4-full",
        "url": OPCS4,
        "version": fragment["version"],
        "name": "OPCS4Full",
        "status": "active",
        "content": "complete",
        "caseSensitive": True,
        "concept": [
            {"code": "J12", "display": CONFIRMED_OPCS4["J12"],
             "property": [{"code": "notSelectable", "valueBoolean": True}],
             "concept": [{"code": "J12.3", "display": CONFIRMED_OPCS4["J12.3"]}]},
            {"code": "Y89", "display": CONFIRMED_OPCS4["Y89"],
             "property": [{"code": "notSelectable", "valueBoolean": True}],
             "concept": [{"code": "Y89.1", "display": CONFIRMED_OPCS4["Y89.1"]},
                         {"code": "Y89.5", "display": "Test title five"}]},
        ],
    }


def test_complete_code_system_replaces_the_fragment(tmp_path: Path) -> None:
    _write(tmp_path, "CodeSystem-opcs-4-full.json", _complete_opcs4())
    idx = load_content([tmp_path])
    cs = idx.code_system(OPCS4)
    assert cs.content == "complete"
    assert not cs.is_fragment
    assert cs.get("Y89.5") is not None
    assert cs.get("X65.3") is None
    version = by_url("CodeSystem")[OPCS4]["version"]
    assert f"{OPCS4}|{version}" in idx.replaced
    assert len(idx.code_systems[OPCS4]) == 1
    opcs_resources = [r for r in idx.resources["CodeSystem"] if r["url"] == OPCS4]
    assert [r["content"] for r in opcs_resources] == ["complete"]
    assert all(r.get("id") != "opcs-4-fragment" for r in idx.resources["CodeSystem"])
    # the ICD-10 fragment is untouched
    assert idx.code_system(ICD10_UK).content == "fragment"
    assert idx.counts()["CodeSystem"] == 2


def test_index_is_immutable(index) -> None:
    for mapping in (index.code_systems, index.value_sets, index.aliases, index.resources):
        with pytest.raises(TypeError):
            mapping["http://example.org/x"] = ()  # type: ignore[index]
    with pytest.raises(TypeError):
        index.aliases["http://hl7.org/fhir/sid/icd-10"] = "x"  # type: ignore[index]
    with pytest.raises(TypeError):
        index.code_system(OPCS4).concepts["J99.9"] = None  # type: ignore[index]
    with pytest.raises(AttributeError):
        index.replaced = ("x",)  # type: ignore[misc]
    assert isinstance(index.resources["ValueSet"], tuple)
    assert isinstance(index.code_systems[OPCS4], tuple)


# -- the index is read-only all the way down ------------------------------------------------


def test_the_loaded_content_is_read_only_all_the_way_down(index) -> None:
    import copy
    import pickle

    vs = index.value_set(PROCEDURES)
    include = vs["compose"]["include"]
    cs = index.code_system(OPCS4)
    rules = index.rules[0]
    for change in (lambda: include.append({}), lambda: include[0].update(system="x"), lambda: include[0].pop("system"),
                   lambda: vs.__setitem__("url", "x"), lambda: cs.resource["concept"][0].__setitem__("code", "x"),
                   lambda: rules["rules"].clear(), lambda: index.resources["ValueSet"][0].setdefault("x", 1)):
        with pytest.raises(TypeError, match="read-only"):
            change()
    assert vs == by_url("ValueSet")[PROCEDURES]  # still what the file says
    mine = copy.deepcopy(vs)  # a copy is the caller's own
    mine["compose"]["include"].append({"system": OPCS4})
    assert type(mine) is dict and len(index.value_set(PROCEDURES)["compose"]["include"]) == len(include)
    assert pickle.loads(pickle.dumps(vs)) == vs and orjson.loads(orjson.dumps(vs)) == vs
