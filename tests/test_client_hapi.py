"""HAPI FHIR's RemoteTerminologyServiceValidationSupport (hapi-fhir-validation) against `ipg-validator serve`.

Each helper sends exactly the request the Java method sends through HAPI's generic client (see
support/hapi.py for the headers) and reads the answer the way the Java method reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.valueset import ValueSet

from conftest import DIAGNOSES, ICD10_UK, OPCS4, PROCEDURES, VS_BASE
from support.hapi import ACCEPT_JSON, CONTENT_TYPE, HAPI_USER_AGENT, GenericClient, bundle_resources, outcome, parameters, values

SIRT = VS_BASE + "ipg672-sirt-procedure"
J12_3 = "Selective internal radiotherapy with microspheres to lesion of liver"
C78_7 = "Secondary malignant neoplasm of liver and intrahepatic bile duct"
UNKNOWN_SYSTEM = "http://example.org/fhir/CodeSystem/not-served-here"


@dataclass
class CodeValidationResult:
    """What `invokeRemoteValidateCode` makes of a $validate-code answer."""

    ok: bool
    code: str | None = None
    display: str | None = None
    message: str | None = None


@pytest.fixture
def hapi(fhir_base: str) -> GenericClient:
    return GenericClient(fhir_base)


def fetch(hapi: GenericClient, kind: str, url: str, summary: str | None = "false") -> dict[str, Any] | None:
    """fetchValueSet / fetchCodeSystem (`_summary=false`); isValueSetSupported / isCodeSystemSupported send no _summary."""
    found = bundle_resources(hapi.search(kind, url, summary))
    return found[0] if found else None


def invoke_validate_code(hapi: GenericClient, system: str | None, code: str, display: str | None,
                         value_set_url: str | None, value_set: dict[str, Any] | None = None) -> CodeValidationResult:
    """`invokeRemoteValidateCode` with `buildValidateCodeInputParameters`: CodeSystem/$validate-code when no value set is given."""
    if value_set is None and value_set_url is None:
        params = [("url", "valueUri", system), ("code", "valueString", code)]
        params += [("display", "valueString", display)] if display else []
        kind = "CodeSystem"
    else:
        params = [("url", "valueUri", value_set_url)] if value_set_url else []
        params += [("code", "valueString", code)]
        params += [("system", "valueUri", system)] if system else []
        params += [("display", "valueString", display)] if display else []
        params += [("valueSet", "resource", value_set)] if value_set is not None else []
        kind = "ValueSet"
    answer = parameters(hapi.operation_post(kind, "validate-code", params))
    result = values(answer, "result")
    assert len(result) == 1, answer  # HAPI: Validate.isTrue(resultValues.size() == 1)
    if result[0].lower() == "true":
        shown = values(answer, "display")
        return CodeValidationResult(True, code, shown[0] if shown else None)
    messages = values(answer, "message")
    return CodeValidationResult(False, message=messages[0] if messages else None)


def validate_code_in_value_set(hapi: GenericClient, system: str | None, code: str, display: str | None,
                               value_set: dict[str, Any]) -> CodeValidationResult:
    """`validateCodeInValueSet`: the system comes from the value set when not given; a value set with a url goes by url."""
    if code and not system:
        system = extract_code_system_for_code(value_set, code)
    if value_set.get("url"):
        return invoke_validate_code(hapi, system, code, display, value_set["url"])
    return invoke_validate_code(hapi, system, code, display, None, value_set)


def extract_code_system_for_code(value_set: dict[str, Any], code: str) -> str | None:
    """`ValidationSupportUtils.extractCodeSystemForCode`: the include's system, `|version` added when the include has one."""
    includes = (value_set.get("compose") or {}).get("include") or []
    if len(includes) == 1:
        return _versioned(includes[0]) if includes[0].get("system") else None
    for include in includes:
        if include.get("system") and any(c.get("code") == code for c in include.get("concept", [])):
            return _versioned(include)
    return None


def _versioned(include: dict[str, Any]) -> str:
    system = include["system"]
    return f"{system}|{include['version']}" if "|" not in system and include.get("version") else system


def lookup_code(hapi: GenericClient, system: str, code: str, display_language: str | None = None) -> Any:
    """`lookupCode`: GET CodeSystem/$lookup with code, system and the display language sent as `language`."""
    params = [("code", "valueString", code), ("system", "valueString", system)]
    params += [("language", "valueString", display_language)] if display_language else []
    return hapi.operation_get("CodeSystem", "$lookup", params)


