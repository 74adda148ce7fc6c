"""The web page in a real browser: Debian's chromium, driven by playwright, against the app on a loopback port.

Each state is saved as a screenshot in test-output/web/. Without /usr/bin/chromium the tests are
skipped with the reason; under CI=true they fail instead, since CI installs chromium (.ci/run).
No browser is downloaded: playwright drives the system chromium.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import BUNDLE_RULES_FILE, ROOT, RULES_FILE
from support.server import in_thread
from ipg_validator.content.loader import load_content
from ipg_validator.server import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]
SHOTS = ROOT / "test-output" / "web"
EXAMPLES = ROOT / "guidance" / "ipg672" / "examples"
LAPTOP = {"width": 1366, "height": 850}
NARROW = {"width": 390, "height": 844}


def _unavailable(reason: str) -> None:
    """Skip, except under CI=true, where the browser tests must run: fail instead."""
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run; .ci/run installs chromium)")
    pytest.skip(reason)


try:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Route, expect, sync_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None  # type: ignore[assignment]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """The app served by uvicorn in a background thread on a free loopback port."""
    with in_thread(create_app()) as base:
        yield base


@pytest.fixture(scope="module")
def packs_url() -> Iterator[str]:
    """The app over the shipped content and the test-only second guidance pack (tests/packs/tst001)."""
    with in_thread(create_app(load_content([ROOT / "tests" / "packs"]))) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if sync_playwright is None:
        _unavailable("the playwright Python package is not installed (pip install -e '.[test]')")
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"{CHROMIUM} is not installed: apt-get install -y --no-install-recommends chromium")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class Watch:
    """What a page did that it must not: requests leaving the loopback origin, script errors."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.outside: list[str] = []
        self.errors: list[str] = []

    def local(self, url: str) -> bool:
        return url.startswith((self.origin + "/", "data:", "blob:")) or url == self.origin

    def route(self, route: Route) -> None:
        if self.local(route.request.url):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def console(self, message: ConsoleMessage) -> None:
        # An HTTP error answer is logged by the browser itself; the page shows those (tests check how).
        if message.type == "error" and not message.text.startswith("Failed to load resource: the server responded"):
            self.errors.append(message.text)

    def request(self, request: Request) -> None:
        if not self.local(request.url):
            self.outside.append(request.url)


def _page(browser: Browser, base_url: str, viewport: dict[str, int]) -> Iterator[Page]:
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    watch = Watch(base_url)
    context.route("**/*", watch.route)
    page = context.new_page()
    page.on("request", watch.request)
    page.on("pageerror", lambda exc: watch.errors.append(str(exc)))
    page.on("console", watch.console)
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()
    assert not watch.outside, f"the page made requests outside {base_url}: {watch.outside}"
    assert not watch.errors, f"the page reported errors: {watch.errors}"


@pytest.fixture()
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    yield from _page(browser, base_url, LAPTOP)


@pytest.fixture()
def narrow_page(browser: Browser, base_url: str) -> Iterator[Page]:
    yield from _page(browser, base_url, NARROW)


def shot(page: Page, name: str, *, full_page: bool = True) -> Path:
    path = SHOTS / name
    page.screenshot(path=str(path), full_page=full_page)
    return path


def example_text(name: str) -> str:
    return (EXAMPLES / f"{name}.json").read_text(encoding="utf-8")


def open_validator(page: Page, base_url: str) -> None:
    page.goto(base_url + "/")
    expect(page.locator("#example optgroup option").first).to_be_attached()


def paste_and_validate(page: Page, text: str) -> None:
    page.fill("#bundle", text)
    page.click("#validate")
    expect(page.locator("#results")).to_be_visible()


def checklist_row(page: Page, code: str) -> Any:
    return page.locator(f"#encounters tr[data-code='{code}']")


# ---------- the scenarios of the issue ----------


