"""HAPI FHIR's own validator (interop/hapi-client, HAPI 8.8.1) with `ipg-validator serve` as its remote terminology service.

One JVM validates every example Bundle (the Bundle, then each Procedure and Condition against its IPG672
profile, whose required binding makes HAPI ask the server); its JSON report holds HAPI's messages and every
request HAPI sent, which the server's access log must show too. Per example, HAPI's terminology verdict must
be the one `.expected.json` gives (in or out of the bound value set, an invalid or unknown code, a wrong
display), and the requests must be the ones docs/clients.md lists. Needs Java and the module built by
`make interop-build` (Maven): skipped with the reason without them, failed under CI=true.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from conftest import ICD10_UK, OPCS4, ROOT
from support import hapi as replay
from support.needs import missing
from support.server import logged_requests, script, serving
from support.verdicts import BOUND, coded_entries, doc_table, documented_table, expected_kind, our_membership
from test_compose_config import HAPI_CONFIG, leaves, parse_yaml_subset

MODULE = ROOT / "interop" / "hapi-client"
JAR = MODULE / "target" / "hapi-client-0.1.0.jar"
LIB = MODULE / "target" / "lib"
EXAMPLES = ROOT / "guidance" / "ipg672" / "examples"
CLIENTS_DOC = ROOT / "docs" / "clients.md"
HAPI_VERSION = "8.8.1"
NOT_IN_VALUE_SET = "Terminology_TX_NoValid_1_CC"
PASS_THROUGH = "Terminology_PassThrough_TX_Message"
RUN_TIMEOUT = 600
# One short run: C1-compiled code is ready sooner and costs a third of the CPU of the default tiers.
JVM_FLAGS = ["-XX:TieredStopAtLevel=1"]


HINT = "CI must run HAPI (.ci/run installs Java and Maven and runs make interop-build)"


def java() -> str:
    """The java command, and the client built by `make interop-build` (which needs Maven)."""
    found = shutil.which("java")
    if found is None:
        missing("java is not installed (HAPI FHIR runs on Java 17)", HINT)
    if not JAR.exists() or not LIB.is_dir():
        why = "mvn is not installed" if shutil.which("mvn") is None else "run `make interop-build`"
        missing(f"the HAPI client is not built ({JAR.relative_to(ROOT)} missing): {why}", HINT)
    return str(found)


def remote_systems() -> list[str]:
    """The systems of hapi.fhir.remote_terminology_service in deploy/hapi/application.yaml, as documented."""
    config = leaves(parse_yaml_subset(HAPI_CONFIG.read_text(encoding="utf-8")))
    return [v for k, v in config.items() if k.startswith("hapi.fhir.remote_terminology_service.") and k.endswith(".system")]


@dataclass(frozen=True)
class Run:
    report: dict[str, Any]
    access: list[dict[str, Any]]  # the server's request log lines written while HAPI ran
    base: str


@pytest.fixture(scope="module")
def hapi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    exe = java()
    tmp = tmp_path_factory.mktemp("hapi")
    made = subprocess.run([script(), "package", "--out", str(tmp / "pkg")], capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    package = next((tmp / "pkg").glob("*.tgz"))
    log = tmp / "access.log"
    with serving(access_log=log) as base:
        systems = [a for s in remote_systems() for a in ("--remote-system", s)]
        run = subprocess.run(
            [exe, *JVM_FLAGS, "-cp", f"{JAR}{os.pathsep}{LIB}{os.sep}*", "org.ipgvalidator.interop.hapi.Main",
             "--server", base, "--package", str(package), *systems, "--out", str(tmp / "hapi.json"), str(EXAMPLES)],
            capture_output=True, text=True, timeout=RUN_TIMEOUT,
        )
        assert run.returncode == 0, run.stderr[-4000:]
        access = logged_requests(log)
        yield Run(json.loads((tmp / "hapi.json").read_text(encoding="utf-8")), access, base)


# --- what HAPI said about each coded entry -----------------------------------------------------------------

def hapi_messages(result: dict[str, Any], entry: int) -> list[dict[str, Any]]:
    """HAPI's terminology messages on the entry's code, from its profile pass."""
    where = f"Bundle.entry[{entry}].resource.code"
    return [m for m in result["messages"]
            if m["pass"] != "bundle" and (m["location"] or "").startswith(where) and str(m["message_id"]).startswith("Terminology_")]


def verdicts(run: Run) -> list[dict[str, Any]]:
    """One row per coded entry of every example: what we expect, what HAPI said, and whether they agree."""
    rows = []
    for path in sorted(EXAMPLES.glob("*.json")):
        if path.name.endswith(".expected.json"):
            continue
        bundle = json.loads(path.read_text(encoding="utf-8"))
        expected = json.loads(path.with_name(path.stem + ".expected.json").read_text(encoding="utf-8"))
        result = run.report["files"][str(EXAMPLES / path.name)]
        for entry, kind, codings in coded_entries(bundle):
            ours = expected_kind(expected, entry)
            member = our_membership(run.base, BOUND[kind], codings)
            said = hapi_messages(result, entry)
            errors = [m for m in said if m["severity"] in ("error", "fatal")]
            warnings = [m for m in said if m["severity"] == "warning"]
            not_in = any(m["message_id"] == NOT_IN_VALUE_SET for m in errors)
            if ours == "invalid":
                agree = bool(errors)
            elif ours == "unknown":
                agree = not_in and any("cannot be confirmed" in m["text"] for m in warnings)
            elif ours == "outside":
                agree = not_in and not member
            elif ours == "beside":  # SNOMED CT beside an IPG672 code: HAPI wants every coding of a required binding valid
                unheld = [c["system"] for c in codings if c.get("system") not in (OPCS4, ICD10_UK)]
                agree = member and not_in and any(m["message_id"] == PASS_THROUGH and all(u in m["text"] for u in unheld) for m in errors)
            else:  # a member (display, alias, format: warnings of ours that HAPI drops, see below) or no finding
                agree = not_in != member and (not member or not errors)
            rows.append({"example": path.stem, "entry": entry, "codes": [c.get("code") for c in codings], "ours": ours or ("in" if member else "out"),
                         "member": member, "hapi": "; ".join(f"{m['severity']} {m['message_id']}: {m['text']}" for m in said) or "valid",
                         "said": said, "agree": agree})
    return rows


def test_hapi_terminology_verdicts_match_the_examples(hapi: Run) -> None:
    rows = verdicts(hapi)
    assert {r["example"] for r in rows} == {p.stem for p in EXAMPLES.glob("*.json") if not p.name.endswith(".expected.json")}
    kinds = Counter(r["ours"] for r in rows)
    assert {"invalid", "unknown", "display", "outside", "alias", "format", "beside", "in"} <= set(kinds), kinds  # every kind is exercised
    disagree = [{k: v for k, v in r.items() if k != "said"} for r in rows if not r["agree"]]
    assert not disagree, json.dumps(disagree, indent=1)


def hapi_label(message: dict[str, Any]) -> str:
    name = {NOT_IN_VALUE_SET: "not in the value set", PASS_THROUGH: "the server's message"}.get(message["message_id"], message["message_id"])
    return f"{message['severity']}: {name}"


def test_docs_table_is_this_run(hapi: Run) -> None:
    """docs/clients.md's per-example table is what this run gave (on a mismatch the message is the new table)."""
    made = doc_table(verdicts(hapi), hapi_label)
    assert documented_table(CLIENTS_DOC.read_text(encoding="utf-8"), "hapi") == made, "\n" + "\n".join(made)


