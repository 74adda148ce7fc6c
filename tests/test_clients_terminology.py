"""fhirpy (sync and async) and fhirclient calling $validate-code and $expand on the IPG672 sets
through their own operation APIs, against `ipg-validator serve`."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import requests
from fhir.resources.R4B.parameters import Parameters
from fhir.resources.R4B.valueset import ValueSet

from conftest import DIAGNOSES, ICD10_UK, OPCS4, PROCEDURES, VS_BASE

DIAGNOSES_CODES = {*(f"C18.{n}" for n in range(10)), "C19", "C20", "C78.7", "Z85.0"}
PROCEDURES_CODES = {"J12.3", "X65.3", "Y36.4", "Y53.4"}
J12_3 = "Selective internal radiotherapy with microspheres to lesion of liver"


def result_of(answer: Any) -> dict[str, Any]:
    """A $validate-code answer as an R4B Parameters resource, its parameters by name (first value each)."""
    parsed = Parameters.model_validate(dict(answer))
    out: dict[str, Any] = {}
    for p in parsed.parameter or []:
        value = next((getattr(p, k) for k in ("valueBoolean", "valueString", "valueCode", "valueUri") if getattr(p, k, None) is not None), None)
        out.setdefault(p.name, value)
    return out


def expansion_codes(answer: Any) -> dict[tuple[str, str], str | None]:
    """An $expand answer as an R4B ValueSet: (system, code) -> display of every code in the expansion."""
    vs = ValueSet.model_validate(dict(answer))
    assert vs.expansion is not None and vs.expansion.total == len(vs.expansion.contains or [])
    return {(c.system, c.code): c.display for c in vs.expansion.contains or []}


def check_diagnoses_expansion(answer: Any) -> None:
    codes = expansion_codes(answer)
    assert {code for _, code in codes} == DIAGNOSES_CODES
    assert {system for system, _ in codes} == {ICD10_UK}
    assert codes[(ICD10_UK, "C78.7")] == "Secondary malignant neoplasm of liver and intrahepatic bile duct"


def check_procedures_expansion(answer: Any) -> None:
    codes = expansion_codes(answer)
    assert PROCEDURES_CODES <= {code for _, code in codes}
    assert "J12.4" not in {code for _, code in codes}
    assert {system for system, _ in codes} == {OPCS4}
    assert codes[(OPCS4, "J12.3")] == J12_3


def validate_params(url: str, system: str, code: str) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": url}, {"name": "system", "valueUri": system}, {"name": "code", "valueCode": code}]}


# --- fhirpy, sync --------------------------------------------------------------------------------


def test_fhirpy_validate_code(fhir_base: str) -> None:
    from fhirpy import SyncFHIRClient

    client = SyncFHIRClient(fhir_base)
    inside = client.execute("ValueSet/$validate-code", method="post", data=validate_params(PROCEDURES, OPCS4, "J12.3"))
    assert result_of(inside)["result"] is True and result_of(inside)["display"] == J12_3
    outside = client.resources("ValueSet").execute("$validate-code", method="get", params={"url": PROCEDURES, "system": OPCS4, "code": "J12.4"})
    assert result_of(outside)["result"] is False and "J12.4" in result_of(outside)["message"]
    by_id = client.resource("ValueSet", id="ipg672-diagnoses").execute("$validate-code", method="get", params={"system": ICD10_UK, "code": "C78.7"})
    assert result_of(by_id)["result"] is True


def test_fhirpy_expand(fhir_base: str) -> None:
    from fhirpy import SyncFHIRClient

    client = SyncFHIRClient(fhir_base)
    check_diagnoses_expansion(client.execute("ValueSet/$expand", method="get", params={"url": DIAGNOSES}))
    check_diagnoses_expansion(client.resource("ValueSet", id="ipg672-diagnoses").execute("$expand", method="get"))
    posted = client.resources("ValueSet").execute("$expand", method="post", data={"resourceType": "Parameters", "parameter": [{"name": "url", "valueUri": PROCEDURES}]})
    check_procedures_expansion(posted)


def test_fhirpy_unknown_value_set(fhir_base: str) -> None:
    from fhirpy import SyncFHIRClient
    from fhirpy.base.exceptions import ResourceNotFound

    client = SyncFHIRClient(fhir_base)
    with pytest.raises(ResourceNotFound, match="not-served-here"):
        client.execute("ValueSet/$expand", method="get", params={"url": VS_BASE + "not-served-here"})


# --- fhirpy, async -------------------------------------------------------------------------------


def test_fhirpy_async(fhir_base: str) -> None:
    from fhirpy import AsyncFHIRClient

    async def calls() -> tuple[Any, Any, Any]:
        client = AsyncFHIRClient(fhir_base)
        return await asyncio.gather(
            client.execute("ValueSet/$validate-code", method="post", data=validate_params(DIAGNOSES, ICD10_UK, "C78.7")),
            client.resources("ValueSet").execute("$validate-code", method="get", params={"url": DIAGNOSES, "system": OPCS4, "code": "C78.7"}),
            client.resource("ValueSet", id="ipg672-diagnoses").execute("$expand", method="get"),
        )

    valid, other_system, expansion = asyncio.run(calls())
    assert result_of(valid)["result"] is True
    assert result_of(other_system)["result"] is False  # the same code string in OPCS-4 is not a diagnosis
    check_diagnoses_expansion(expansion)


# --- fhirclient (SMART) --------------------------------------------------------------------------


def smart_server(fhir_base: str) -> Any:
    from fhirclient import client as fhirclient_client

    return fhirclient_client.FHIRClient(settings={"app_id": "ipg-test", "api_base": fhir_base + "/"}).server


def test_fhirclient_validate_code(fhir_base: str) -> None:
    from fhirclient.models.parameters import Parameters as ClientParameters

    server = smart_server(fhir_base)
    response = server.post_json("ValueSet/$validate-code", validate_params(PROCEDURES, OPCS4, "J12.3"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/fhir+json")
    parsed = ClientParameters(response.json())
    assert [(p.name, p.valueBoolean) for p in parsed.parameter][0] == ("result", True)
    assert result_of(response.json())["display"] == J12_3
    query = requests.compat.urlencode({"url": PROCEDURES, "system": OPCS4, "code": "J12.4"})
    outside = server.request_json(f"ValueSet/$validate-code?{query}")
    assert result_of(outside)["result"] is False and "J12.4" in result_of(outside)["message"]


def test_fhirclient_expand(fhir_base: str) -> None:
    from fhirclient.models.valueset import ValueSet as ClientValueSet

    server = smart_server(fhir_base)
    expanded = ClientValueSet.read_from(f"ValueSet/$expand?{requests.compat.urlencode({'url': DIAGNOSES})}", server)
    assert {c.code for c in expanded.expansion.contains} == DIAGNOSES_CODES
    check_diagnoses_expansion(expanded.as_json())
    check_procedures_expansion(server.request_json("ValueSet/ipg672-procedures/$expand"))


def test_fhirclient_unknown_value_set(fhir_base: str) -> None:
    from fhirclient.server import FHIRNotFoundException

    server = smart_server(fhir_base)
    with pytest.raises(FHIRNotFoundException) as raised:
        server.request_json(f"ValueSet/$expand?{requests.compat.urlencode({'url': VS_BASE + 'not-served-here'})}")
    assert raised.value.response.status_code == 404
    assert "not-served-here" in raised.value.response.json()["issue"][0]["details"]["text"]
