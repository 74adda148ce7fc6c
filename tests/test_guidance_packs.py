"""A second guidance pack beside IPG672 is a data-only change: tests/packs/tst001 (synthetic codes, tests only).

Loaded beside the shipped content, it must leave every IPG672 outcome as it was, add no finding twice
(the Bundle-level findings and coding checks are computed once per Bundle, whatever the packs), fire
only on its own encounters, and be listed by the metrics and the web page.
"""

from __future__ import annotations

import copy
import json
import shutil
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from ipg_validator import validate_bundle
from ipg_validator.content.index import ContentIndex
from ipg_validator.content.loader import ContentError, load_content
from ipg_validator.server import create_app

from conftest import BUNDLE_RULES_FILE, EXAMPLES_DIR, ROOT, RULES_FILE

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PACKS = ROOT / "tests" / "packs"
PACK_EXAMPLES = PACKS / "tst001" / "examples"
TST_SYSTEM = "http://example.org/fhir/CodeSystem/tst001-rules"
IPG_SYSTEM = json.loads(RULES_FILE.read_text(encoding="utf-8"))["ruleSystem"]
IPG_EXAMPLES = sorted(p for p in EXAMPLES_DIR.glob("*.json") if not p.name.endswith(".expected.json"))
TST_EXAMPLES = sorted(p for p in PACK_EXAMPLES.glob("*.json") if not p.name.endswith(".expected.json"))


@pytest.fixture(scope="module")
def both() -> ContentIndex:
    return load_content([PACKS])


def _rule(issue: dict[str, Any]) -> tuple[str, str]:
    coding = issue["details"]["coding"][0]
    return coding.get("system", ""), coding["code"]


def _one_pack_text(text: str) -> str:
    """A Bundle-level message as it reads with IPG672 alone (it names every loaded pack)."""
    return text.replace("IPG672 and TST001", "IPG672").replace(" or TST001 synthetic test guidance", "")


def test_the_test_pack_loads_beside_ipg672(both: ContentIndex) -> None:
    assert [r.id for r in both.rule_sets] == ["ipg672", "tst001"]
    assert both.bundle_rules is not None and [p.id for p in both.bundle_rules.packs] == ["ipg672", "tst001"]
    assert both.bundle_rules.guidance_names["guidance"] == "IPG672 and TST001"
    tst = both.rule_sets[1]
    assert tst.guidance == "TST001" and tst.rule_system == TST_SYSTEM and tst.base is not None
    assert tst.folder == str(PACKS / "tst001")
    assert both.counts()["rules"] == sum(len(json.loads(p.read_text())["rules"]) for p in (BUNDLE_RULES_FILE, RULES_FILE, PACKS / "tst001" / "tst001.rules.json"))


@pytest.mark.parametrize("path", IPG_EXAMPLES, ids=lambda p: p.stem)
def test_a_second_pack_leaves_every_ipg672_outcome_as_it_was(both: ContentIndex, path: Path) -> None:
    alone = validate_bundle(path.read_bytes())["issue"]
    beside = validate_bundle(path.read_bytes(), both)["issue"]
    ours = [i for i in beside if _rule(i)[0] != TST_SYSTEM]
    assert [(i["severity"], _rule(i), i.get("expression"), _one_pack_text(i["details"]["text"])) for i in ours] == \
           [(i["severity"], _rule(i), i.get("expression"), i["details"]["text"]) for i in alone]
    # TST001 speaks only where IPG672 did not apply, and then only to say it did not apply either
    not_applied = {i["expression"][0] for i in alone if _rule(i)[1] == "ipg672-summary" and i["details"]["text"].endswith("not checked against the IPG672 rules")}
    for issue in beside:
        if _rule(issue)[0] == TST_SYSTEM:
            assert issue["expression"][0] in not_applied, issue
            assert _rule(issue)[1] in ("tst001-out-of-scope", "tst001-summary", "tst001-encounter-not-applied"), issue


@pytest.mark.parametrize("path", [*IPG_EXAMPLES, *TST_EXAMPLES], ids=lambda p: p.stem)
def test_no_finding_is_reported_twice(both: ContentIndex, path: Path) -> None:
    issues = validate_bundle(path.read_bytes(), both)["issue"]
    seen = Counter((_rule(i), tuple(i.get("expression") or ()), i["details"]["text"]) for i in issues)
    assert [key for key, n in seen.items() if n > 1] == []


