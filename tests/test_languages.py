"""Display languages and designations: language lists, $expand displays and designations, and the
displayLanguage checks of $validate-code, through the engine and over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from ipg_validator.content.codesystem import index_code_system
from ipg_validator.terminology.designations import DesignationOptions
from ipg_validator.terminology.expand import expand
from ipg_validator.terminology.languages import check_display, echo_form, excludes_others, is_valid_list, requested
from ipg_validator.terminology.messages import PREFERRED_FOR_LANGUAGE
from ipg_validator.terminology.sources import RequestResources, SourceChain

CS_URL = "http://example.org/CodeSystem/organs"
VS_URL = "http://example.org/ValueSet/organs"
ORGANS = {
    "resourceType": "CodeSystem", "url": CS_URL, "status": "active", "content": "complete", "language": "en",
    "concept": [
        {"code": "liver", "display": "Liver", "designation": [
            {"language": "de-CH", "value": "Leber"}, {"language": "fr", "value": "Foie"}]},
        {"code": "heart", "display": "Heart", "designation": [
            {"language": "fr", "value": "Coeur"}, {"use": {"system": "http://example.org/uses", "code": "lay"}, "value": "Ticker"}]},
        {"code": "lung", "display": "Lung"},
    ],
}
ORGANS_VS = {"resourceType": "ValueSet", "url": VS_URL, "status": "active", "compose": {"include": [{"system": CS_URL}]}}
NO_LANGUAGE = {"resourceType": "CodeSystem", "url": "http://example.org/CodeSystem/plain", "status": "active",
               "content": "complete", "concept": [{"code": "a", "display": "Alpha"}]}
PREFERRED = {"language": "en", "use": PREFERRED_FOR_LANGUAGE, "value": "Liver"}


def expanded(vs: dict[str, Any] = ORGANS_VS, **options: Any) -> dict[str, Any]:
    """code -> (display, designations) of the engine's expansion of `vs` over ORGANS."""
    sources = SourceChain([RequestResources([ORGANS, vs])])
    exp = expand(sources, vs, designations=DesignationOptions(**options))
    return {i.code: (i.display, list(i.designations)) for i in exp.items}


# --- language lists -------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "tags"), [
    ("de", ["de"]), ("de,en;q=0.5", ["de", "en"]), ("en;q=0.2, fr", ["fr", "en"]), ("de,*; q=0", ["de"]),
    ("de, fr;q=0", ["de"]), ("*", []), ("", []), (None, []),
])
def test_requested_orders_by_weight_and_drops_refused(value: str | None, tags: list[str]) -> None:
    assert requested(value) == tags


@pytest.mark.parametrize(("value", "valid"), [
    ("de", True), ("de-CH", True), ("en,*;q=0", True), ("en, *; q=0", True), ("zh-Hant-TW", True),
    ("-", False), ("de,", False), ("de;q=2", False), ("de;x=1", False), ("d e", False), ("", False),
])
def test_is_valid_list(value: str, valid: bool) -> None:
    assert is_valid_list(value) is valid


@pytest.mark.parametrize(("value", "echo"), [
    ("de", "de"), ("de,*", "de,*"), ("en,it,*", "en,it,*"), ("de,*; q=0", "de, *; q=0"), ("en,*;q=0", "en, *; q=0"),
])
def test_echo_form_spaces_lists_with_weights(value: str, echo: str) -> None:
    assert echo_form(value) == echo


def test_excludes_others_only_for_a_refused_wildcard() -> None:
    assert excludes_others("de,*;q=0") and not excludes_others("de,*") and not excludes_others("de")


# --- $expand through the engine -------------------------------------------------------------------

def test_no_language_and_no_designations_leaves_items_bare() -> None:
    assert expanded() == {"liver": ("Liver", []), "heart": ("Heart", []), "lung": ("Lung", [])}


def test_include_designations_lists_them_by_language() -> None:
    found = expanded(include=True)
    assert found["liver"] == ("Liver", [{"language": "de-CH", "value": "Leber"}, {"language": "fr", "value": "Foie"}])
    assert found["heart"][1] == [{"use": {"system": "http://example.org/uses", "code": "lay"}, "value": "Ticker"},
                                 {"language": "fr", "value": "Coeur"}]


def test_a_translation_replaces_the_display_which_becomes_a_preferred_designation() -> None:
    found = expanded(languages="de", include=True)
    assert found["liver"] == ("Leber", [PREFERRED, {"language": "fr", "value": "Foie"}])
    # no German: the code system's display stays (a soft preference)
    assert found["lung"] == ("Lung", [])


