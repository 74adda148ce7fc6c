"""The HTTP requests of HAPI FHIR's generic client (hapi-fhir-client), as it puts them on the wire.

HAPI's RemoteTerminologyServiceValidationSupport and Pathling's terminology client both talk to a
terminology server through this client, so they send the same headers:
- `User-Agent: HAPI-FHIR/<version> (FHIR Client; FHIR 4.0.1/R4; apache)` (Pathling replaces it with `pathling/<version>`),
- `Accept-Encoding: gzip` (no `Accept-Charset`: HAPI 8.8.1 sends none, tests/test_interop_hapi.py),
- `Accept`: FHIR XML or JSON for a GET (no encoding chosen), FHIR JSON for a POST (a body is encoded as JSON by default),
- a POST body is a Parameters resource as `application/fhir+json; charset=UTF-8`;
  with `useHttpGet()` each primitive parameter becomes `name=value` in the query string, in order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.parameters import Parameters

HAPI_USER_AGENT = "HAPI-FHIR/8.8.1 (FHIR Client; FHIR 4.0.1/R4; apache)"  # as the real client sent it (test_interop_hapi.py)
ACCEPT_XML_OR_JSON = "application/fhir+xml;q=1.0, application/fhir+json;q=1.0, application/xml+fhir;q=0.9, application/json+fhir;q=0.9"
ACCEPT_JSON = "application/fhir+json;q=1.0, application/json+fhir;q=0.9"
CONTENT_TYPE = "application/fhir+json; charset=UTF-8"

Param = tuple[str, str, Any]  # (name, value[x] key such as "valueUri", value)


class GenericClient:
    """One HAPI generic client bound to a server base URL."""

    def __init__(self, base: str, user_agent: str = HAPI_USER_AGENT, extra_headers: Mapping[str, str] | None = None) -> None:
        self.base = base.rstrip("/")
        self.user_agent = user_agent
        self.extra_headers = dict(extra_headers or {})

    def _headers(self, accept: str) -> dict[str, str]:
        return {"User-Agent": self.user_agent, "Accept-Encoding": "gzip", "Accept": accept, **self.extra_headers}

    def search(self, kind: str, url: str, summary: str | None = None) -> httpx.Response:
        """`client.search().forResource(kind).where(URL.matches().value(url))[.summaryMode(..)].returnBundle(..)`."""
        query = [("url", url)] + ([("_summary", summary)] if summary else [])
        return httpx.get(f"{self.base}/{kind}?{urlencode(query)}", headers=self._headers(ACCEPT_XML_OR_JSON))

    def operation_get(self, kind: str, name: str, params: Sequence[Param]) -> httpx.Response:
        """`client.operation().onType(kind).named(name).withParameters(p).useHttpGet().execute()`."""
        query = urlencode([(n, _as_string(v)) for n, _, v in params])
        return httpx.get(f"{self.base}/{kind}/{_dollar(name)}?{query}", headers=self._headers(ACCEPT_XML_OR_JSON))

    def operation_post(self, kind: str, name: str, params: Sequence[Param]) -> httpx.Response:
        """`client.operation().onType(kind).named(name).withParameters(p).execute()` (a POST)."""
        body = orjson.dumps({"resourceType": "Parameters", "parameter": [{"name": n, key: v} for n, key, v in params]})
        headers = {**self._headers(ACCEPT_JSON), "Content-Type": CONTENT_TYPE}
        return httpx.post(f"{self.base}/{kind}/{_dollar(name)}", content=body, headers=headers)


def _dollar(name: str) -> str:
    """HAPI accepts operation names with or without the leading `$` and always sends it."""
    return name if name.startswith("$") else f"${name}"


def _as_string(value: Any) -> str:
    """A primitive as HAPI writes it into a query string (booleans in lower case)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def fhir_json(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    """The response body after checking the status and that it came back as FHIR JSON (what HAPI parses)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json"), response.headers["content-type"]
    return response.json()


def bundle_resources(response: httpx.Response) -> list[dict[str, Any]]:
    """`BundleUtil.toListOfResources` over a search answer, after parsing it as an R4B Bundle."""
    body = fhir_json(response)
    Bundle.model_validate(body)
    assert body["type"] == "searchset"
    return [entry["resource"] for entry in body.get("entry", [])]


def parameters(response: httpx.Response) -> dict[str, Any]:
    """An operation answer, parsed as an R4B Parameters resource."""
    body = fhir_json(response)
    Parameters.model_validate(body)
    return body


def values(params: Mapping[str, Any], name: str) -> list[str]:
    """`ParametersUtil.getNamedParameterValuesAsString`: the primitive values of every parameter of this name, as text."""
    out = []
    for param in params.get("parameter", []):
        if param["name"] == name:
            value = next((v for k, v in param.items() if k.startswith("value")), None)
            if value is not None:
                out.append(_as_string(value))
    return out


def outcome(response: httpx.Response, status: int) -> dict[str, Any]:
    """An error answer: the status HAPI turns into an exception, and an R4B OperationOutcome body."""
    body = fhir_json(response, status)
    OperationOutcome.model_validate(body)
    return body