def test_failing_example_shows_x65_3_missing_and_its_error(page: Page, base_url: str) -> None:
    open_validator(page, base_url)
    paste_and_validate(page, example_text("missing-x65-3"))
    expect(page.locator("#verdict")).to_have_attribute("data-verdict", "error")
    expect(page.locator("#verdict")).to_contain_text("1 error")
    row = checklist_row(page, "X65.3")
    expect(row).to_have_attribute("data-status", "missing")
    expect(row).to_contain_text("Missing")
    expect(row).to_contain_text("Delivery of a fraction of interstitial radiotherapy")
    for code in ("J12.3", "Y36.4", "Y53.4", "C78.7"):
        expect(checklist_row(page, code)).to_have_attribute("data-status", "present")
    expect(page.locator("#encounters .codes").first).to_have_text("1J12.32Y36.43Y53.4")
    error = page.locator("#issues tbody tr[data-rule='ipg672-companion-required']")
    expect(error).to_have_count(1)
    expect(error).to_have_attribute("data-severity", "error")
    expect(error.locator("td.sev")).to_have_text("✖Error")
    expect(error.locator("td.msg")).to_contain_text("Add OPCS-4 X65.3")
    expect(error.locator("td.where")).to_contain_text("Bundle.entry[2].resource")
    shot(page, "01-missing-x65-3-checklist-and-error.png")


def test_uploaded_valid_example_is_all_clear(page: Page, base_url: str) -> None:
    open_validator(page, base_url)
    page.set_input_files("#file", str(EXAMPLES / "sirt-primary-present.json"))
    expect(page.locator("#results")).to_be_visible()
    expect(page.locator("#verdict")).to_have_attribute("data-verdict", "ok")
    expect(page.locator("#verdict")).to_contain_text("All clear: no errors or warnings")
    assert page.input_value("#bundle") == example_text("sirt-primary-present")
    statuses = page.locator("#encounters tr[data-status]").evaluate_all("rows => rows.map(r => [r.dataset.code, r.dataset.status])")
    assert statuses and all(status == "present" for code, status in statuses if code != "Y89.x"), statuses
    expect(checklist_row(page, "Y89.x")).to_contain_text("Not recorded (optional)")
    expect(page.locator("#encounters article.encounter header")).to_contain_text("Coded as IPG672 recommends")
    expect(page.locator("#issues tbody tr[data-severity='error']")).to_have_count(0)
    shot(page, "02-uploaded-valid-example-all-clear.png")


def test_clicking_an_issue_shows_the_resource_highlighted(page: Page, base_url: str) -> None:
    open_validator(page, base_url)
    paste_and_validate(page, example_text("category-codes"))
    expect(checklist_row(page, "Y89.x")).to_have_attribute("data-status", "wrong")
    where = page.get_by_role("button", name="Bundle.entry[5].resource.code.coding[0].code: show this resource")
    where.click()
    viewer = page.locator("#viewer")
    expect(viewer).to_be_visible()
    expect(page.locator("#viewer-heading")).to_have_text("Procedure at Bundle.entry[5].resource")
    expect(page.locator("#viewer-heading")).to_be_focused()
    mark = page.locator("#viewer-json mark.hl")
    expect(mark).to_have_count(1)
    expect(mark).to_have_text('"code": "Y89"')
    expect(page.locator("#issues tr.selected")).to_contain_text("Y89")
    assert mark.is_visible()
    shot(page, "03-issue-clicked-resource-highlighted.png")
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    expect(where).to_be_focused()


def test_broken_json_shows_a_plain_message(page: Page, base_url: str) -> None:
    open_validator(page, base_url)
    page.fill("#bundle", '{"resourceType": "Bundle", "type": "collection", "entry": [')
    page.focus("#bundle")
    page.keyboard.press("Control+Enter")
    problem = page.locator("#problem")
    expect(problem).to_be_visible()
    expect(problem).to_contain_text("The input is not valid JSON")
    expect(problem).to_contain_text("not valid JSON")
    expect(page.locator("#results")).to_be_hidden()
    shot(page, "04-broken-json-message.png")