# --- fetchValueSet / fetchCodeSystem / is...Supported --------------------------------------------


@pytest.mark.parametrize("url", [PROCEDURES, DIAGNOSES, SIRT])
def test_fetch_value_set(hapi: GenericClient, url: str) -> None:
    found = fetch(hapi, "ValueSet", url)
    assert found is not None and found["url"] == url
    vs = ValueSet.model_validate(found)
    assert vs.compose is not None and vs.compose.include  # the whole resource, not a summary
    assert fetch(hapi, "ValueSet", url, summary=None)["url"] == url  # isValueSetSupported


def test_value_set_not_supported(hapi: GenericClient) -> None:
    assert fetch(hapi, "ValueSet", VS_BASE + "not-served-here") is None
    assert fetch(hapi, "ValueSet", VS_BASE + "not-served-here", summary=None) is None


@pytest.mark.parametrize(("system", "code", "title"), [(OPCS4, "J12.3", J12_3), (ICD10_UK, "C78.7", C78_7)])
def test_fetch_code_system(hapi: GenericClient, system: str, code: str, title: str) -> None:
    found = fetch(hapi, "CodeSystem", system)
    assert found is not None and found["url"] == system
    cs = CodeSystem.model_validate(found)

    def titles(concepts: Any) -> dict[str, str]:
        out = {}
        for c in concepts or []:
            out[c.code] = c.display
            out.update(titles(c.concept))
        return out

    assert titles(cs.concept)[code] == title
    assert fetch(hapi, "CodeSystem", system, summary=None) is not None  # isCodeSystemSupported
    assert fetch(hapi, "CodeSystem", UNKNOWN_SYSTEM) is None


# --- validateCode / validateCodeInValueSet -------------------------------------------------------


def test_validate_code_in_procedures(hapi: GenericClient) -> None:
    assert invoke_validate_code(hapi, OPCS4, "J12.3", J12_3, PROCEDURES) == CodeValidationResult(True, "J12.3", J12_3)
    assert invoke_validate_code(hapi, OPCS4, "J12.3", None, PROCEDURES).display == J12_3


def test_code_outside_procedures_is_an_error_with_a_message(hapi: GenericClient) -> None:
    result = invoke_validate_code(hapi, OPCS4, "J12.4", None, PROCEDURES)
    assert not result.ok
    assert result.message and "J12.4" in result.message and PROCEDURES in result.message


def test_validate_code_in_diagnoses(hapi: GenericClient) -> None:
    assert invoke_validate_code(hapi, ICD10_UK, "C78.7", C78_7, DIAGNOSES) == CodeValidationResult(True, "C78.7", C78_7)
    opcs_code = invoke_validate_code(hapi, OPCS4, "C78.7", None, DIAGNOSES)  # same string, other system
    assert not opcs_code.ok and opcs_code.message


def test_unknown_system_is_not_valid(hapi: GenericClient) -> None:
    in_value_set = invoke_validate_code(hapi, UNKNOWN_SYSTEM, "J12.3", None, PROCEDURES)
    assert not in_value_set.ok and UNKNOWN_SYSTEM in (in_value_set.message or "")
    in_code_system = invoke_validate_code(hapi, UNKNOWN_SYSTEM, "J12.3", None, None)
    assert not in_code_system.ok and UNKNOWN_SYSTEM in (in_code_system.message or "")


def test_validate_code_in_code_system(hapi: GenericClient) -> None:
    assert invoke_validate_code(hapi, OPCS4, "J12.3", J12_3, None) == CodeValidationResult(True, "J12.3", J12_3)
    assert invoke_validate_code(hapi, OPCS4, "J12.4", None, None).display == "Percutaneous radiofrequency ablation of lesion of liver"
    unknown = invoke_validate_code(hapi, OPCS4, "J12.99", None, None)
    assert not unknown.ok and "J12.99" in (unknown.message or "")


def test_wrong_display_is_still_the_code(hapi: GenericClient) -> None:
    """A wrong display is a warning on a true result: HAPI keeps the code and reads the right display."""
    assert invoke_validate_code(hapi, OPCS4, "J12.3", "Not the title", PROCEDURES) == CodeValidationResult(True, "J12.3", J12_3)


