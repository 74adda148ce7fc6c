"""Several releases of one code system in one value set: expansion order, versionsMatch, version-scoped
excludes, and which release a $validate-code answer is read in (Python API and HTTP)."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from ipg_validator.terminology.expand import expand
from ipg_validator.core.results import Coding
from ipg_validator.terminology.sources import RequestResources, SourceChain
from ipg_validator.terminology.validate import validate_code

SYSTEM = "http://example.org/fhir/CodeSystem/releases"
FHIR = {"content-type": "application/fhir+json"}


def release(version: str, concepts: dict[str, str]) -> dict[str, Any]:
    return {"resourceType": "CodeSystem", "url": SYSTEM, "version": version, "status": "active", "content": "complete",
            "concept": [{"code": c, "display": d} for c, d in concepts.items()]}


V1 = release("1.0.0", {"a": "Alpha", "b": "Beta", "c": "Gamma"})
V2 = release("2.0.0", {"a": "Alpha", "b": "Beta two", "d": "Delta"})


def value_set(name: str, compose: dict[str, Any], versions_match: str | None = None) -> dict[str, Any]:
    if versions_match is not None:
        compose = {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/valueset-expansion-parameter",
                                  "extension": [{"url": "name", "valueCode": "versionsMatch"},
                                                {"url": "value", "valueString": versions_match}]}], **compose}
    return {"resourceType": "ValueSet", "url": f"http://example.org/fhir/ValueSet/{name}", "version": "1",
            "status": "active", "compose": compose}


BOTH = [{"system": SYSTEM, "version": "1.0.0"}, {"system": SYSTEM, "version": "2.0.0"}]
ONLY_V2_NOT_V1 = {"include": [{"system": SYSTEM, "version": "2.0.0"}], "exclude": [{"system": SYSTEM, "version": "1.0.0"}]}


def sources() -> SourceChain:
    return SourceChain([RequestResources([V1, V2])])


def listed(vs: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    return [(i.code, i.version, i.display) for i in expand(sources(), vs).items]


def test_pinned_releases_list_the_newer_release_of_a_code_first() -> None:
    items = listed(value_set("both", {"include": BOTH}))
    assert [i for i in items if i[0] == "a"] == [("a", "2.0.0", "Alpha"), ("a", "1.0.0", "Alpha")]
    assert sorted(items) == sorted([("a", "2.0.0", "Alpha"), ("b", "2.0.0", "Beta two"), ("d", "2.0.0", "Delta"),
                                    ("a", "1.0.0", "Alpha"), ("b", "1.0.0", "Beta"), ("c", "1.0.0", "Gamma")])


def test_an_unversioned_include_beside_a_pinned_one_keeps_both_releases_in_definition_order() -> None:
    items = listed(value_set("mixed", {"include": [{"system": SYSTEM, "version": "1.0.0"}, {"system": SYSTEM}]}))
    assert [i[1] for i in items if i[0] == "b"] == ["1.0.0", "2.0.0"] and len(items) == 6


def test_versions_match_merges_releases_into_one_entry_per_code() -> None:
    vs = value_set("merged", {"include": BOTH}, versions_match="true")
    exp = expand(sources(), vs)
    assert [(i.code, i.version) for i in exp.items] == [("a", "2.0.0"), ("b", "2.0.0"), ("c", "1.0.0"), ("d", "2.0.0")]
    assert exp.versions_match is True


def test_an_exclude_of_a_whole_release_reaches_the_other_release_unless_versions_do_not_match() -> None:
    exp = expand(sources(), value_set("diff", ONLY_V2_NOT_V1))
    assert [(i.code, i.version) for i in exp.items] == [("d", "2.0.0")] and exp.versions_match is True
    scoped = expand(sources(), value_set("scoped", ONLY_V2_NOT_V1, versions_match="false"))
    assert [i.code for i in scoped.items] == ["a", "b", "d"] and scoped.versions_match is False


def test_an_exclude_of_listed_codes_of_one_release_keeps_them_in_the_other() -> None:
    vs = value_set("enum", {"include": BOTH, "exclude": [{"system": SYSTEM, "version": "1.0.0", "concept": [{"code": "b"}]}]})
    assert [i[1] for i in listed(vs) if i[0] == "b"] == ["2.0.0"]
    unversioned = value_set("enum2", {"include": BOTH, "exclude": [{"system": SYSTEM, "concept": [{"code": "b"}]}]})
    assert not [i for i in listed(unversioned) if i[0] == "b"]


def test_validation_reads_the_release_whose_display_fits() -> None:
    vs = value_set("both", {"include": BOTH})
    old = validate_code(sources(), [Coding(system=SYSTEM, code="b", display="Beta")], value_set=vs)
    assert old.result is True and (old.version, old.display) == ("1.0.0", "Beta")
    new = validate_code(sources(), [Coding(system=SYSTEM, code="b", display="Beta two")], value_set=vs)
    assert new.result is True and (new.version, new.display) == ("2.0.0", "Beta two")
    plain = validate_code(sources(), [Coding(system=SYSTEM, code="b")], value_set=vs)
    assert plain.version == "2.0.0"


def test_a_coding_of_one_release_is_not_taken_in_by_the_include_of_another() -> None:
    vs = value_set("both", {"include": BOTH})
    r = validate_code(sources(), [Coding(system=SYSTEM, version="1.0.0", code="d")], value_set=vs)
    assert r.result is False and r.version == "1.0.0"
    assert {i.message_id for i in r.issues} == {"Unknown_Code_in_Version", "None_of_the_provided_codes_are_in_the_value_set_one"}


def test_a_code_held_by_no_named_release_is_reported_in_the_newest_release() -> None:
    """Listed codes that miss, and a code no release has: the answer names 2.0.0, whatever the include order."""
    listed_only = value_set("listed", {"include": [{"system": SYSTEM, "version": "1.0.0", "concept": [{"code": "c"}]},
                                                   {"system": SYSTEM, "version": "2.0.0", "concept": [{"code": "b"}]}]})
    missed = validate_code(sources(), [Coding(system=SYSTEM, code="a")], value_set=listed_only)
    assert missed.result is False and missed.version == "2.0.0"
    reversed_order = value_set("reversed", {"include": list(reversed(BOTH))})
    for vs in (value_set("both", {"include": BOTH}), reversed_order):
        unknown = validate_code(sources(), [Coding(system=SYSTEM, code="zz")], value_set=vs)
        assert unknown.result is False and unknown.version == "2.0.0"
        assert any("version '2.0.0'" in i.text for i in unknown.issues)


def test_an_excluded_whole_release_excludes_its_codes_from_validation_too() -> None:
    r = validate_code(sources(), [Coding(system=SYSTEM, code="a")], value_set=value_set("diff", ONLY_V2_NOT_V1))
    assert r.result is False
    kept = validate_code(sources(), [Coding(system=SYSTEM, code="a")], value_set=value_set("scoped", ONLY_V2_NOT_V1, "false"))
    assert kept.result is True and kept.version == "2.0.0"


def post(client: TestClient, operation: str, *params: dict[str, Any]) -> Any:
    body = {"resourceType": "Parameters", "parameter": [*params, *({"name": "tx-resource", "resource": r} for r in (V1, V2))]}
    return client.post(f"/fhir/{operation}", content=json.dumps(body), headers=FHIR)


def test_http_expansion_names_each_release_and_echoes_versions_match(client: TestClient) -> None:
    vs = value_set("merged", {"include": BOTH}, versions_match="true")
    response = post(client, "ValueSet/$expand", {"name": "valueSet", "resource": vs})
    assert response.status_code == 200
    expansion = response.json()["expansion"]
    assert {"name": "versionsMatch", "valueBoolean": True} in expansion["parameter"]
    assert [(c["code"], c["version"]) for c in expansion["contains"]] == [("a", "2.0.0"), ("b", "2.0.0"), ("c", "1.0.0"), ("d", "2.0.0")]
    plain = post(client, "ValueSet/$expand", {"name": "valueSet", "resource": value_set("both", {"include": BOTH})}).json()
    assert not any(p["name"] == "versionsMatch" for p in plain["expansion"]["parameter"])


def test_http_validate_code_answers_the_version_that_matched(client: TestClient) -> None:
    vs = value_set("both", {"include": BOTH})
    coding = {"system": SYSTEM, "code": "b", "display": "Beta"}
    answer = post(client, "ValueSet/$validate-code", {"name": "valueSet", "resource": vs}, {"name": "coding", "valueCoding": coding}).json()
    found = {p["name"]: next(v for k, v in p.items() if k.startswith("value")) for p in answer["parameter"] if p["name"] != "issues"}
    assert found["result"] is True and found["version"] == "1.0.0" and found["display"] == "Beta"