def test_xml_input_gets_the_outcome_in_xml(page: Page, base_url: str, tmp_path: Path) -> None:
    """A Bundle pasted as FHIR XML: the same findings as its JSON, the OperationOutcome shown and saved as XML,
    and an issue's place highlighted in the XML."""
    from ipg_validator.fhir.xml import dump_xml, parse_xml

    open_validator(page, base_url)
    paste_and_validate(page, dump_xml(json.loads(example_text("category-codes")), pretty=True).decode())
    expect(page.locator("#verdict")).to_have_attribute("data-verdict", "error")
    expect(checklist_row(page, "Y89.x")).to_have_attribute("data-status", "wrong")
    xml_rows = page.locator("#issues tbody tr").evaluate_all("rows => rows.map(r => r.innerText)")
    raw = page.locator("#raw").text_content() or ""
    assert raw.startswith("<?xml") and 'xmlns="http://hl7.org/fhir"' in raw
    expect(page.locator("#download")).to_have_text("Download as XML")
    where = page.get_by_role("button", name="Bundle.entry[5].resource.code.coding[0].code: show this resource")
    where.click()
    expect(page.locator("#viewer-heading")).to_have_text("Procedure at Bundle.entry[5].resource")
    mark = page.locator("#viewer-json mark.hl")
    expect(mark).to_have_count(1)
    expect(mark).to_have_text('<code value="Y89"/>')
    shot(page, "05-xml-input-issue-highlighted.png")
    with page.expect_download() as download:
        page.click("#download")
    assert download.value.suggested_filename.endswith(".xml")
    saved = tmp_path / "oo.xml"
    download.value.save_as(saved)
    outcome = parse_xml(saved.read_bytes())
    assert outcome["resourceType"] == "OperationOutcome" and len(outcome["issue"]) == len(xml_rows)
    paste_and_validate(page, example_text("category-codes"))  # the same Bundle as JSON: the same table
    expect(page.locator("#raw")).to_contain_text('"resourceType": "OperationOutcome"')
    assert page.locator("#issues tbody tr").evaluate_all("rows => rows.map(r => r.innerText)") == xml_rows


def test_broken_xml_shows_a_plain_message(page: Page, base_url: str) -> None:
    open_validator(page, base_url)
    page.fill("#bundle", '<Bundle xmlns="http://hl7.org/fhir">\n  <type value="collection">\n</Bundle>')
    page.click("#validate")
    problem = page.locator("#problem")
    expect(problem).to_contain_text("The input is not FHIR XML")
    expect(problem).to_contain_text("line 3 column")
    expect(page.locator("#results")).to_be_hidden()


def test_reference_page_search_lists_the_colon_codes(page: Page, base_url: str) -> None:
    page.goto(base_url + "/reference")
    expect(page.locator("body[data-loaded='true']")).to_be_attached()
    page.fill("#q", "colon")
    page.press("#q", "Enter")
    table = page.locator("#search-table")
    expect(table).to_be_visible()
    codes = table.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.code)")
    assert codes and all(code.startswith("C18.") for code in codes), codes
    assert "C18.7" in codes
    expect(table).to_contain_text("Malignant neoplasm: Sigmoid colon")
    expect(table.locator("tr[data-code='C18.7'] td").nth(3)).to_contain_text("IPG672 diagnoses (ICD-10)")
    expect(page.locator("#search-status")).to_contain_text(f"{len(codes)} codes matching “colon”")
    shot(page, "05-reference-search-colon.png", full_page=False)


# ---------- more of the page ----------


def test_reference_page_lists_value_sets_code_systems_profiles_and_rules(page: Page, base_url: str) -> None:
    page.goto(base_url + "/reference")
    expect(page.locator("body[data-loaded='true']")).to_be_attached()
    expect(page.locator("#vs-ipg672-companion-procedures")).to_contain_text("X65.3")
    expect(page.locator("#vs-ipg672-diagnoses tbody tr")).to_have_count(14)  # C18.0-C18.9, C19, C20, C78.7, Z85.0
    expect(page.locator("#codesystems-table tbody tr")).to_have_count(2)
    expect(page.locator("#codesystems-table [data-content='fragment']")).to_have_count(2)
    expect(page.locator("#codesystems-table")).to_contain_text("Fragment")
    expect(page.locator("#profiles")).to_contain_text("IPG672 diagnoses (ICD-10)")  # bindings name the value set by title
    expect(page.locator("#profiles article")).to_have_count(3)
    rules = [r for path in (BUNDLE_RULES_FILE, RULES_FILE) for r in json.loads(path.read_text(encoding="utf-8"))["rules"]]
    expect(page.locator("#rules tbody tr")).to_have_count(len(rules))
    expect(page.locator("#rule-ipg672-companion-required")).to_contain_text("PCSJ1")
    shot(page, "06-reference-page.png")