def test_refusing_other_languages_drops_displays_without_a_translation() -> None:
    found = expanded(languages="fr, *; q=0", include=True)
    assert found["liver"][0] == "Foie" and found["heart"][0] == "Coeur"
    assert found["lung"] == (None, [{"language": "en", "use": PREFERRED_FOR_LANGUAGE, "value": "Lung"}])


def test_the_code_system_language_keeps_its_display() -> None:
    found = expanded(languages="en,de", include=True)
    assert found["liver"][0] == "Liver" and {"language": "de-CH", "value": "Leber"} in found["liver"][1]


def test_translation_without_include_designations_changes_only_the_display() -> None:
    assert expanded(languages="fr") == {"liver": ("Foie", []), "heart": ("Coeur", []), "lung": ("Lung", [])}


def test_designation_filter_by_language_and_by_use() -> None:
    by_language = expanded(wanted=("urn:ietf:bcp:47|fr",))
    assert by_language["liver"][1] == [{"language": "fr", "value": "Foie"}] and by_language["lung"][1] == []
    # `de` asks for German designations, not Swiss German ones
    assert expanded(wanted=("urn:ietf:bcp:47|de",))["liver"][1] == []
    assert [d["value"] for d in expanded(wanted=("http://example.org/uses|lay",))["heart"][1]] == ["Ticker"]


def test_expansion_names_the_languages_it_used() -> None:
    sources = SourceChain([RequestResources([ORGANS, ORGANS_VS])])
    assert expand(sources, ORGANS_VS, designations=DesignationOptions("de,*;q=0")).display_language == "de, *; q=0"
    assert expand(sources, ORGANS_VS).display_language is None


# --- display checks of $validate-code -------------------------------------------------------------

def test_a_display_in_no_known_language_is_valid_for_any_language() -> None:
    cs = index_code_system(NO_LANGUAGE)
    concept = cs.concepts["a"]
    assert check_display(cs, concept, "Alpha", "de", "error", "Coding.display") is None
    wrong = check_display(cs, concept, "Beta", "de", "error", "Coding.display")
    assert wrong is not None and wrong.text.endswith("Valid display is 'Alpha' (for the language(s) 'de')")


def test_the_language_note_is_left_out_for_an_nhs_title_when_no_language_is_asked() -> None:
    """tx.fhir.org's "(for the language(s) '--')" stays where the HL7 suites expect it, not on OPCS-4/ICD-10 titles."""
    cs = index_code_system(NO_LANGUAGE)
    concept = cs.concepts["a"]
    nhs = check_display(cs, concept, "Beta", None, "warning", "Coding.display", spacing_ok=True)
    assert nhs is not None and nhs.text.endswith("Valid display is 'Alpha'")
    other = check_display(cs, concept, "Beta", None, "error", "Coding.display")
    assert other is not None and other.text.endswith("Valid display is 'Alpha' (for the language(s) '--')")
    asked = check_display(cs, concept, "Beta", "de", "warning", "Coding.display", spacing_ok=True)
    assert asked is not None and asked.text.endswith("(for the language(s) 'de')")


def test_a_display_in_another_language_is_not_valid_for_the_one_asked() -> None:
    cs = index_code_system(ORGANS)
    issue = check_display(cs, cs.concepts["lung"], "Lung", "de", "error", "Coding.display")
    assert issue is not None and issue.message_id == "NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_OK"


# --- over HTTP --------------------------------------------------------------------------------------

