"""fhir.terminology_ops: how request parameters become the coding that is validated."""

from __future__ import annotations

from typing import Any

import pytest
from ipg_validator.content.index import ContentIndex
from ipg_validator.core.errors import FhirError
from ipg_validator.fhir.parameters import Params
from ipg_validator.fhir.terminology_ops import ACCEPT_LANGUAGE, lookup_op, validate_code_op

from conftest import OPCS4, PROCEDURES

J12_3 = "Selective internal radiotherapy with microspheres to lesion of liver"


def answer(index: ContentIndex, resource_type: str, **params: str) -> dict[str, Any]:
    """The $validate-code answer's parameters by name (first value of each)."""
    out = validate_code_op(index, Params(params.items()), resource_type=resource_type)
    found: dict[str, Any] = {}
    for p in out["parameter"]:
        found.setdefault(p["name"], next((v for k, v in p.items() if k.startswith("value")), None))
    return found


@pytest.mark.parametrize(("resource_type", "target"), [("ValueSet", {"url": PROCEDURES}), ("CodeSystem", {})])
def test_system_with_pipe_version_is_split(index: ContentIndex, resource_type: str, target: dict[str, str]) -> None:
    """`system=url|version` (HAPI's remote terminology support sends it for a versioned include) is the system at that version."""
    found = answer(index, resource_type, **target, system=f"{OPCS4}|4.11", code="J12.3")
    assert found["result"] is True
    assert (found["system"], found["version"], found["display"]) == (OPCS4, "4.11", J12_3)


def test_system_with_pipe_and_a_version_not_held(index: ContentIndex) -> None:
    found = answer(index, "ValueSet", url=PROCEDURES, system=f"{OPCS4}|4.2", code="J12.3")
    assert found["result"] is False
    assert "4.2" in found["message"] and "4.11" in found["message"]


def test_explicit_system_version_wins_over_the_pipe(index: ContentIndex) -> None:
    found = answer(index, "ValueSet", url=PROCEDURES, system=f"{OPCS4}|4.11", systemVersion="4.2", code="J12.3")
    assert found["result"] is False and "version '4.2' could not be found" in found["message"]
    assert found["x-caused-by-unknown-system"] == f"{OPCS4}|4.2"


MULTILINGUAL = {
    "resourceType": "CodeSystem", "url": "http://example.org/CodeSystem/sites", "version": "1", "status": "active",
    "content": "complete", "language": "en", "property": [{"code": "colour", "type": "string"}],
    "concept": [{"code": "liver", "display": "Liver", "definition": "The organ",
                 "designation": [{"language": "de", "value": "Leber"}, {"language": "fr", "value": "Foie"}],
                 "property": [{"code": "colour", "valueString": "red"}]}],
}


def lookup_answer(index: ContentIndex, *extra: tuple[str, Any]) -> list[dict[str, Any]]:
    params = Params([("system", MULTILINGUAL["url"]), ("code", "liver"), ("tx-resource", MULTILINGUAL), *extra])
    return lookup_op(index, params)["parameter"]


def named(parameters: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [p for p in parameters if p["name"] == name]


@pytest.mark.parametrize(("given", "display"), [
    (("displayLanguage", "de"), "Leber"), (("language", "fr-FR"), "Foie"), (("language", "nl"), "Liver"), (ACCEPT_LANGUAGE, "Foie"),
])
def test_lookup_display_language(index: ContentIndex, given: Any, display: str) -> None:
    """displayLanguage, `language` (as HAPI sends it) or Accept-Language choose the display."""
    extra = (ACCEPT_LANGUAGE, "fr;q=0.9, en;q=0.5") if given == ACCEPT_LANGUAGE else given
    assert named(lookup_answer(index, extra), "display") == [{"name": "display", "valueString": display}]


def test_lookup_property_chooses_what_is_returned(index: ContentIndex) -> None:
    everything = lookup_answer(index)
    # the concept's two designations, and its display as the preferred designation
    assert len(named(everything, "designation")) == 3 and named(everything, "definition")
    assert {p["part"][0]["valueCode"] for p in named(everything, "property")} == {"colour", "inactive"}
    assert lookup_answer(index, ("property", "*")) == everything
    only_colour = lookup_answer(index, ("property", "colour"))
    assert [p["part"] for p in named(only_colour, "property")] == [[{"name": "code", "valueCode": "colour"}, {"name": "value", "valueString": "red"}]]
    assert not named(only_colour, "designation") and not named(only_colour, "definition")
    assert named(only_colour, "display") and named(only_colour, "name") and named(only_colour, "abstract")
    with_designations = lookup_answer(index, ("property", "designation"), ("property", "definition"))
    assert len(named(with_designations, "designation")) == 3 and named(with_designations, "definition")
    assert not named(with_designations, "property")


@pytest.mark.parametrize("name", ["displayLanguage", "language"])
def test_lookup_refuses_a_display_language_that_is_not_a_language_list(index: ContentIndex, name: str) -> None:
    """As $validate-code and $expand do: a 400 INVALID_DISPLAY_NAME, not a silent fallback."""
    with pytest.raises(FhirError) as refused:
        lookup_answer(index, (name, "!!;q=7"))
    assert refused.value.status == 400 and refused.value.issues[0].message_id == "INVALID_DISPLAY_NAME"


def test_two_forced_versions_of_one_system_name_the_parameter(index: ContentIndex) -> None:
    params = Params([("system", MULTILINGUAL["url"]), ("code", "liver"), ("tx-resource", MULTILINGUAL),
                     ("force-system-version", f"{MULTILINGUAL['url']}|1"), ("force-system-version", f"{MULTILINGUAL['url']}|2")])
    with pytest.raises(FhirError) as refused:
        validate_code_op(index, params, resource_type="CodeSystem")
    [issue] = refused.value.issues
    assert (refused.value.status, issue.code, issue.expression) == (400, "invalid", ("force-system-version",))