def test_warnings_of_a_valid_answer_are_sent_and_dropped_by_hapi(hapi: Run) -> None:
    """A wrong display, an alias system, an NHS format: our answer is result=true with a warning in `message`
    and `issues`; HAPI 8.8.1 reads neither when result is true, so it reports the coding as plainly valid."""
    checked = Counter()
    for request in hapi.report["requests"]:
        body = json.loads(request.get("body") or "{}")
        params = {p["name"]: next(v for k, v in p.items() if k.startswith("value")) for p in body.get("parameter", [])}
        cases = {"display": params.get("code") == "X65.3" and "intracavitary" in params.get("display", ""),
                 "alias": params.get("system") == "https://fhir.nhs.uk/Id/opcs-4",
                 "format": params.get("code") == "J123"}
        for case, hit in cases.items():
            if not hit:
                continue
            answer = httpx.post(request["url"], content=request["body"], headers={"Content-Type": replay.CONTENT_TYPE}, timeout=10).json()
            out = {p["name"]: p for p in answer["parameter"]}
            assert out["result"]["valueBoolean"] is True, answer
            issues = out["issues"]["resource"]["issue"]
            assert [i["severity"] for i in issues] == ["warning"] and out["message"]["valueString"], answer
            checked[case] += 1
    assert set(checked) == {"display", "alias", "format"}, checked
    wrong_display = hapi.report["files"][str(EXAMPLES / "wrong-display.json")]["messages"]
    assert not [m for m in wrong_display if str(m["message_id"]).startswith("Terminology_") or "isplay" in str(m["message_id"])]