def _listed(issue: dict[str, Any]) -> bool:
    """What an expected file lists: errors, warnings, and rule findings of information severity but the summaries."""
    system, code = _rule(issue)
    return not code.endswith("-summary") and (issue["severity"] != "information" or system in (IPG_SYSTEM, TST_SYSTEM))


@pytest.mark.parametrize("path", TST_EXAMPLES, ids=lambda p: p.stem)
def test_pack_examples_give_their_expected_outcome(both: ContentIndex, path: Path) -> None:
    expected = orjson.loads(path.with_name(path.stem + ".expected.json").read_bytes())
    outcome = validate_bundle(path.read_bytes(), both)
    got = sorted((i["severity"], _rule(i)[1], i["expression"][0]) for i in outcome["issue"] if _listed(i))
    assert got == sorted((i["severity"], i["code"], i["expression"]) for i in expected["issues"]), expected["description"]
    assert expected["conforms"] is not any(i["severity"] in ("error", "fatal") for i in outcome["issue"])


def test_each_pack_judges_its_own_encounter(both: ContentIndex) -> None:
    issues = validate_bundle((PACK_EXAMPLES / "mixed-packs.json").read_bytes(), both)["issue"]
    summaries = {(_rule(i)[1], i["expression"][0]): i["details"]["text"] for i in issues if _rule(i)[1].endswith("-summary")}
    assert summaries == {
        ("ipg672-summary", "Bundle.entry[1].resource"):
            "The Encounter at Bundle.entry[1]: procedures J12.3 X65.3 Y36.4 Y53.4; diagnoses C78.7 Z85.0; coded as IPG672 recommends",
        ("tst001-summary", "Bundle.entry[8].resource"):
            "The Encounter at Bundle.entry[8]: procedures TP-1 TP-2 TP-3; diagnoses TD-1; coded as TST001 recommends",
    }
    assert [_rule(i)[1] for i in issues].count("ipg672-ambiguous-encounter") == 1  # a Bundle-level finding, once


def test_one_encounter_judged_by_both_packs_names_both_once(both: ContentIndex) -> None:
    issues = validate_bundle((PACK_EXAMPLES / "both-packs.json").read_bytes(), both)["issue"]
    verdicts = sorted(i["details"]["text"].rpartition("; ")[2] for i in issues if _rule(i)[1].endswith("-summary"))
    assert verdicts == ["coded as IPG672 recommends", "not coded as TST001 recommends: 1 error"]  # each counts its own errors
    (counted,) = [i for i in issues if _rule(i)[1] == "ipg672-not-counted"]
    assert "does not count toward the IPG672 and TST001 rules" in counted["details"]["text"]
    assert "TST001 synthetic codes TP-3" in counted["details"]["text"]  # a held system of no NHS format goes by its title


def test_a_copy_of_ipg672_as_a_second_pack_doubles_only_the_guidance_findings(tmp_path: Path) -> None:
    """The issue's own case: a copy of the IPG672 rules under another id. The coding checks and the
    Bundle-level findings come once; each guidance rule fires once per pack."""
    data = json.loads(RULES_FILE.read_text(encoding="utf-8"))
    data = json.loads(json.dumps(data).replace("ipg672-", "ipg999-"))  # rule ids are unique across packs
    data.update(id="ipg999", guidance={"id": "IPG999"}, ruleSystem="http://example.org/fhir/CodeSystem/ipg999-rules")
    data["scope"]["valueSet"] = data["scope"]["valueSet"].replace("ipg999-", "ipg672-")
    for rule in data["rules"]:
        for key in ("valueSet", "valueSets"):
            if key in rule:
                rule[key] = json.loads(json.dumps(rule[key]).replace("ipg999-", "ipg672-"))
    data["profile"] = None
    (tmp_path / "ipg999.rules.json").write_text(json.dumps(data), encoding="utf-8")
    copied = load_content([tmp_path])
    for name in ("missing-x65-3", "icd10-on-procedure", "unattributed", "snomed-beside"):
        body = (EXAMPLES_DIR / f"{name}.json").read_bytes()
        alone = Counter(_rule(i)[1] for i in validate_bundle(body)["issue"])
        twice = Counter(_rule(i)[1] for i in validate_bundle(body, copied)["issue"])
        guidance = {r.id for r in copied.rule_sets[0].rules}
        for code, n in alone.items():
            assert twice[code] == n, (name, code)  # IPG672's own and the Bundle-level ones: not doubled
            if code in guidance:
                assert twice[code.replace("ipg672-", "ipg999-")] == n, (name, code)