def test_validate_code_in_fetched_value_set(hapi: GenericClient) -> None:
    """The value set HAPI fetched goes back by url; the system comes from its single include."""
    sirt = fetch(hapi, "ValueSet", SIRT)
    assert sirt is not None
    assert validate_code_in_value_set(hapi, None, "J12.3", None, sirt) == CodeValidationResult(True, "J12.3", J12_3)
    assert not validate_code_in_value_set(hapi, None, "J12.4", None, sirt).ok


def test_no_system_for_a_set_of_several_systems_is_not_guessed(hapi: GenericClient) -> None:
    """ipg672-procedures includes other value sets, so HAPI finds no system and sends the code alone."""
    procedures = fetch(hapi, "ValueSet", PROCEDURES)
    assert procedures is not None and extract_code_system_for_code(procedures, "J12.3") is None
    result = validate_code_in_value_set(hapi, None, "J12.3", None, procedures)
    assert not result.ok and "system" in (result.message or "")


def test_validate_code_in_value_set_without_url(hapi: GenericClient) -> None:
    """A value set with no url is sent whole, as the `valueSet` parameter."""
    local = {"resourceType": "ValueSet", "status": "active",
             "compose": {"include": [{"system": OPCS4, "concept": [{"code": "J12.3"}, {"code": "X65.3"}]}]}}
    assert validate_code_in_value_set(hapi, None, "J12.3", None, local) == CodeValidationResult(True, "J12.3", J12_3)
    assert not validate_code_in_value_set(hapi, None, "J12.4", None, local).ok


def test_system_with_version_from_the_value_set(hapi: GenericClient) -> None:
    """An include that names its version makes HAPI send `system` as `url|version`."""
    local = {"resourceType": "ValueSet", "status": "active",
             "compose": {"include": [{"system": OPCS4, "version": "4.11", "concept": [{"code": "J12.3"}]}]}}
    assert extract_code_system_for_code(local, "J12.3") == f"{OPCS4}|4.11"
    assert validate_code_in_value_set(hapi, None, "J12.3", None, local) == CodeValidationResult(True, "J12.3", J12_3)
    for url, code in ((SIRT, "J12.3"), (PROCEDURES, "J12.3")):
        assert invoke_validate_code(hapi, f"{OPCS4}|4.11", code, None, url).ok
    wrong = invoke_validate_code(hapi, f"{OPCS4}|4.2", "J12.3", None, SIRT)
    assert not wrong.ok and "4.2" in (wrong.message or "")


# --- lookupCode ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("system", "code", "title"), [(OPCS4, "J12.3", J12_3), (ICD10_UK, "C78.7", C78_7)])
@pytest.mark.parametrize("language", [None, "en-GB"])
def test_lookup_code(hapi: GenericClient, system: str, code: str, title: str, language: str | None) -> None:
    answer = parameters(lookup_code(hapi, system, code, language))
    assert values(answer, "display") == [title]  # LookupCodeResult.getCodeDisplay
    assert values(answer, "name")  # getCodeSystemDisplayName
    assert values(answer, "abstract") == ["false"]


def test_lookup_unknown_code(hapi: GenericClient) -> None:
    """A 404 is HAPI's ResourceNotFoundException, which lookupCode turns into "not found"."""
    body = outcome(lookup_code(hapi, OPCS4, "J12.99"), 404)
    assert any("J12.99" in (i.get("details", {}).get("text") or "") for i in body["issue"])
    outcome(lookup_code(hapi, UNKNOWN_SYSTEM, "J12.3"), 404)


def test_code_system_validate_code_with_a_valueless_url(hapi: GenericClient) -> None:
    """Seen from HAPI 8.8.1 with remote_terminology_service `*` (interop/hapi-client --remote-system '*', examples/missing-system):
    a coding without a system goes to CodeSystem/$validate-code as `{"name": "url"}`, a parameter with no value.
    It is answered as a code without a system: not valid, with the reason, never a 400 or 500."""
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "url"}, {"name": "code", "valueString": "C18.7"}, {"name": "display", "valueString": "Malignant neoplasm: Sigmoid colon"}]}
    headers = {"User-Agent": HAPI_USER_AGENT, "Accept-Encoding": "gzip", "Accept": ACCEPT_JSON, "Content-Type": CONTENT_TYPE}
    answer = parameters(httpx.post(f"{hapi.base}/CodeSystem/$validate-code", content=orjson.dumps(body), headers=headers))
    assert values(answer, "result") == ["false"]
    assert "no system" in values(answer, "message")[0]