# --- the requests HAPI sent ------------------------------------------------------------------------------

DOC_ROW = re.compile(r"^\| `(GET|POST) ([^`]+)` \| ([^|]+) \|")


def documented_requests() -> list[tuple[str, str, list[tuple[str, bool]]]]:
    """The table between the hapi-requests markers of docs/clients.md: method, path, parameters (name, optional)."""
    text = CLIENTS_DOC.read_text(encoding="utf-8")
    block = text.split("<!-- hapi-requests -->")[1]
    rows = []
    for line in block.splitlines():
        found = DOC_ROW.match(line)
        if found:
            params = [(n.strip("[]` "), n.strip().startswith("[")) for n in found.group(3).split(",") if n.strip() not in ("", "-")]
            rows.append((found.group(1), found.group(2), params))
    return rows


def _names(request: dict[str, Any], base: str) -> tuple[str, str, list[str]]:
    url = urlsplit(request["url"])
    path = url.path[len(urlsplit(base).path) + 1:]
    if request["method"] == "GET":
        names = [f"{k}={v}" if k == "_summary" else k for k, v in parse_qsl(url.query)]
    else:
        names = [p["name"] for p in json.loads(request["body"])["parameter"]]
    return request["method"], path, names


def _fits(names: list[str], params: list[tuple[str, bool]]) -> bool:
    """The names are the documented parameters in order, optional ones left out or not."""
    i = 0
    for name, optional in params:
        if i < len(names) and names[i] == name:
            i += 1
        elif not optional:
            return False
    return i == len(names)


def test_hapi_sent_the_documented_requests(hapi: Run) -> None:
    assert hapi.report["hapi_version"] == HAPI_VERSION
    documented = documented_requests()
    assert documented, "docs/clients.md has no table between <!-- hapi-requests --> markers"
    used = set()
    for request in hapi.report["requests"]:
        method, path, names = _names(request, hapi.base)
        match = [i for i, (m, p, params) in enumerate(documented) if m == method and p == path and _fits(names, params)]
        assert match, f"undocumented request {method} {path} {names}"
        used.update(match)
        assert request["status"] == 200, request
        headers = request["headers"]
        assert headers["User-Agent"] == replay.HAPI_USER_AGENT
        assert headers["Accept-Encoding"] == "gzip"
        assert headers["Accept"] == (replay.ACCEPT_XML_OR_JSON if method == "GET" else replay.ACCEPT_JSON)
        if method == "POST":
            assert headers["Content-Type"] == replay.CONTENT_TYPE
    assert used == set(range(len(documented))), [documented[i] for i in set(range(len(documented))) - used]
    text = CLIENTS_DOC.read_text(encoding="utf-8")
    assert f"HAPI FHIR {HAPI_VERSION}" in text and hapi.report["core_validator_jar"].removesuffix(".jar").rsplit("-", 1)[1] in text


def test_the_server_logged_every_request_hapi_sent(hapi: Run) -> None:
    sent = Counter((r["method"], urlsplit(r["url"]).path) for r in hapi.report["requests"])
    logged = Counter((line["method"], line["path"]) for line in hapi.access)
    metadata = ("GET", urlsplit(hapi.base).path + "/metadata")
    assert logged[metadata] >= sent[metadata]  # the start-up's readiness checks ask /metadata too
    sent.pop(metadata, None)
    logged.pop(metadata, None)
    assert logged == sent
    assert all(line["status"] == 200 for line in hapi.access)
