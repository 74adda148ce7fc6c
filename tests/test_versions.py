"""Code system versions: wildcards, the newest release, the request's version rules and their findings."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from ipg_validator.terminology.compose import ComposeError
from ipg_validator.terminology.expand import expand
from ipg_validator.core.results import Coding, ValidationResult
from ipg_validator.terminology.sources import RequestResources, SourceChain
from ipg_validator.terminology.validate import validate_code
from ipg_validator.terminology.versions import VersionConflict, VersionRules, more_detailed, pick, version_key, version_matches

SYSTEM = "http://example.org/CodeSystem/colours"
VS = "http://example.org/ValueSet/colours"


def code_system(version: str, *codes: str) -> dict[str, Any]:
    return {"resourceType": "CodeSystem", "url": SYSTEM, "version": version, "content": "complete", "caseSensitive": True,
            "concept": [{"code": c, "display": f"{c} ({version})"} for c in codes]}


def value_set(include_version: str | None = None, version: str = "1.0.0", url: str = VS) -> dict[str, Any]:
    include: dict[str, Any] = {"system": SYSTEM}
    if include_version:
        include["version"] = include_version
    return {"resourceType": "ValueSet", "url": url, "version": version, "status": "active", "compose": {"include": [include]}}


# releases 1.0.0 (red, green) and 1.2.0 (red, green, blue), supplied out of order
RELEASES = [code_system("1.2.0", "red", "green", "blue"), code_system("1.0.0", "red", "green")]


def sources(*extra: dict[str, Any]) -> SourceChain:
    return SourceChain([RequestResources([*RELEASES, *extra])])


def check(vs: dict[str, Any], version: str | None = None, rules: VersionRules | None = None, code: str = "red") -> ValidationResult:
    return validate_code(sources(vs), [Coding(SYSTEM, code, version)], value_set=vs, rules=rules)


def ids(result: ValidationResult) -> list[str | None]:
    return sorted(i.message_id or "" for i in result.issues)


def rules(**given: str) -> VersionRules:
    names = {"force": "force-system-version", "default": "system-version", "check": "check-system-version"}
    return VersionRules.from_canonicals((names[k], f"{SYSTEM}|{v}") for k, v in given.items())


# -- matching and choosing releases ---------------------------------------------------------


@pytest.mark.parametrize(("pattern", "version", "expected"), [
    ("1.0.x", "1.0.3", True), ("1.x", "1.2.3", True), ("1.*.0", "1.7.0", True), ("1.0.0", "1.0.0", True),
    ("1.0.x", "1.2.0", False), ("1", "1.0.0", False), ("1.0.0", "1.0", False), ("", "1.0.0", False),
])
def test_version_matches(pattern: str, version: str, expected: bool) -> None:
    assert version_matches(pattern, version) is expected


def test_more_detailed_needs_a_wildcard() -> None:
    assert more_detailed("1.0.x", "1.0.0")
    assert not more_detailed("1.0.0", "1.0.0")
    assert not more_detailed("1", "1.0.0")


def test_pick_newest_by_semver_not_by_order() -> None:
    items = ["1.10.0", "1.9.0", "1.2.0"]
    assert pick(items, None, str) == "1.10.0"
    assert pick(items, "1.9.x", str) == "1.9.0"
    assert pick(items, "2.x", str) is None


def test_request_resources_give_the_newest_release_and_wildcards() -> None:
    chain = sources()
    assert chain.code_system(SYSTEM).version == "1.2.0"
    assert chain.code_system(SYSTEM, "1.0.x").version == "1.0.0"
    assert chain.code_system(SYSTEM, "1") is None


# -- the rules -----------------------------------------------------------------------------


def test_force_replaces_default_fills_check_fills_and_records_use() -> None:
    r = rules(force="1.0.x")
    assert r.resolve(SYSTEM, "1.2.0") == "1.0.x"
    assert r.used == [("force-system-version", f"{SYSTEM}|1.0.x")]
    d = rules(default="1.0.0")
    assert d.resolve(SYSTEM, "1.2.0") == "1.2.0" and d.used == []
    assert d.resolve(SYSTEM, None) == "1.0.0"
    assert rules(check="1.0.x").resolve(SYSTEM, None) == "1.0.x"
    assert rules().resolve("http://other", None) is None


def test_two_forced_versions_of_one_system_conflict() -> None:
    r = VersionRules.from_canonicals([("force-system-version", f"{SYSTEM}|1.0.0"), ("force-system-version", f"{SYSTEM}|1.2.0")])
    with pytest.raises(VersionConflict):
        r.resolve(SYSTEM, None)


# -- validate-code ---------------------------------------------------------------------------


def test_versionless_include_uses_newest_and_default_rule_overrides() -> None:
    plain = check(value_set())
    assert (plain.result, plain.version, plain.display) == (True, "1.2.0", "red (1.2.0)")
    pinned = check(value_set(), rules=rules(default="1.0.0"))
    assert (pinned.result, pinned.version, pinned.display) == (True, "1.0.0", "red (1.0.0)")


def test_wildcard_include_takes_the_codings_release() -> None:
    r = check(value_set("1.x.x"), version="1.0.0")
    assert (r.result, r.version, r.issues) == (True, "1.0.0", [])


def test_coding_in_another_release_than_the_include() -> None:
    r = check(value_set("1.2.0"), version="1.0.0")
    assert r.result is False and r.version == "1.2.0"
    assert ids(r) == ["VALUESET_VALUE_MISMATCH"]
    assert "version '1.2.0' in the ValueSet include is different to the one in the value ('1.0.0')" in r.message


def test_unknown_coding_release_against_versionless_include_is_a_warning_plus_unknown_version() -> None:
    r = check(value_set(), version="2.4.0")
    assert r.result is False and r.version == "1.2.0"
    assert ids(r) == ["UNKNOWN_CODESYSTEM_VERSION", "VALUESET_VALUE_MISMATCH_DEFAULT"]
    assert r.unknown_systems == [f"{SYSTEM}|2.4.0"]
    assert "Valid versions: 1.0.0 or 1.2.0" in r.message and "versionless include" not in r.message


def test_forced_release_changes_what_the_include_asks_for() -> None:
    r = check(value_set("1.0.0"), version="2.4.0", rules=rules(force="1.0.x"))
    assert ids(r) == ["UNKNOWN_CODESYSTEM_VERSION", "VALUESET_VALUE_MISMATCH_CHANGED"]
    assert "version '1.0.x' resulting from the version '1.0.0'" in r.message
    forced = check(value_set("1.2.0"), version="1.0.0", rules=rules(force="1.0.x"))
    assert (forced.result, forced.version, forced.issues) == (True, "1.0.0", [])


def test_check_rule_rejects_a_release_that_does_not_fit() -> None:
    r = check(value_set("1.x.x"), rules=rules(check="1.0.x"))
    assert r.result is False and r.version == "1.2.0" and ids(r) == ["VALUESET_VERSION_CHECK"]
    fits = check(value_set(), rules=rules(check="1.0.x"))
    assert (fits.result, fits.version) == (True, "1.0.0")


def test_include_in_a_release_that_does_not_exist() -> None:
    r = check(value_set("1"), version="1.0.0")
    assert r.result is False and r.missing_release
    assert ids(r) == ["UNKNOWN_CODESYSTEM_VERSION", "VALUESET_VALUE_MISMATCH"]
    assert (r.version, r.display, r.unknown_systems) == ("1.0.0", "red (1.0.0)", [f"{SYSTEM}|1"])


def test_unknown_system_version_with_no_known_versions() -> None:
    r = validate_code(sources(), [Coding("http://example.org/none", "x", "3.0")])
    assert ids(r) == ["UNKNOWN_CODESYSTEM_VERSION_NONE"]


def test_mixed_includes_read_the_code_in_the_newest_release_that_holds_it() -> None:
    vs = {"resourceType": "ValueSet", "url": VS, "compose": {"include": [
        {"system": SYSTEM, "version": "1.0.0", "concept": [{"code": "red"}]},
        {"system": SYSTEM, "version": "1.2.0", "concept": [{"code": "blue"}]}]}}
    assert check(vs, code="red").version == "1.0.0"
    assert check(vs, code="blue").version == "1.2.0"


# -- expand --------------------------------------------------------------------------------


def test_expansion_follows_rules_and_reports_those_used() -> None:
    vs = value_set()
    exp = expand(sources(vs), vs, rules=rules(default="1.0.0", force="1.0.x"))
    assert [i.code for i in exp.items] == ["red", "green"]
    assert exp.used_code_systems == [f"{SYSTEM}|1.0.0"]
    assert exp.version_rules == [("force-system-version", f"{SYSTEM}|1.0.x")]


def test_expansion_check_rule_and_missing_release_are_errors() -> None:
    with pytest.raises(ComposeError) as failed:
        expand(sources(), value_set("1.2.0"), rules=rules(check="1.0.x"))
    assert failed.value.issue.message_id == "VALUESET_VERSION_CHECK"
    with pytest.raises(ComposeError) as missing:
        expand(sources(), value_set("1"))
    assert missing.value.issue.message_id == "UNKNOWN_CODESYSTEM_VERSION_EXP"


def test_default_valueset_version_pins_imports() -> None:
    old, new = value_set("1.0.0", version="1.0.0"), value_set("1.2.0", version="2.0.0")
    outer = {"resourceType": "ValueSet", "url": f"{VS}-outer", "compose": {"include": [{"valueSet": [VS]}]}}
    chain = sources(old, new, outer)
    assert len(expand(chain, outer).items) == 3
    pinned = VersionRules.from_canonicals([("default-valueset-version", f"{VS}|1.0.0")])
    assert len(expand(chain, outer, rules=pinned).items) == 2
    wrong = VersionRules.from_canonicals([("default-valueset-version", f"{VS}|3.0.0")])
    with pytest.raises(ComposeError) as failed:
        expand(chain, outer, rules=wrong)
    assert failed.value.issue.message_id == "VS_EXP_IMPORT_UNK_PINNED"


# -- over HTTP -----------------------------------------------------------------------------


def post(client: TestClient, op: str, *params: dict[str, Any]) -> Any:
    body = {"resourceType": "Parameters", "parameter": [
        *params, *({"name": "tx-resource", "resource": r} for r in [*RELEASES, value_set()])]}
    return client.post(f"/fhir/ValueSet/{op}", json=body, headers={"Content-Type": "application/fhir+json"})


def test_http_expand_echoes_only_the_rules_that_applied(client: TestClient) -> None:
    response = post(client, "$expand", {"name": "url", "valueUri": VS},
                    {"name": "system-version", "valueCanonical": f"{SYSTEM}|1.0.0"},
                    {"name": "check-system-version", "valueCanonical": "http://example.org/unused|1.x"})
    assert response.status_code == 200
    params = {(p["name"], p.get("valueUri")) for p in response.json()["expansion"]["parameter"]}
    assert ("system-version", f"{SYSTEM}|1.0.0") in params and ("used-codesystem", f"{SYSTEM}|1.0.0") in params
    assert not any(name == "check-system-version" for name, _ in params)


def test_http_check_rule_failure_is_a_4xx(client: TestClient) -> None:
    response = post(client, "$expand", {"name": "url", "valueUri": VS},
                    {"name": "check-system-version", "valueCanonical": f"{SYSTEM}|1.0.x"},
                    {"name": "valueSet", "resource": value_set("1.2.0")})
    assert response.status_code == 400
    assert "required to be '1.0.x' by a version-check parameter" in response.json()["issue"][0]["details"]["text"]


def test_http_validate_with_forced_version(client: TestClient) -> None:
    response = post(client, "$validate-code", {"name": "url", "valueUri": VS},
                    {"name": "coding", "valueCoding": {"system": SYSTEM, "code": "red"}},
                    {"name": "force-system-version", "valueCanonical": f"{SYSTEM}|1.0.x"})
    out = {p["name"]: next(v for k, v in p.items() if k != "name") for p in response.json()["parameter"]}
    assert (out["result"], out["version"], out["display"]) == (True, "1.0.0", "red (1.0.0)")


def test_http_unknown_value_set_version_is_404(client: TestClient) -> None:
    response = post(client, "$validate-code", {"name": "url", "valueUri": VS}, {"name": "valueSetVersion", "valueString": "9.9.9"},
                    {"name": "coding", "valueCoding": {"system": SYSTEM, "code": "red"}})
    assert response.status_code == 404
    issue = response.json()["issue"][0]
    assert issue["details"]["text"] == f"A definition for the value Set '{VS}|9.9.9' could not be found"


def test_default_valueset_version_decides_validation_as_it_decides_expansion() -> None:
    """An import without a version read in the default-valueset-version release: blue is only in
    the import's version 2 (which includes 1.2.0); with the rule naming version 1 it is not a member."""
    imp_1 = value_set("1.0.0", version="1", url="http://example.org/ValueSet/imp")
    imp_2 = value_set("1.2.0", version="2", url="http://example.org/ValueSet/imp")
    top = {"resourceType": "ValueSet", "url": "http://example.org/ValueSet/top", "version": "1", "status": "active",
           "compose": {"include": [{"valueSet": ["http://example.org/ValueSet/imp"]}]}}
    chain = sources(imp_1, imp_2, top)
    pinned = VersionRules.from_canonicals([("default-valueset-version", "http://example.org/ValueSet/imp|1")])
    assert validate_code(chain, [Coding(SYSTEM, "blue")], value_set=top).result is True
    assert validate_code(chain, [Coding(SYSTEM, "blue")], value_set=top, rules=pinned).result is False
    assert {i.code for i in expand(chain, top, rules=pinned).items} == {"red", "green"}
    answer = validate_code(chain, [Coding(SYSTEM, "green")], value_set=top, rules=pinned)
    assert (answer.result, answer.version) == (True, "1.0.0")


