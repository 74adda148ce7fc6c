"""Runs the HL7 terminology ecosystem test cases against the app, in-process, as the HL7 runner does.

Each request is the test's Parameters, then every setup file of its suite as a `tx-resource`,
then the test's `profile` parameters (`parameters-default.json` when it names none), converted to
R4 as the runner's R4 client sends it (see `r4`). The actual response is read back as the client
reads it, scrubbed and sorted (see `scrub`) and compared by the rules of `compare`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ipg_validator.fhir import xml as xml_io
from ipg_validator.core.errors import FhirError
from .compare import Comparer
from .r4 import to_r4, to_r5
from .scrub import listed_extensions, normalise

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TESTS = REPO_ROOT.parent / "shared" / "tx-ecosystem" / "tests"
KNOWN_FAILURES = REPO_ROOT / "conformance" / "known-failures.json"
FHIR_VERSION = "4.0.1"  # the server's FHIR version: the runner's `$version$`
REQUIRED = ("metadata", "simple-cases", "validation", "case", "errors", "batch", "fragment", "inactive",
            "notSelectable", "exclude", "deprecated", "other", "search")
ENDPOINTS = {
    "expand": "ValueSet/$expand",
    "validate-code": "ValueSet/$validate-code",
    "cs-validate-code": "CodeSystem/$validate-code",
    "lookup": "CodeSystem/$lookup",
    "translate": "ConceptMap/$translate",
    "batch-validate": "ValueSet/$batch-validate-code",
}


def tests_dir() -> Path:
    """Where test-cases.json lives: $TX_ECOSYSTEM_TESTS, else ../shared/tx-ecosystem/tests."""
    return Path(os.environ.get("TX_ECOSYSTEM_TESTS") or DEFAULT_TESTS)


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8-sig"))


@dataclass(frozen=True)
class Case:
    suite: str
    name: str
    test: dict[str, Any]
    setup: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"{self.suite}/{self.name}"


@dataclass
class Outcome:
    case: Case
    passed: bool
    skipped: str | None = None
    detail: str | None = None


def cases(folder: Path, modes: frozenset[str] = frozenset()) -> Iterator[Case]:
    """The tests of every `general` suite and of `metadata`, in file order."""
    for suite in load_json(folder / "test-cases.json")["suites"]:
        if suite["name"] != "metadata" and suite.get("mode") != "general":
            continue
        for test in suite["tests"]:
            yield Case(suite["name"], test["name"], test, tuple(suite.get("setup", ())))


class Runner:
    """Sends each case to `client` (a Starlette TestClient or anything with .get/.post) under `base`."""

    def __init__(self, client: Any, folder: Path, base: str = "/fhir", modes: frozenset[str] = frozenset(), *, xml: bool = False) -> None:
        self.client, self.folder, self.base, self.modes = client, folder, base.rstrip("/"), modes
        self.xml = xml  # send requests and ask for answers as FHIR XML (the comparison is on their JSON form)
        self._written: dict[str, bytes] = {}
        self._cache: dict[str, Any] = {}
        self.extensions = listed_extensions(folder, self._load)

    def _load(self, name: str) -> Any:
        if name not in self._cache:
            self._cache[name] = load_json(self.folder / name)
        return self._cache[name]

    def run(self, case: Case) -> Outcome:
        test = case.test
        if test.get("disabled"):
            return Outcome(case, True, skipped="disabled in test-cases.json")
        if test.get("mode") and test["mode"] not in self.modes:
            return Outcome(case, True, skipped=f"only for servers in mode {test['mode']}")
        if self.xml and (why := self._xml_skip(case)):
            return Outcome(case, True, skipped=why)
        try:
            status, actual = self.send(case)
        except Exception as exc:  # noqa: BLE001 - a crash is a failure of that test, not of the run
            return Outcome(case, False, detail=f"request failed: {exc!r}")
        expected = self._load(self._response_file(test))
        wanted = test.get("http-code")
        if wanted and str(status)[0] != wanted[0]:
            return Outcome(case, False, detail=f"expected HTTP {wanted}, got {status}: {json.dumps(actual)[:600]}")
        pattern = test["operation"] in ("metadata", "term-caps")
        diff = Comparer(self.modes, pattern, {"version": FHIR_VERSION}).compare(expected, normalise(to_r5(actual), self.extensions))
        return Outcome(case, diff is None, detail=diff)

    def _response_file(self, test: dict[str, Any]) -> str:
        for mode in sorted(self.modes):
            if f"response:{mode}" in test:
                return test[f"response:{mode}"]
        return test["response"]

    def request(self, case: Case) -> tuple[str, dict[str, Any] | None, dict[str, str]]:
        """(path, Parameters body or None for GET, headers) exactly as the HL7 runner sends them (R4)."""
        test = case.test
        headers = {"Accept": "application/fhir+json", "Content-Type": "application/fhir+json"}
        if test.get("Accept-Language"):
            headers["Accept-Language"] = test["Accept-Language"]
        header = test.get("header")
        if isinstance(header, dict) and header.get("mode") in self.modes:
            # the HL7 runner sends a test's header only to a server in the header's mode
            headers[header["name"]] = str(header["value"])
        op = test["operation"]
        if op == "metadata":
            return "metadata", None, headers
        if op == "term-caps":
            return "metadata?mode=terminology", None, headers
        body = json.loads(json.dumps(self._load(test["request"])))
        params = body.setdefault("parameter", [])
        params += [{"name": "tx-resource", "resource": self._load(name)} for name in case.setup]
        profile = self._load(test.get("profile") or "parameters-default.json")
        params += json.loads(json.dumps(profile.get("parameter", [])))
        return ENDPOINTS[op], to_r4(body), headers

    def send(self, case: Case) -> tuple[int, Any]:
        path, body, headers = self.request(case)
        url = f"{self.base}/{path}"
        if self.xml:
            return self._send_xml(url, body, headers, case.id)
        if body is None:
            response = self.client.get(url, headers=headers)
        else:
            response = self.client.post(url, content=json.dumps(body), headers=headers)
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, {"non-json": response.text[:500]}

    def _send_xml(self, url: str, body: dict[str, Any] | None, headers: dict[str, str], case_id: str) -> tuple[int, Any]:
        """The request as FHIR XML, the answer asked for as FHIR XML and read back into its JSON form."""
        headers = {**headers, "Accept": xml_io.FHIR_XML, "Content-Type": xml_io.FHIR_XML}
        if body is None:
            response = self.client.get(url, headers=headers)
        else:
            written = self._written.get(case_id) or xml_io.dump_xml(xml_names_only(body))
            response = self.client.post(url, content=written, headers=headers)
        if not response.headers.get("content-type", "").startswith(xml_io.FHIR_XML):
            return response.status_code, {"non-xml": response.text[:500]}
        return response.status_code, xml_io.parse_xml(response.content, max_depth=None)

    def _xml_skip(self, case: Case) -> str | None:
        """Why the case's request cannot be sent as XML unchanged (XML has no form for it), else None."""
        _, body, _ = self.request(case)
        if body is None:
            return None
        body = xml_names_only(body)
        try:
            written = xml_io.dump_xml(body)
            same = xml_io.parse_xml(written, max_depth=None) == body
        except (ValueError, FhirError) as exc:
            return f"the request has no FHIR XML form: {exc}"
        self._written = {case.id: written}  # sent as checked
        return None if same else "the request has no FHIR XML form that reads back the same (a JSON-only mistake or name)"


_XML_NAME = re.compile(r"_?[A-Za-z][A-Za-z0-9_.-]*")


def xml_names_only(value: Any) -> Any:
    """`value` without the properties whose names cannot be XML element names (some suites' CodeSystems have
    `definition:en` and the like: no FHIR element, ignored by the server, and not expressible in XML)."""
    if isinstance(value, dict):
        return {k: xml_names_only(v) for k, v in value.items() if _XML_NAME.fullmatch(k)}
    if isinstance(value, list):
        return [xml_names_only(v) for v in value]
    return value


def known_failures(path: Path = KNOWN_FAILURES) -> dict[str, str]:
    """`suite/test` -> why it fails; the list may only shrink."""
    if not path.exists():
        return {}
    return {k: v for k, v in json.loads(path.read_text(encoding="utf-8")).items() if not k.startswith("_")}