def test_pack_load_errors_name_the_file(tmp_path: Path) -> None:
    shutil.copytree(PACKS / "tst001", tmp_path / "again" / "tst001")
    with pytest.raises(ContentError, match="a second guidance pack with the id 'tst001'"):
        load_content([PACKS, tmp_path / "again"])
    with pytest.raises(ContentError, match="needs the Bundle-level rules"):
        load_content([PACKS], include_shipped=False)
    (tmp_path / "levels").mkdir()
    shutil.copy(BUNDLE_RULES_FILE, tmp_path / "levels" / "other.rules.json")
    with pytest.raises(ContentError, match="a second Bundle-level rules file"):
        load_content([tmp_path / "levels"])
    clash = json.loads((PACKS / "tst001" / "tst001.rules.json").read_text(encoding="utf-8"))
    clash["id"], clash["rules"][0]["id"] = "tst002", "ipg672-companion-required"
    (tmp_path / "clash").mkdir()
    shutil.copytree(PACKS / "tst001" / "valuesets", tmp_path / "clash" / "valuesets")
    (tmp_path / "clash" / "tst002.rules.json").write_text(json.dumps(clash), encoding="utf-8")
    with pytest.raises(ContentError, match="ipg672-companion-required.*already a rule of ipg672"):
        load_content([tmp_path / "clash"])


@pytest.fixture(scope="module")
def client(both: ContentIndex) -> Any:
    with TestClient(create_app(both)) as test_client:
        yield test_client


def test_metrics_list_both_packs_and_count_their_findings(client: Any) -> None:
    answer = client.post("/fhir/Bundle/$validate", content=(PACK_EXAMPLES / "mixed-packs.json").read_bytes(),
                         headers={"Content-Type": "application/fhir+json"})
    assert answer.status_code == 200
    text = client.get("/metrics").text
    for pack, guidance, version, file in (("ipg672", "IPG672", "1.0.0", RULES_FILE), ("tst001", "TST001", "0.1.0", PACKS / "tst001" / "tst001.rules.json")):
        rules = len(json.loads(file.read_text(encoding="utf-8"))["rules"])
        assert f'ipg_guidance_pack_rules{{guidance="{guidance}",pack="{pack}",version="{version}"}} {float(rules)}' in text
    for rule in ("ipg672-summary", "tst001-summary", "ipg672-ambiguous-encounter"):
        assert f'ipg_validation_findings_total{{rule="{rule}",severity=' in text


def test_the_web_page_lists_both_packs(client: Any) -> None:
    rule_sets = client.get("/web/api/rules").json()["ruleSets"]
    assert [r["id"] for r in rule_sets] == ["bundle", "ipg672", "tst001"]
    examples = client.get("/web/api/examples").json()["examples"]
    assert {x["name"] for x in examples if x["pack"] == "tst001"} == {p.stem for p in TST_EXAMPLES}
    assert client.get("/web/api/examples/mixed-packs").content == (PACK_EXAMPLES / "mixed-packs.json").read_bytes()
    for name, wanted in (("mixed-packs", [("Bundle.entry[1].resource", "IPG672"), ("Bundle.entry[8].resource", "TST001")]),
                         ("both-packs", [("Bundle.entry[1].resource", "IPG672"), ("Bundle.entry[1].resource", "TST001")])):
        checklists = client.post("/web/api/checklist", content=(PACK_EXAMPLES / f"{name}.json").read_bytes(),
                                 headers={"Content-Type": "application/fhir+json"}).json()["encounters"]
        assert [(c["expression"], c["guidanceId"]) for c in checklists] == wanted
        assert all(c["applies"] for c in checklists)
    tst = next(c for c in checklists if c["guidanceId"] == "TST001")
    assert {line["label"]: line["status"] for line in tst["items"]} == {"TP-2": "present", "TP-3": "missing", "TD-1": "present"}


def test_an_encounter_no_pack_applies_to_is_told_so_by_each(both: ContentIndex) -> None:
    bundle = json.loads((EXAMPLES_DIR / "two-encounters.json").read_text(encoding="utf-8"))
    outcome = validate_bundle(copy.deepcopy(bundle), both)["issue"]
    second = [i for i in outcome if i["expression"] == ["Bundle.entry[8].resource"]]
    assert sorted(_rule(i)[1] for i in second) == ["ipg672-out-of-scope", "ipg672-summary", "tst001-out-of-scope", "tst001-summary"]
