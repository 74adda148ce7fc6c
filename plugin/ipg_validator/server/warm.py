"""The warm-up: each kind of work done once before the first client, from what the loaded packs name.

`warm` runs the engines (JSON, structure models, rules, membership, expansion) on the packs' examples
and on an encounter coded with the first code of each value set the packs ask for; `warm_routes` sends
each kind of request through the app itself. Nothing here names a guidance: a new pack is warmed too.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from starlette.types import ASGIApp, Message

from ..content.index import ContentIndex
from ..core.errors import FhirError
from ..core.jsonio import dump_json, parse_json
from ..core.limits import Limits
from ..fhir.parameters import Params
from ..fhir.terminology_ops import expand_op, validate_code_op
from ..fhir.validate_op import validate_operation
from ..terminology.engine import engine_for
from ..terminology.expand import expand
from ..web.examples import example_bundles
from .observability import WARM_UP_EXTENSION

Sample = tuple[str, str, str, str]  # (value set url, "procedures" or "diagnoses", system, code)


WARMED_KINDS = ("require-each", "require-any")  # the codes a pack asks for: a coded encounter, and small sets to expand


def samples(index: ContentIndex) -> list[Sample]:
    """The first code of each value set the loaded packs ask for (their scope first), with where it is recorded."""
    sources = engine_for(index).content_sources
    named: dict[tuple[str, str], None] = {}
    for rules in index.rule_sets:
        named[(rules.scope_value_set, rules.scope_target)] = None
        for rule in rules.guidance_rules:
            for url in rule.value_sets if rule.kind in WARMED_KINDS else ():
                named[(url, rule.target or rules.scope_target)] = None
    out: list[Sample] = []
    for url, target in named:
        vs = index.value_set(url)
        items = expand(sources, vs, count=1).items if vs is not None else []
        if items:
            out.append((url, target, items[0].system, items[0].code))
    return out


def warm(index: ContentIndex, limits: Limits = Limits()) -> float:
    """Run each kind of work once so the first request is as fast as later ones; returns the seconds it took."""
    started = time.perf_counter()
    found = samples(index)
    dump_json(validate_operation(index, parse_json(dump_json(_encounter(found)), max_depth=limits.max_json_depth), "Bundle"))
    for example in example_bundles(index):  # realistic Bundles: the R4B models import each data type on first use
        dump_json(validate_operation(index, parse_json(example.read_bytes()), "Bundle"))
    for url, target, system, code in found:
        kind = "Procedure" if target == "procedures" else "Condition"
        validate_operation(index, _coded(kind, system, code), kind)
        try:
            validate_code_op(index, Params([("url", url), ("system", system), ("code", code)]), resource_type="ValueSet", limits=limits)
            expand_op(index, Params([("url", url)]), limits=limits)
        except FhirError:  # the server's own limits (a small --max-expansion) refuse it: warming is best effort
            pass
    return time.perf_counter() - started


def _coded(kind: str, system: str, code: str, **more: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": kind, "subject": {"reference": "Patient/x"}, "code": {"coding": [{"system": system, "code": code}]}, **more}
    if kind == "Procedure":
        resource["status"] = "completed"
    return resource


def _encounter(found: list[Sample]) -> dict[str, Any]:
    """One encounter Bundle coded with every sample code: the procedures, then the diagnoses."""
    patient, encounter = "urn:uuid:00000000-0000-4000-8000-000000000001", "urn:uuid:00000000-0000-4000-8000-000000000002"
    entries: list[dict[str, Any]] = [
        {"fullUrl": patient, "resource": {"resourceType": "Patient"}},
        {"fullUrl": encounter, "resource": {"resourceType": "Encounter", "status": "finished", "subject": {"reference": patient},
                                            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "SS"}}},
    ]
    ordered = sorted(found, key=lambda s: s[1] != "procedures")
    for n, (_, target, system, code) in enumerate(ordered):
        kind = "Procedure" if target == "procedures" else "Condition"
        resource = _coded(kind, system, code, encounter={"reference": encounter})
        resource["subject"] = {"reference": patient}
        entries.append({"fullUrl": f"urn:uuid:00000000-0000-4000-8001-{n:012d}", "resource": resource})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def _route_requests(index: ContentIndex) -> list[tuple[str, str, dict[str, str], bytes]]:
    """(method, path, query, JSON body) of each kind of request clients send, over the packs' codes."""
    found = samples(index)
    requests: list[tuple[str, str, dict[str, str], bytes]] = [
        ("GET", "/healthz", {}, b""),
        ("GET", "/readyz", {}, b""),
        ("POST", "/fhir/Bundle/$validate", {}, dump_json(_encounter(found))),
        ("GET", "/fhir/metadata", {}, b""),
    ]
    for kind, target in (("Procedure", "procedures"), ("Condition", "diagnoses")):
        sample = next((s for s in found if s[1] == target), None)
        if sample is None:
            continue
        url, _, system, code = sample
        coding = {"system": system, "code": code}
        requests += [
            ("POST", f"/fhir/{kind}/$validate", {}, dump_json(_coded(kind, system, code))),
            ("GET", "/fhir/ValueSet/$validate-code", {"url": url, "system": system, "code": code}, b""),
            ("POST", "/fhir/ValueSet/$validate-code", {}, dump_json({"resourceType": "Parameters", "parameter": [
                {"name": "url", "valueUri": url}, {"name": "coding", "valueCoding": coding}]})),
            ("GET", "/fhir/CodeSystem/$validate-code", {"url": system, "code": code}, b""),
            ("GET", "/fhir/CodeSystem/$lookup", {"system": system, "code": code}, b""),
            ("GET", "/fhir/ValueSet/$expand", {"url": url}, b""),
        ]
    return requests


async def warm_routes(app: ASGIApp, index: ContentIndex, api_key: str | None = None) -> dict[str, int]:
    """Send each kind of request once through `app` (every middleware, the real routes) so that the
    framework's per-route set-up is done before the first client; marked as warm-up, so the access
    log and the metrics leave them out. Returns the status of each, by method and path."""
    statuses: dict[str, int] = {}
    headers = [(b"host", b"warm-up"), (b"content-type", b"application/fhir+json"), (b"accept", b"application/fhir+json")]
    if api_key:
        headers.append((b"authorization", b"Bearer " + api_key.encode()))
    for method, path, query, body in _route_requests(index):
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": urlencode(query).encode(), "root_path": "",
            "headers": headers, "client": ("127.0.0.1", 0), "server": ("127.0.0.1", 0), "extensions": {WARM_UP_EXTENSION: {}},
        }
        answer: list[Message] = []
        try:
            await app(scope, _Body(body), _collect(answer))
        except Exception:  # noqa: BLE001  (the app re-raises what it answered 500 to: warming is best effort)
            pass
        status = next((int(m["status"]) for m in answer if m["type"] == "http.response.start"), 500)
        key = f"{method} {path}"
        statuses[key] = max(status, statuses.get(key, 0))  # a path asked twice (a procedure, a diagnosis) keeps its worst answer
    return statuses


class _Body:
    """An ASGI `receive` that gives one request body, then says the client left."""

    def __init__(self, body: bytes) -> None:
        self.body: bytes | None = body

    async def __call__(self) -> Message:
        if self.body is None:
            return {"type": "http.disconnect"}
        body, self.body = self.body, None
        return {"type": "http.request", "body": body, "more_body": False}


def _collect(into: list[Message]) -> Any:
    async def send(message: Message) -> None:
        into.append(message)

    return send