def test_newest_release_compares_numbers_not_text() -> None:
    """NHS releases are not semver: OPCS-4 4.11 is newer than 4.10, whatever order they come in."""
    opcs = [code_system("4.10", "red"), code_system("4.11", "red"), code_system("4.9", "red")]
    for order in (opcs, opcs[::-1]):
        chain = SourceChain([RequestResources(order)])
        assert chain.code_system(SYSTEM).version == "4.11"
        assert chain.code_system(SYSTEM, "4.x").version == "4.11"
        assert chain.code_system(SYSTEM, "4.*").version == "4.11"
    assert [v for v in sorted(["1.2.0", "1.2.0-beta", "1.10.0", "1.9.1"], key=version_key)] == ["1.2.0-beta", "1.2.0", "1.9.1", "1.10.0"]


def test_version_rules_key_tells_rules_apart() -> None:
    """The memo of value-set membership is keyed by the rules: different rules, different keys."""
    assert VersionRules().key() == () == rules().key()
    assert rules(force="1.0.0").key() != rules(force="1.2.0").key() != rules(default="1.2.0").key()
    assert rules(force="1.0.0").key() == rules(force="1.0.0").key()
    pinned = VersionRules.from_canonicals([("default-valueset-version", f"{VS}|1")])
    assert pinned.key() not in ((), rules(check="1").key())
