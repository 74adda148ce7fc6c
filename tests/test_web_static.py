"""The web page without a browser: the routes, the static files, the page's JSON API and the checklist."""

from __future__ import annotations

import json
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import orjson
import pytest

from conftest import BUNDLE_RULES_FILE, ROOT, RULES_FILE
from ipg_validator.bundle.validate import validate_bundle
from ipg_validator.content.index import ContentIndex
from ipg_validator.core.limits import Limits
from ipg_validator.server import create_app
from ipg_validator.server.web import check_api_key, static_files
from ipg_validator.core.errors import FhirError
from ipg_validator.web import STATIC
from ipg_validator.web.checklist import bundle_checklists, value_set_label
from ipg_validator.web.examples import example_list, example_path

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

EXAMPLES = ROOT / "guidance" / "ipg672" / "examples"
EXAMPLE_NAMES = sorted(p.name[: -len(".json")] for p in EXAMPLES.glob("*.json") if not p.name.endswith(".expected.json"))
VS = "https://ipg-validator.org/fhir/ValueSet/"
FHIR_JSON = "application/fhir+json"


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def lines(encounter: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {line["label"]: line for line in encounter["items"]}


# ---------- pages and static files ----------


@pytest.mark.parametrize("path", ["/", "/reference"])
def test_pages_are_served_with_a_strict_content_policy(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "object-src 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    html = response.text
    assert '<html lang="en-GB">' in html and '<meta name="viewport"' in html
    for ref in re.findall(r'(?:src|href)="(/web/static/[^"]+)"', html):
        assert client.get(ref).status_code == 200, ref


@pytest.mark.parametrize("name", sorted(p.name for p in STATIC.iterdir() if p.suffix == ".html"))
def test_html_has_no_inline_script_style_or_handlers(name: str) -> None:
    html = (STATIC / name).read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script: the content policy forbids it"
    assert not re.search(r"\sstyle=", html), "style attribute: the content policy forbids it"
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"
    for control in re.findall(r'<(?:input|select|textarea)\b[^>]*\bid="([^"]+)"', html):
        assert f'for="{control}"' in html, f"#{control} has no label"


def test_static_files_need_nothing_from_elsewhere() -> None:
    files = static_files()
    assert {"index.html", "reference.html", "style.css", "common.js", "validate.js", "results.js", "viewer.js", "reference.js"} <= set(files)
    for path in files.values():
        text = path.read_text(encoding="utf-8")
        assert "://" not in text, f"{path.name} names another origin (no CDN, no external request)"
        assert "@import" not in text and "innerHTML" not in text, path.name


@pytest.mark.parametrize("name", sorted(p.name for p in STATIC.iterdir() if p.suffix == ".js"))
def test_scripts_hard_code_no_code_or_title(name: str) -> None:
    """Codes and their titles come from the server (rules, value sets), never from the page."""
    text = (STATIC / name).read_text(encoding="utf-8")
    assert not re.findall(r"\b[A-Z][0-9]{2}(?:\.[0-9X])?\b", text)
    assert "radiotherapy" not in text.lower() and "neoplasm" not in text.lower()


def test_static_files_are_served_and_nothing_else(client: TestClient) -> None:
    types = {".css": "text/css", ".js": "text/javascript", ".html": "text/html"}
    for name, path in static_files().items():
        response = client.get(f"/web/static/{name}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(types[path.suffix])
        assert response.content == path.read_bytes()
    for bad in ["nope.js", "..%2F__init__.py", "%2E%2E%2Fchecklist.py", "../checklist.py"]:
        response = client.get(f"/web/static/{bad}")
        assert response.status_code == 404, bad


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i: i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_colours_meet_wcag_aa() -> None:
    css = (STATIC / "style.css").read_text(encoding="utf-8")
    colour = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6});", css))
    text_pairs = [
        ("text", "bg"), ("text", "panel"), ("muted", "bg"), ("muted", "panel"), ("link", "bg"), ("link", "panel"),
        ("on-brand", "brand"), ("on-brand", "brand-dark"), ("brand", "bg"), ("brand", "info-bg"), ("mark-fg", "mark-bg"),
        ("text", "code-bg"), ("muted", "code-bg"),
    ] + [(f"{k}-fg", f"{k}-bg") for k in ("error", "warning", "info", "ok", "wrong", "optional")]
    for fg, bg in text_pairs:
        assert contrast(colour[fg], colour[bg]) >= 4.5, f"--{fg} on --{bg}: {contrast(colour[fg], colour[bg]):.2f}"
    for line, bg in [("focus", "bg"), ("focus", "panel"), ("error-line", "bg"), ("border", "bg")]:
        # focus ring and the marks that are not text: 3:1 (WCAG 1.4.11); the border is decorative but kept visible
        assert contrast(colour[line], colour[bg]) >= (3 if line != "border" else 2), f"--{line} on --{bg}"


# ---------- the page's JSON API ----------


def test_settings(client: TestClient) -> None:
    body = client.get("/web/api/settings").json()
    assert body["fhirBase"] == "/fhir"
    assert body["maxBodyBytes"] == Limits().max_body_bytes
    assert body["apiKeyRequired"] is False


def test_examples_are_listed_with_their_expected_outcome(client: TestClient) -> None:
    listed = client.get("/web/api/examples").json()["examples"]
    assert [x["name"] for x in listed] == EXAMPLE_NAMES
    for item in listed:
        expected = json.loads((EXAMPLES / f"{item['name']}.expected.json").read_text(encoding="utf-8"))
        assert item["description"] == expected["description"]
        assert item["conforms"] is expected["conforms"] and item["pack"] == "ipg672"
    assert example_list([("ipg672", EXAMPLES)]) == listed


def test_an_example_is_served_as_it_is(client: TestClient) -> None:
    response = client.get("/web/api/examples/missing-x65-3")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(FHIR_JSON)
    assert response.content == (EXAMPLES / "missing-x65-3.json").read_bytes()


@pytest.mark.parametrize("name", ["nope", "missing-x65-3.expected", "..%2Fpyproject", "%2E%2E", "Missing-X65-3"])
def test_only_listed_examples_are_served(client: TestClient, name: str) -> None:
    response = client.get(f"/web/api/examples/{name}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(FHIR_JSON)
    assert example_path(name.replace("%2F", "/"), [("ipg672", EXAMPLES)]) is None


def test_rules_are_the_rules_file(client: TestClient) -> None:
    body = client.get("/web/api/rules").json()
    assert body["ruleSets"] == [json.loads(path.read_text(encoding="utf-8")) for path in (BUNDLE_RULES_FILE, RULES_FILE)]


# ---------- the checklist ----------


def test_value_set_labels_follow_the_compose(index: ContentIndex) -> None:
    assert value_set_label(index, index.value_set(VS + "ipg672-primary")) == "C18.x, C19, C20 or Z85.0"
    assert value_set_label(index, index.value_set(VS + "ipg672-brachytherapy")) == "Y89.x"
    assert value_set_label(index, index.value_set(VS + "ipg672-companion-procedures")) == "X65.3, Y36.4 or Y53.4"


def test_checklist_of_a_missing_companion(client: TestClient) -> None:
    response = client.post("/web/api/checklist", content=(EXAMPLES / "missing-x65-3.json").read_bytes(), headers={"Content-Type": FHIR_JSON})
    assert response.status_code == 200
    [encounter] = response.json()["encounters"]
    assert encounter["applies"] is True
    assert encounter["expression"] == "Bundle.entry[1].resource"
    assert encounter["summaryRule"] == "ipg672-summary"
    assert [c["code"] for c in encounter["procedures"]] == ["J12.3", "Y36.4", "Y53.4"]
    assert [c["code"] for c in encounter["diagnoses"]] == ["C78.7", "C18.7"]
    found = lines(encounter)
    assert list(found) == ["J12.3", "X65.3", "Y36.4", "Y53.4", "Y89.x", "C78.7", "C18.x, C19, C20 or Z85.0"]
    assert {k: v["status"] for k, v in found.items()} == {
        "J12.3": "present", "X65.3": "missing", "Y36.4": "present", "Y53.4": "present",
        "Y89.x": "missing", "C78.7": "present", "C18.x, C19, C20 or Z85.0": "present",
    }
    assert found["X65.3"]["title"] == "Delivery of a fraction of interstitial radiotherapy"
    assert found["X65.3"]["rule"] == "ipg672-companion-required" and not found["X65.3"]["optional"]
    assert found["Y89.x"]["optional"] and found["Y89.x"]["title"] == "IPG672 brachytherapy (OPCS-4)"
    assert found["C18.x, C19, C20 or Z85.0"]["found"][0] == {
        "code": "C18.7", "display": "Malignant neoplasm: Sigmoid colon", "system": "http://hl7.org/fhir/sid/icd-10-uk",
        "systemName": "ICD-10", "expression": "Bundle.entry[6].resource.code.coding[0]", "resource": "Bundle.entry[6].resource",
        "position": 2, "usable": True,
    }


def test_checklist_marks_categories_and_codes_without_a_system_wrong(index: ContentIndex) -> None:
    [categories] = bundle_checklists(index, example("category-codes"))
    assert lines(categories)["Y89.x"]["status"] == "wrong"
    assert [c["code"] for c in lines(categories)["Y89.x"]["wrong"]] == ["Y89"]
    assert lines(categories)["C18.x, C19, C20 or Z85.0"]["status"] == "wrong"
    [no_system] = bundle_checklists(index, example("missing-system"))
    primary = lines(no_system)["C18.x, C19, C20 or Z85.0"]
    assert primary["status"] == "wrong" and primary["wrong"][0]["usable"] is False


def test_checklist_of_an_encounter_out_of_scope(index: ContentIndex) -> None:
    sirt, other = bundle_checklists(index, example("two-encounters"))
    assert sirt["applies"] is True and other["applies"] is False
    assert [c["code"] for c in other["procedures"]] == ["J12.4"]


def test_checklist_of_a_parameters_body_and_of_no_bundle(index: ContentIndex) -> None:
    bundle = example("missing-x65-3")
    wrapped = {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": bundle}]}
    assert bundle_checklists(index, wrapped) == bundle_checklists(index, bundle)
    for body in [{"resourceType": "Patient"}, [], None, "x", {"resourceType": "Parameters"}]:
        assert bundle_checklists(index, body) == []


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_checklist_agrees_with_the_rules_engine(index: ContentIndex, name: str) -> None:
    """A line is not present exactly when the engine reports its rule; the code strings are the summary's."""
    data = (EXAMPLES / f"{name}.json").read_bytes()
    outcome = validate_bundle(data, index)
    encounters = bundle_checklists(index, orjson.loads(data))
    rule_of = lambda issue: issue["details"]["coding"][0]["code"]  # noqa: E731
    for encounter in encounters:
        summary = next(i for i in outcome["issue"] if rule_of(i) == encounter["summaryRule"] and i["expression"] == [encounter["expression"]])
        procedures = " ".join(c["code"] for c in encounter["procedures"]) or "(none)"
        diagnoses = " ".join(c["code"] for c in encounter["diagnoses"]) or "(none)"
        assert f"procedures {procedures}; diagnoses {diagnoses};" in summary["details"]["text"]
    applying = [e for e in encounters if e["applies"]]
    for rule in {line["rule"] for e in encounters for line in e["items"]}:
        reported = sum(1 for i in outcome["issue"] if rule_of(i) == rule)
        not_present = sum(1 for e in applying for line in e["items"] if line["rule"] == rule and line["status"] != "present")
        if rule == "ipg672-sirt-required":
            continue  # reported only when the profile forces the rules; J12.3 brings an encounter into scope
        assert reported == not_present, (name, rule)


def test_checklist_input_errors_are_operation_outcomes(index: ContentIndex) -> None:
    with TestClient(create_app(index, limits=Limits(max_body_bytes=300)), raise_server_exceptions=False) as small:
        for body, content_type, status in [
            (b"{not json", FHIR_JSON, 400),
            (b'{"resourceType": "Bundle"}', "text/plain", 415),
            (b" " * 400 + b"{}", FHIR_JSON, 413),
        ]:
            response = small.post("/web/api/checklist", content=body, headers={"Content-Type": content_type})
            assert response.status_code == status
            outcome = response.json()
            assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["severity"] == "error"
            fhir = small.post("/fhir/Bundle/$validate", content=body, headers={"Content-Type": content_type})
            assert fhir.status_code == status  # the page's two calls refuse the same input alike
        assert small.post("/web/api/checklist", json={"resourceType": "Patient"}).json() == {"encounters": []}


def test_checklist_asks_for_the_api_key_when_keys_are_set(index: ContentIndex) -> None:
    from ipg_validator.settings import Settings

    with TestClient(create_app(index, settings=Settings(api_keys=("s3cret",)), warm_up=False), raise_server_exceptions=False) as locked:
        assert locked.get("/web/api/settings").json()["apiKeyRequired"] is True
        body = (EXAMPLES / "missing-x65-3.json").read_bytes()
        for headers in [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret"}]:
            response = locked.post("/web/api/checklist", content=body, headers={"Content-Type": FHIR_JSON, **headers})
            assert response.status_code == 401, headers
            assert response.json()["issue"][0]["code"] == "login"
        ok = locked.post("/web/api/checklist", content=body, headers={"Content-Type": FHIR_JSON, "Authorization": "Bearer s3cret"})
        assert ok.status_code == 200 and ok.json()["encounters"]
        assert locked.get("/").status_code == 200


def test_check_api_key() -> None:
    check_api_key((), None)
    check_api_key(("a",), "Bearer a")
    with pytest.raises(FhirError):
        check_api_key(("a",), "Bearer b")


# ---------- packaging ----------


@pytest.mark.slow
def test_the_wheel_carries_the_page_and_the_examples(tmp_path: Path) -> None:
    from test_wheel import _build

    wheel = _build(tmp_path)
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    for path in static_files().values():
        assert f"ipg_validator/web/static/{path.name}" in names
    assert {"ipg_validator/server/web.py", "ipg_validator/web/checklist.py", "ipg_validator/web/examples.py"} <= names
    for path in EXAMPLES.glob("*.json"):
        assert f"ipg_validator/_content/guidance/ipg672/examples/{path.name}" in names
