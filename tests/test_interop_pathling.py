"""Pathling, the real one, against `ipg-validator serve`: member_of and display over the examples.

The examples' Procedures and Conditions go into NDJSON, Pathling reads them in local Spark with our
server as its terminology server (through a recording loopback proxy, so every request it sent is
kept), and each coding's `member_of` of the IPG672 ValueSets and its `display` must equal our own
$validate-code `result` and $lookup `display`, asked of the same server directly. The requests are
checked against docs/clients.md. Needs Java 21+, the jars `make interop-build` copies to
interop/pathling/target and the `pathling` package: skipped without them, a failure under CI=true.
One SparkSession for the module.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from conftest import DIAGNOSES, ICD10_UK, OPCS4, PROCEDURES, ROOT, VS_BASE
from support.jvm import pyspark_sockets_left_open
from support.pathling import missing, spark_session
from support.recorder import Recorded, recording_proxy
from support.server import serving

VALUE_SETS = [PROCEDURES, DIAGNOSES, VS_BASE + "ipg672-sirt-procedure", VS_BASE + "ipg672-primary-present"]
NOT_SERVED = VS_BASE + "not-served-here"
RESOURCE_TYPES = ("Procedure", "Condition")

Key = tuple[str | None, str | None]


def _require_pathling() -> None:
    reason = missing()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"Pathling interop cannot run: {reason}; CI must run it (.ci/run runs make interop-build)")
    pytest.skip(f"Pathling interop skipped: {reason}")


def write_ndjson(folder: Path) -> dict[str, int]:
    """Every Procedure and Condition of examples/*.json, one NDJSON file per type; how many of each."""
    found: dict[str, list[dict[str, Any]]] = {t: [] for t in RESOURCE_TYPES}
    for path in sorted((ROOT / "guidance" / "ipg672" / "examples").glob("*.json")):
        if path.name.endswith(".expected.json"):
            continue
        for entry in json.loads(path.read_text()).get("entry", []):
            resource = entry.get("resource") or {}
            if resource.get("resourceType") in found:
                found[resource["resourceType"]].append(resource)
    for kind, resources in found.items():
        (folder / f"{kind}.ndjson").write_text("".join(json.dumps(r) + "\n" for r in resources))
    return {kind: len(resources) for kind, resources in found.items()}


@dataclass
class Run:
    """What Pathling answered, what it sent, and the server it asked."""

    url: str
    counts: dict[str, int]
    members: dict[tuple[Key, str], bool]
    displays: dict[Key, str | None]
    per_resource: dict[tuple[str, str, str], tuple[bool, list[Key]]]
    sent: list[Recorded]
    extra: dict[str, Any]
    extra_sent: list[Recorded]
    version: str


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    _require_pathling()
    from pathling import Coding, PathlingContext, display, member_of
    from pathling._version import __version__
    from pyspark.sql.functions import col, explode

    work = tmp_path_factory.mktemp("pathling")
    (work / "ndjson").mkdir()
    counts = write_ndjson(work / "ndjson")
    with serving() as url, recording_proxy(url) as (proxied, recording), spark_session(work) as spark:
        with pyspark_sockets_left_open():  # pyspark's, see support/jvm.py
            pc = PathlingContext.create(spark, terminology_server_url=proxied, enable_cache=False, terminology_retry_enabled=False)
            data = pc.read.ndjson(str(work / "ndjson"))
            codings = None
            for kind in RESOURCE_TYPES:
                frame = data.read(kind).select(explode(col("code.coding")).alias("coding"))
                codings = frame if codings is None else codings.unionByName(frame)
            columns = [member_of(col("coding"), vs).alias(f"m{i}") for i, vs in enumerate(VALUE_SETS)]
            rows = codings.distinct().select(col("coding.system"), col("coding.code"), *columns, display(col("coding")).alias("display")).collect()
            members = {((r.system, r.code), vs): r[f"m{i}"] for r in rows for i, vs in enumerate(VALUE_SETS)}
            displays = {(r.system, r.code): r.display for r in rows}
            per_resource: dict[tuple[str, str, str], tuple[bool, list[Key]]] = {}
            for kind in RESOURCE_TYPES:  # member_of of the whole Procedure.code / Condition.code (any of its codings)
                found = data.read(kind).select("id", col("code.coding").alias("codings"), member_of(col("code.coding"), PROCEDURES).alias("p"),
                                               member_of(col("code.coding"), DIAGNOSES).alias("d")).collect()
                for r in found:
                    keys = [(c.system, c.code) for c in r.codings or []]
                    per_resource[(kind, r.id, PROCEDURES)] = (r.p, keys)
                    per_resource[(kind, r.id, DIAGNOSES)] = (r.d, keys)
            sent = recording.take()
            versioned = Coding(OPCS4, "J12.3", version="4.11").to_literal()
            other_version = Coding(OPCS4, "J12.3", version="4.2").to_literal()
            c78 = Coding(ICD10_UK, "C78.7").to_literal()
            one = spark.range(1).select(
                member_of(versioned, PROCEDURES).alias("versioned"), member_of(other_version, PROCEDURES).alias("other_version"),
                member_of(c78, NOT_SERVED).alias("not_served"), display(c78, "en-GB").alias("display_en_gb"),
            ).collect()[0]
            extra_sent = recording.take()
        yield Run(url, counts, members, displays, per_resource, sent, one.asDict(), extra_sent, __version__)


def ours_validate(url: str, value_set: str, system: str | None, code: str | None, **extra: str) -> bool:
    """Our own $validate-code `result`, asked directly (a 400 for a coding without a system: not a member)."""
    params = {"url": value_set, "code": code, **({"system": system} if system else {}), **extra}
    response = requests.get(f"{url}/ValueSet/$validate-code", params=params, timeout=30)
    if system is None and response.status_code == 400:
        return False
    assert response.status_code == 200, response.text
    return next(p["valueBoolean"] for p in response.json()["parameter"] if p["name"] == "result")


def ours_display(url: str, system: str, code: str, headers: dict[str, str] | None = None) -> str | None:
    """Our own $lookup `display` (None when the code is not found: a 404)."""
    response = requests.get(f"{url}/CodeSystem/$lookup", params={"system": system, "code": code, "property": "display"}, headers=headers, timeout=30)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return next((p["valueString"] for p in response.json()["parameter"] if p["name"] == "display"), None)


def test_every_procedure_and_condition_read(run: Run) -> None:
    assert run.counts["Procedure"] > 50 and run.counts["Condition"] > 30
    assert len({k for k, _ in run.members}) == len(run.displays) >= 20


def test_member_of_equals_our_validate_code(run: Run) -> None:
    differ = {(key, vs): got for (key, vs), got in run.members.items() if got != ours_validate(run.url, vs, *key)}
    assert not differ
    assert run.members[((OPCS4, "J12.3"), PROCEDURES)] and run.members[((OPCS4, "J12.3"), VS_BASE + "ipg672-sirt-procedure")]
    assert not run.members[((OPCS4, "J12.4"), PROCEDURES)] and not run.members[((ICD10_UK, "C18"), DIAGNOSES)]


def test_display_equals_our_lookup(run: Run) -> None:
    complete = {key: got for key, got in run.displays.items() if all(key)}
    differ = {key: got for key, got in complete.items() if got != ours_display(run.url, *key)}
    assert not differ
    assert complete[(OPCS4, "J123")] == "Selective internal radiotherapy with microspheres to lesion of liver"  # NHS format, read
    assert complete[(ICD10_UK, "C34.1")] is None  # not in the fragment: our 404, Pathling's empty answer


def test_member_of_a_code_is_any_of_its_codings(run: Run) -> None:
    for (kind, rid, vs), (got, keys) in run.per_resource.items():
        assert got == any(run.members[(key, vs)] for key in keys), (kind, rid, vs)


def test_incomplete_coding_is_false_without_a_request(run: Run) -> None:
    incomplete = [key for key in run.displays if not all(key)]
    assert incomplete, "the examples hold a coding without a system (missing-system)"
    for key in incomplete:
        assert not any(run.members[(key, vs)] for vs in VALUE_SETS) and run.displays[key] is None
        assert all(r.params("code") != [key[1]] or r.params("system") for r in run.sent)
        assert ours_validate(run.url, PROCEDURES, *key) is False


def test_requests_are_the_documented_gets(run: Run) -> None:
    """docs/clients.md: GET ValueSet/$validate-code?url&system&code, GET CodeSystem/$lookup?system&code&property=display."""
    complete = [key for key in run.displays if all(key)]
    expected = {("/fhir/ValueSet/$validate-code", (("url", vs), ("system", s), ("code", c))) for s, c in complete for vs in VALUE_SETS}
    expected |= {("/fhir/CodeSystem/$lookup", (("system", s), ("code", c), ("property", "display"))) for s, c in complete}
    seen = {(r.path, r.query) for r in run.sent}
    assert seen == expected
    for request in run.sent:
        assert request.method == "GET" and not request.body
        assert request.headers["user-agent"].startswith(f"pathling/{run.version}")
        assert "application/fhir+json" in request.headers["accept"]
        assert "accept-language" not in request.headers
        again = requests.get(urlsplit(run.url)._replace(path=request.path, query=urlencode(request.query)).geturl(), timeout=10)
        assert request.status == again.status_code, request  # Pathling got what the server answers anyone
    unknown = [r for r in run.sent if r.path.endswith("$lookup") and r.params("code") == ["C34.1"]]
    assert unknown and {r.status for r in unknown} == {404}  # a code the fragment lacks: not found
    assert {r.status for r in run.sent} == {200, 404}


def test_versioned_coding_sends_system_version(run: Run) -> None:
    validate = [r for r in run.extra_sent if r.path.endswith("ValueSet/$validate-code") and r.params("systemVersion")]
    assert sorted(r.params("systemVersion")[0] for r in validate) == ["4.11", "4.2"]
    assert all(r.query[-1][0] == "systemVersion" for r in validate)  # after url, system, code
    assert run.extra["versioned"] is ours_validate(run.url, PROCEDURES, OPCS4, "J12.3", systemVersion="4.11") is True
    assert run.extra["other_version"] is ours_validate(run.url, PROCEDURES, OPCS4, "J12.3", systemVersion="4.2") is False


def test_display_language_is_the_accept_language_header(run: Run) -> None:
    lookup = [r for r in run.extra_sent if r.path.endswith("CodeSystem/$lookup")]
    assert [r.headers.get("accept-language") for r in lookup] == ["en-GB"]
    assert run.extra["display_en_gb"] == ours_display(run.url, ICD10_UK, "C78.7", {"Accept-Language": "en-GB"})


def test_unknown_value_set_is_a_silent_false(run: Run) -> None:
    """Our 404 for a ValueSet we do not serve is, to Pathling, an invalid request: member_of is false, no error."""
    asked = [r for r in run.extra_sent if r.params("url") == [NOT_SERVED]]
    assert [r.status for r in asked] == [404]
    assert run.extra["not_served"] is False