def post(client: TestClient, operation: str, *params: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    body = {"resourceType": "Parameters", "parameter": [
        *params, {"name": "tx-resource", "resource": ORGANS}, {"name": "tx-resource", "resource": NO_LANGUAGE},
        {"name": "tx-resource", "resource": ORGANS_VS}]}
    return client.post(f"/fhir/{operation}", json=body, headers={"Content-Type": "application/fhir+json", **(headers or {})})


def contains(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["code"]: c for c in answer["expansion"]["contains"]}


def echoed(answer: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [p for p in answer["expansion"]["parameter"] if p["name"] == name]


def test_http_expand_display_language_parameter(client: TestClient) -> None:
    response = post(client, "ValueSet/$expand", {"name": "url", "valueUri": VS_URL}, {"name": "displayLanguage", "valueCode": "fr"},
                    {"name": "includeDesignations", "valueBoolean": True})
    assert response.status_code == 200
    answer = response.json()
    assert echoed(answer, "displayLanguage") == [{"name": "displayLanguage", "valueCode": "fr"}]
    assert echoed(answer, "includeDesignations") == [{"name": "includeDesignations", "valueBoolean": True}]
    liver = contains(answer)["liver"]
    assert liver["display"] == "Foie"
    assert liver["designation"] == [{"language": "de-CH", "value": "Leber"}, {"language": "en", "use": PREFERRED_FOR_LANGUAGE, "value": "Liver"}]


def test_http_expand_accept_language_header(client: TestClient) -> None:
    answer = post(client, "ValueSet/$expand", {"name": "url", "valueUri": VS_URL}, headers={"Accept-Language": "de-CH"}).json()
    assert echoed(answer, "displayLanguage") == [{"name": "displayLanguage", "valueCode": "de-CH"}]
    assert contains(answer)["liver"]["display"] == "Leber" and "designation" not in contains(answer)["liver"]


def test_http_expand_value_set_language(client: TestClient) -> None:
    vs = {**ORGANS_VS, "language": "fr"}
    answer = post(client, "ValueSet/$expand", {"name": "valueSet", "resource": vs}).json()
    assert echoed(answer, "displayLanguage") == [{"name": "displayLanguage", "valueCode": "fr"}]
    assert contains(answer)["heart"]["display"] == "Coeur"


def test_http_expand_designation_parameters_are_echoed_as_strings(client: TestClient) -> None:
    answer = post(client, "ValueSet/$expand", {"name": "url", "valueUri": VS_URL},
                  {"name": "designation", "valueString": "http://example.org/uses|lay"}).json()
    assert echoed(answer, "designation") == [{"name": "designation", "valueString": "http://example.org/uses|lay"}]
    assert [d["value"] for d in contains(answer)["heart"]["designation"]] == ["Ticker"]
    assert "designation" not in contains(answer)["liver"]


@pytest.mark.parametrize("operation", ["ValueSet/$expand", "ValueSet/$validate-code"])
def test_http_invalid_display_language_is_a_400(client: TestClient, operation: str) -> None:
    response = post(client, operation, {"name": "url", "valueUri": VS_URL}, {"name": "displayLanguage", "valueCode": "-"},
                    {"name": "coding", "valueCoding": {"system": CS_URL, "code": "liver"}})
    assert response.status_code == 400
    issue = response.json()["issue"][0]
    assert issue["details"]["text"] == "Invalid displayLanguage: '-'" and issue["code"] == "processing"
    assert issue["details"]["coding"][0]["code"] == "invalid-display" and "expression" not in issue


def test_http_validate_code_display_in_no_known_language(client: TestClient) -> None:
    coding = {"system": NO_LANGUAGE["url"], "code": "a", "display": "Alpha"}
    answer = post(client, "CodeSystem/$validate-code", {"name": "coding", "valueCoding": coding},
                  {"name": "displayLanguage", "valueCode": "de"}).json()
    names = {p["name"]: p for p in answer["parameter"]}
    assert names["result"]["valueBoolean"] is True and "issues" not in names and "message" not in names


def test_http_terminology_capabilities_claims_language_parameters(client: TestClient) -> None:
    caps = client.get("/fhir/metadata", params={"mode": "terminology"}).json()
    names = [p["name"] for p in caps["expansion"]["parameter"]]
    assert {"displayLanguage", "includeDesignations", "designation"} <= set(names) and names == sorted(names)


def test_a_preferred_for_language_designation_wins_over_others_in_that_language() -> None:
    cs = {**ORGANS, "concept": [{"code": "liver", "display": "Liver", "designation": [
        {"language": "fr", "use": {"system": "http://example.org/uses", "code": "lay"}, "value": "Le foie"},
        {"language": "fr", "value": "Foie hépatique"},
        {"language": "fr", "use": PREFERRED_FOR_LANGUAGE, "value": "Foie"}]}]}
    sources = SourceChain([RequestResources([cs, ORGANS_VS])])
    assert expand(sources, ORGANS_VS, designations=DesignationOptions("fr")).items[0].display == "Foie"


def test_a_code_system_in_no_known_language_keeps_its_display_when_others_are_refused() -> None:
    vs = {"resourceType": "ValueSet", "url": "http://example.org/ValueSet/plain", "compose": {"include": [{"system": NO_LANGUAGE["url"]}]}}
    sources = SourceChain([RequestResources([NO_LANGUAGE, vs])])
    assert expand(sources, vs, designations=DesignationOptions("de,*;q=0")).items[0].display == "Alpha"