def test_rule_links_lead_to_the_rule(page: Page, base_url: str) -> None:
    open_validator(page, base_url)
    paste_and_validate(page, example_text("missing-x65-3"))
    page.locator("#issues tbody tr[data-rule='ipg672-companion-required'] td.rule a").click()
    expect(page).to_have_url(f"{base_url}/reference#rule-ipg672-companion-required")
    expect(page.locator("#rule-ipg672-companion-required")).to_be_focused()


def test_example_picked_with_the_keyboard(page: Page, base_url: str) -> None:
    open_validator(page, base_url)
    page.focus("#example")
    page.select_option("#example", "two-encounters")
    expect(page.locator("#example-note")).to_contain_text("Two encounters")
    page.keyboard.press("Tab")
    expect(page.locator("#load-example")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#results")).to_be_visible()
    cards = page.locator("#encounters article.encounter")
    expect(cards).to_have_count(2)
    expect(cards.nth(1)).to_contain_text("Not checked against the IPG672 rules")  # the pack's own summary wording
    expect(cards.nth(1).locator("table")).to_have_count(0)
    shot(page, "07-example-two-encounters.png")


def test_not_a_bundle_says_so(page: Page, base_url: str) -> None:
    open_validator(page, base_url)
    paste_and_validate(page, '{"resourceType": "Patient", "id": "p1"}')
    expect(page.locator("#verdict")).to_have_attribute("data-verdict", "error")
    expect(page.locator("#verdict")).to_contain_text("Expected a Bundle, got a Patient")
    expect(page.locator("#encounters article")).to_have_count(0)


def test_empty_input_and_oversized_file_say_so(page: Page, base_url: str, tmp_path: Path) -> None:
    open_validator(page, base_url)
    page.click("#validate")
    expect(page.locator("#problem")).to_contain_text("Nothing to validate")
    limit = page.evaluate("fetch('/web/api/settings').then(r => r.json()).then(s => s.maxBodyBytes)")
    big = tmp_path / "huge.json"
    big.write_bytes(b'{"resourceType": "Bundle", "type": "collection", "entry": []}' + b" " * limit)
    page.set_input_files("#file", str(big))
    expect(page.locator("#problem")).to_contain_text("The file is too large")
    expect(page.locator("#results")).to_be_hidden()


def test_filters_copy_and_download(page: Page, base_url: str, tmp_path: Path) -> None:
    open_validator(page, base_url)
    paste_and_validate(page, example_text("category-codes"))
    rows = page.locator("#issues tbody tr")
    total = rows.count()
    info = page.locator("#issues tbody tr[data-severity='information']")
    assert info.count() > 0
    page.get_by_label("Information").uncheck()
    expect(info.first).to_be_hidden()
    expect(page.locator("#issues-count")).to_contain_text(f"Showing {total - info.count()} of {total} issues")
    page.get_by_label("Information").check()
    expect(info.first).to_be_visible()
    with page.expect_download() as download:
        page.click("#download")
    saved = tmp_path / "oo.json"
    download.value.save_as(saved)
    outcome = json.loads(saved.read_text(encoding="utf-8"))
    assert outcome["resourceType"] == "OperationOutcome"
    assert len(outcome["issue"]) == total
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.click("#copy")
    expect(page.locator("#status")).to_contain_text("copied")
    assert json.loads(page.evaluate("navigator.clipboard.readText()")) == outcome


def test_focus_order_and_labels(page: Page, base_url: str) -> None:
    open_validator(page, base_url)
    order = []
    for _ in range(9):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
    assert order == ["Skip to the content", "Validate a Bundle", "Code sets, profiles and rules", "example", "load-example",
                     "file", "bundle", "validate", "clear"], order
    unlabelled = page.evaluate(
        "Array.from(document.querySelectorAll('input, select, textarea'))"
        ".filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.id)"
    )
    assert unlabelled == []


def test_narrow_window(narrow_page: Page, base_url: str) -> None:
    page = narrow_page
    open_validator(page, base_url)
    paste_and_validate(page, example_text("missing-x65-3"))
    expect(checklist_row(page, "X65.3")).to_have_attribute("data-status", "missing")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px in a {NARROW['width']}px window"
    shot(page, "08-narrow-window-missing-x65-3.png")
    page.goto(base_url + "/reference")
    expect(page.locator("body[data-loaded='true']")).to_be_attached()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the reference page scrolls sideways by {overflow}px"


def test_without_chromium_the_tests_skip_but_fail_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        _unavailable("/usr/bin/chromium is not installed")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        _unavailable("/usr/bin/chromium is not installed")


def test_the_checklist_reads_each_example_encounter_as_validation_does() -> None:
    """For every example, each encounter's checklist applies exactly when its summary in the OperationOutcome
    does not say 'not checked', and lists the codings the summary's code strings name, in the same order."""
    from ipg_validator import validate_bundle
    from ipg_validator.content.loader import load_content
    from ipg_validator.web.checklist import bundle_checklists

    index = load_content()
    checked = 0
    for path in sorted((ROOT / "guidance" / "ipg672" / "examples").glob("*.json")):
        if path.name.endswith(".expected.json"):
            continue
        bundle = json.loads(path.read_text(encoding="utf-8"))
        summaries = [i for i in validate_bundle(path.read_bytes(), index)["issue"]
                     if i["details"]["coding"][0]["code"] == "ipg672-summary"]
        by_place = {s["expression"][0]: s["details"]["text"] for s in summaries}
        for checklist in bundle_checklists(index, bundle):
            text = by_place[checklist["expression"]]
            assert checklist["applies"] is ("not checked against" not in text), (path.name, checklist["encounter"], text)
            procedures = " ".join(c["code"] for c in checklist["procedures"]) or "(none)"
            assert f"procedures {procedures};" in text, (path.name, procedures, text)
            checked += 1
    assert checked >= 47


def test_a_second_guidance_pack_is_on_the_page(browser: Browser, packs_url: str) -> None:
    """With the test-only pack beside IPG672: its examples in their own groups, its rules on the reference
    page, and an encounter card per pack, each in its pack's words."""
    for page in _page(browser, packs_url, LAPTOP):
        page.goto(packs_url + "/")
        expect(page.locator(".brand")).to_contain_text("NICE IPG672 and TST001 coding")  # the page names the loaded packs
        expect(page.locator("#example optgroup option").first).to_be_attached()
        groups = page.locator("#example optgroup").evaluate_all("gs => gs.map(g => g.label)")
        assert "IPG672: Conform" in groups and "TST001: Conform" in groups and "TST001: Coded against the recommendation" in groups
        page.select_option("#example", "mixed-packs")
        page.click("#load-example")
        expect(page.locator("#bundle")).not_to_have_value("")
        page.click("#validate")
        expect(page.locator("#results")).to_be_visible()
        expect(page.locator("#verdict")).to_contain_text("2 encounters found, 1 checked against the IPG672 rules, 1 against the TST001 rules.")
        cards = page.locator("#encounters article.encounter")
        expect(cards).to_have_count(2)
        expect(cards.nth(0).locator(".pack")).to_have_text("IPG672")
        expect(cards.nth(0)).to_contain_text("Coded as IPG672 recommends")
        expect(cards.nth(1).locator(".pack")).to_have_text("TST001")
        expect(cards.nth(1)).to_contain_text("Coded as TST001 recommends")
        expect(cards.nth(1).locator("tr[data-code='TP-3']")).to_be_attached()
        shot(page, "13-two-guidance-packs.png")
        page.goto(packs_url + "/reference")
        expect(page.locator("body[data-loaded='true']")).to_be_attached()
        expect(page.locator("#rules-tst001 tbody tr")).to_have_count(9)
        expect(page.locator("#rules-ipg672")).to_be_attached()
        expect(page.locator("#rules-bundle")).to_be_attached()
