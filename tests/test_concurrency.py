"""Many threads validating different inputs against one app (and one index) give the same answers
as one at a time: no shared state leaks between requests (memos, regex cache, tx-resources)."""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pytest
from ipg_validator import validate_bundle
from ipg_validator.content.index import ContentIndex
from ipg_validator.server import create_app

from conftest import ROOT
from fuzz import FUZZ, client_for

OPCS4 = "http://fhir.hl7.org.uk/CodeSystem/OPCS-4"
ICD10 = "http://hl7.org/fhir/sid/icd-10-uk"
VS = "https://ipg-validator.org/fhir/ValueSet/"
FHIR = {"content-type": "application/fhir+json"}
THREADS = 16
ROUNDS = 8 if FUZZ else 2
CODES = ["J12.3", "X65.3", "Y36.4", "Y53.4", "Y89.1", "J12.4", "X65.2", "J123", "C78.7", "C18.7", "C19", "Z85.0", "A01.0", "nope"]


def generated(n: int) -> dict[str, Any]:
    """A Bundle of its own for each n: different codes, encounters and mistakes."""
    pick = [CODES[(n * 7 + k) % len(CODES)] for k in range(1 + n % 5)]
    entries: list[dict[str, Any]] = [{"fullUrl": "urn:uuid:pat", "resource": {"resourceType": "Patient"}}]
    for e in range(1 + n % 3):
        entries.append({"fullUrl": f"urn:uuid:enc-{e}", "resource": {"resourceType": "Encounter", "status": "finished",
                                                                   "class": {"code": "IMP"}, "subject": {"reference": "urn:uuid:pat"}}})
    for k, code in enumerate(pick):
        kind = "Condition" if code[0] in "CZA" else "Procedure"
        resource: dict[str, Any] = {"resourceType": kind, "subject": {"reference": "urn:uuid:pat"}, "encounter": {"reference": f"urn:uuid:enc-{k % (1 + n % 3)}"},
                                    "code": {"coding": [{"system": ICD10 if kind == "Condition" else OPCS4, "code": code}]}}
        if kind == "Procedure":
            resource["status"] = "completed"
        entries.append({"fullUrl": f"urn:uuid:r{k}", "resource": resource})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def inputs() -> list[dict[str, Any]]:
    examples = [orjson.loads(p.read_bytes()) for p in sorted((ROOT / "guidance" / "ipg672" / "examples").glob("*.json"))]
    return [b for b in examples if isinstance(b, dict) and b.get("resourceType") == "Bundle"] + [generated(n) for n in range(40)]


def test_validate_bundle_threads_agree_with_serial(index: ContentIndex) -> None:
    bundles = inputs()
    serial = [validate_bundle(copy.deepcopy(b), index) for b in bundles]
    work = [n for _ in range(ROUNDS) for n in range(len(bundles))]
    with ThreadPoolExecutor(THREADS) as pool:
        parallel = list(pool.map(lambda n: (n, validate_bundle(copy.deepcopy(bundles[n]), index)), work))
    for n, outcome in parallel:
        assert outcome == serial[n], n


def _requests() -> list[tuple[str, str, bytes | dict[str, str]]]:
    out: list[tuple[str, str, bytes | dict[str, str]]] = [("POST", "/fhir/Bundle/$validate", orjson.dumps(b)) for b in inputs()]
    for n, code in enumerate(CODES):
        vs = VS + ("ipg672-diagnoses" if code[0] in "CZA" else "ipg672-procedures")
        out.append(("GET", "/fhir/ValueSet/$validate-code", {"url": vs, "system": ICD10 if code[0] in "CZA" else OPCS4, "code": code}))
        out.append(("GET", "/fhir/CodeSystem/$lookup", {"system": ICD10 if code[0] in "CZA" else OPCS4, "code": code}))
        # a request-supplied value set with a regex of its own: must not leak into the others
        own = {"resourceType": "ValueSet", "url": f"http://example.org/vs{n}", "status": "active",
               "compose": {"include": [{"system": OPCS4, "filter": [{"property": "code", "op": "regex", "value": f"{code[:1]}.*"}]}]}}
        out.append(("POST", "/fhir/ValueSet/$validate-code", orjson.dumps({"resourceType": "Parameters", "parameter": [
            {"name": "url", "valueUri": f"http://example.org/vs{n}"}, {"name": "system", "valueUri": OPCS4}, {"name": "code", "valueCode": "X65.3"},
            {"name": "tx-resource", "resource": own}]})))
    out.append(("GET", "/fhir/ValueSet/$expand", {"url": VS + "ipg672-diagnoses"}))
    return out


def _stable(response: Any) -> tuple[int, Any]:
    body = orjson.loads(response.content)
    if isinstance(body.get("expansion"), dict):
        body["expansion"].pop("identifier", None), body["expansion"].pop("timestamp", None)
    return response.status_code, body


@pytest.mark.parametrize("threads", [THREADS])
def test_http_threads_agree_with_serial(index: ContentIndex, threads: int) -> None:
    requests = _requests()
    with client_for(create_app(index, warm_up=False)) as client:
        def call(n: int) -> tuple[int, tuple[int, Any]]:
            method, path, data = requests[n]
            if method == "GET":
                return n, _stable(client.get(path, params=data))
            return n, _stable(client.post(path, content=data, headers=FHIR))

        serial = [call(n)[1] for n in range(len(requests))]
        assert all(status < 500 for status, _ in serial)
        work = [n for _ in range(ROUNDS) for n in range(len(requests))]
        with ThreadPoolExecutor(threads) as pool:
            for n, answer in pool.map(call, work):
                assert answer == serial[n], requests[n][:2]
