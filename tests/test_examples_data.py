"""The example Bundles in examples/ and their expected outcomes: data checks only.

Each `examples/<name>.json` is a FHIR R4 Bundle of SIRT encounters and each
`examples/<name>.expected.json` lists what the validator must report for it. These tests
check the data is coherent (parses, expressions point at real elements, rule ids exist,
references resolve, every rule has an example); the validator is tested elsewhere.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from conftest import BUNDLE_RULES_FILE, EXAMPLES_DIR, ROOT, RULES_FILE
# the rules the examples are judged by: the IPG672 pack's and the Bundle-level ones
RULES = {"rules": [rule for path in (RULES_FILE, BUNDLE_RULES_FILE) for rule in json.loads(path.read_text(encoding="utf-8"))["rules"]]}
RULES_BY_ID = {rule["id"]: rule for rule in RULES["rules"]}

SEVERITIES = {"fatal", "error", "warning", "information"}
# tx-issue-type codes a terminology finding on a coding may carry inside a Bundle
TX_CODES = {"code-rule", "invalid-code", "invalid-display", "not-found", "invalid-data"}
# every rule of these kinds must be shown by at least one example
KINDS_NEEDING_EXAMPLE = {
    "require-each", "require-any", "first-not-in", "first-in", "not-together", "at-most-one",
    "each-outside", "single-coding", "unattributed", "unresolved-reference", "subject-mismatch",
    "out-of-scope", "no-encounter",
    "not-counted", "status-check", "status-contradicts", "encounter-status", "scope-not-counted", "scope-misclassified",
    "classification", "system-beside", "system-only", "reference-type",
}
NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"

BUNDLE_PATHS = sorted(p for p in EXAMPLES_DIR.glob("*.json") if not p.name.endswith(".expected.json"))
NAMES = [p.stem for p in BUNDLE_PATHS]


def load(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    bundle = json.loads((EXAMPLES_DIR / f"{name}.json").read_text(encoding="utf-8"))
    expected = json.loads((EXAMPLES_DIR / f"{name}.expected.json").read_text(encoding="utf-8"))
    return bundle, expected


# -- a tiny resolver for `Bundle.entry[i].resource.a.b[j].c` ---------------------------------

_STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?")
_MISSING = object()


def resolve(bundle: dict[str, Any], expression: str) -> Any:
    """The element an expression names, or _MISSING when it does not exist."""
    head, _, rest = expression.partition(".")
    if head != "Bundle":
        raise ValueError(f"expression must start at Bundle: {expression!r}")
    node: Any = bundle
    for step in rest.split(".") if rest else []:
        match = _STEP.fullmatch(step)
        if match is None:
            raise ValueError(f"cannot read step {step!r} of {expression!r}")
        name, index = match[1], match[2]
        if not isinstance(node, dict) or node.get(name) is None:
            return _MISSING
        node = node[name]
        if index is not None:
            if not isinstance(node, list) or int(index) >= len(node):
                return _MISSING
            node = node[int(index)]
    return node


def test_resolver() -> None:
    bundle = {"resourceType": "Bundle", "entry": [{"resource": {"code": {"coding": [{"code": "J12.3"}]}}}]}
    assert resolve(bundle, "Bundle") is bundle
    assert resolve(bundle, "Bundle.entry[0].resource.code.coding[0].code") == "J12.3"
    assert resolve(bundle, "Bundle.entry[1].resource") is _MISSING
    assert resolve(bundle, "Bundle.entry[0].resource.code.coding[0].system") is _MISSING
    assert resolve(bundle, "Bundle.entry[0].resource.code.coding[1]") is _MISSING


def references(node: Any) -> list[str]:
    """Every Reference.reference string anywhere in a resource."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                found.append(value)
            else:
                found += references(value)
    elif isinstance(node, list):
        for value in node:
            found += references(value)
    return found


def nhs_number_valid(value: str) -> bool:
    if not re.fullmatch(r"\d{10}", value):
        return False
    total = sum(int(d) * w for d, w in zip(value[:9], range(10, 1, -1)))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(value[9])


# -- the collection as a whole -------------------------------------------------------------


def test_there_are_examples() -> None:
    assert len(BUNDLE_PATHS) >= 20


def test_every_expected_file_has_a_bundle() -> None:
    for path in EXAMPLES_DIR.glob("*.expected.json"):
        assert (EXAMPLES_DIR / path.name.replace(".expected.json", ".json")).is_file(), path.name


def test_example_names_are_kebab_case() -> None:
    for name in NAMES:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name), name


def test_every_rule_has_an_example() -> None:
    used = {issue["code"] for name in NAMES for issue in load(name)[1]["issues"]}
    wanted = {rule["id"] for rule in RULES["rules"] if rule["kind"] in KINDS_NEEDING_EXAMPLE}
    assert wanted - used == set()


def test_both_conforming_and_failing_examples() -> None:
    outcomes = [load(name)[1]["conforms"] for name in NAMES]
    assert True in outcomes and False in outcomes


def test_bundle_kinds_and_reference_styles_are_covered() -> None:
    kinds = {load(name)[0]["type"] for name in NAMES}
    assert {"collection", "transaction"} <= kinds
    relative = [name for name in NAMES if any(e["fullUrl"].startswith("https://") for e in load(name)[0]["entry"])]
    assert relative, "no example uses relative references"


# -- each example ---------------------------------------------------------------------------


def _padded_codes(bundle: dict[str, Any], expected: dict[str, Any]) -> list[tuple[int, int]]:
    """(entry, coding) positions of codes sent with surrounding white space, each of which the
    expected outcome reports as an NHS format (code-rule) finding."""
    flagged = {i["expression"] for i in expected["issues"] if i["code"] == "code-rule"}
    found = []
    for i, entry in enumerate(bundle["entry"]):
        for j, coding in enumerate(entry.get("resource", {}).get("code", {}).get("coding", [])):
            code = coding.get("code", "")
            if code != code.strip():
                assert f"Bundle.entry[{i}].resource.code.coding[{j}].code" in flagged, (i, j, code)
                found.append((i, j))
    return found


@pytest.mark.parametrize("name", NAMES)
def test_bundle_parses_as_fhir(name: str) -> None:
    """Every Bundle is structurally valid FHIR. The one deviation allowed is a code with
    surrounding white space, as NHS feeds send it: FHIR's `code` type forbids it, so such a
    Bundle must fail on exactly those codes and parse once they are trimmed."""
    bundle, expected = load(name)
    padded = _padded_codes(bundle, expected)
    if padded:
        with pytest.raises(ValidationError) as failure:
            Bundle.model_validate(bundle)
        locations = {tuple(error["loc"]) for error in failure.value.errors()}
        assert locations == {("entry", i, "resource", "code", "coding", j, "code") for i, j in padded}
        bundle = copy.deepcopy(bundle)
        for i, j in padded:
            coding = bundle["entry"][i]["resource"]["code"]["coding"][j]
            coding["code"] = coding["code"].strip()
    model = Bundle.model_validate(bundle)
    assert model.type in {"collection", "transaction"}


@pytest.mark.parametrize("name", NAMES)
def test_expected_outcome_shape(name: str) -> None:
    _, expected = load(name)
    assert set(expected) == {"description", "conforms", "issues"}
    assert isinstance(expected["description"], str) and expected["description"].strip()
    assert isinstance(expected["conforms"], bool)
    assert isinstance(expected["issues"], list)
    for issue in expected["issues"]:
        assert set(issue) == {"severity", "code", "expression"}, issue
        assert issue["severity"] in SEVERITIES, issue
    has_error = any(issue["severity"] in {"error", "fatal"} for issue in expected["issues"])
    assert expected["conforms"] is (not has_error)


@pytest.mark.parametrize("name", NAMES)
def test_issue_codes_are_rules_or_tx_codes(name: str) -> None:
    _, expected = load(name)
    for issue in expected["issues"]:
        code = issue["code"]
        assert code != "ipg672-summary", "summary issues are checked separately, not listed"
        assert code != "not-in-vs", "membership inside bundles is judged by the rules"
        if code.startswith("ipg672-"):
            assert code in RULES_BY_ID, f"unknown rule id {code}"
            assert issue["severity"] == RULES_BY_ID[code]["severity"], issue
        else:
            assert code in TX_CODES, issue


@pytest.mark.parametrize("name", NAMES)
def test_issue_expressions_resolve(name: str) -> None:
    bundle, expected = load(name)
    for issue in expected["issues"]:
        expression = issue["expression"]
        if issue["code"] == "invalid-data" and expression.endswith(".system"):
            # a missing system is reported where it should be: the coding exists, the system does not
            coding = resolve(bundle, expression.removesuffix(".system"))
            assert isinstance(coding, dict) and "system" not in coding, issue
            continue
        assert resolve(bundle, expression) is not _MISSING, issue


@pytest.mark.parametrize("name", NAMES)
def test_issue_anchors_follow_the_conventions(name: str) -> None:
    """Rule findings point at the element kind the conventions name."""
    bundle, expected = load(name)
    coding_rules = {
        "ipg672-subsidiary-not-first", "ipg672-sirt-first", "ipg672-secondary-first",
        "ipg672-primary-contradiction", "ipg672-synchronous-primaries", "ipg672-procedure-outside",
    }
    for issue in expected["issues"]:
        code, expression = issue["code"], issue["expression"]
        target = resolve(bundle, expression)
        if code in coding_rules:
            assert re.fullmatch(r"Bundle\.entry\[\d+\]\.resource\.code\.coding\[\d+\]", expression), issue
            resource = resolve(bundle, expression.split(".code.")[0])
            wanted = "Procedure" if RULES_BY_ID[code]["in"] == "procedures" else "Condition"
            assert resource["resourceType"] == wanted, issue
        elif code == "invalid-data" and ".code.coding[" not in expression:  # FHIR's Bundle rules, empty elements: at the entry
            assert re.fullmatch(r"Bundle\.entry\[\d+\](\.[A-Za-z]+(\[\d+\])?)*", expression), issue
        elif code in TX_CODES:
            assert re.fullmatch(r"Bundle\.entry\[\d+\]\.resource\.code\.coding\[\d+\]\.(code|system|display)", expression), issue
        elif code == "ipg672-one-code-per-procedure":
            assert expression.endswith(".resource.code") and len(target["coding"]) > 1, issue
        elif code == "ipg672-companion-required" or code == "ipg672-brachytherapy-optional":
            if target["resourceType"] == "Encounter":  # no J12.3 to point at: the profile forced the rules
                assert _claims_profile(bundle), issue
                continue
            assert target["resourceType"] == "Procedure", issue
            assert any(_plain(c.get("code", "")) == "J123" for c in target["code"]["coding"]), issue
        elif code == "ipg672-sirt-required":
            assert target["resourceType"] == "Encounter" and _claims_profile(bundle), issue
        elif code in {"ipg672-secondary-required", "ipg672-primary-required"}:
            assert target["resourceType"] in {"Encounter", "Procedure"}, issue
        elif code in {"ipg672-out-of-scope", "ipg672-summary"}:
            assert target["resourceType"] == "Encounter", issue
        elif code == "ipg672-unattributed":
            assert target["resourceType"] in {"Procedure", "Condition"}, issue
            assert "encounter" not in target or _unresolved(bundle, target) or _names_no_encounter(bundle, target), issue
            assert sum(e["resource"]["resourceType"] == "Encounter" for e in with_resources(bundle)) == 1, issue
        elif code == "ipg672-unresolved-reference":
            assert isinstance(target, dict) and "reference" in target, issue
        elif code == "ipg672-subject-mismatch":
            assert expression.endswith(".subject"), issue
        elif code == "ipg672-no-encounter":
            assert expression == "Bundle", issue
            assert not any(e["resource"]["resourceType"] == "Encounter" for e in with_resources(bundle))


def with_resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """The entries that carry a resource (the bdl-5 example has one that does not)."""
    return [e for e in bundle["entry"] if "resource" in e]


def _names_no_encounter(bundle: dict[str, Any], resource: dict[str, Any]) -> bool:
    """Whether the resource's encounter reference points at an entry that is not an Encounter (a type mismatch)."""
    target = next((e["resource"] for e in with_resources(bundle) if e["fullUrl"] == resource["encounter"].get("reference")), None)
    return target is not None and target["resourceType"] != "Encounter"


# A status other than the usual finished / completed / active / confirmed appears only where a rule
# that names that status reports it, at the resource or inside it.
STATUS_RULES = {rule["id"]: rule.get("statuses", {}) for rule in RULES["rules"] if rule.get("statuses")}
SCOPE_STATUS_RULES = {"ipg672-sirt-not-performed": "ipg672-not-counted"}  # reports the not-counted status of J12.3


def _explained_statuses(bundle: dict[str, Any], expected: dict[str, Any]) -> dict[int, set[tuple[str, str]]]:
    explained: dict[int, set[tuple[str, str]]] = {n: set() for n in range(len(bundle["entry"]))}
    for issue in expected["issues"]:
        statuses = STATUS_RULES.get(SCOPE_STATUS_RULES.get(issue["code"], issue["code"]), {})
        match = re.match(r"Bundle\.entry\[(\d+)\]", issue["expression"])
        if match and statuses:
            explained[int(match[1])] |= {(path, value) for path, values in statuses.items() for value in values}
    return explained


def _claims_profile(bundle: dict[str, Any]) -> bool:
    return "https://ipg-validator.org/fhir/StructureDefinition/ipg672-encounter-bundle" in bundle.get("meta", {}).get("profile", [])


def _plain(code: str) -> str:
    """A code reduced for comparison across NHS formats: `j12.3 ` -> `J123`."""
    return code.strip().upper().replace(".", "")


def _unresolved(bundle: dict[str, Any], resource: dict[str, Any]) -> bool:
    return resource.get("encounter", {}).get("reference") not in _targets(bundle)


def _targets(bundle: dict[str, Any]) -> set[str]:
    """Every string by which an entry can be referenced: fullUrl and, for a RESTful fullUrl, Type/id."""
    found: set[str] = set()
    for entry in with_resources(bundle):
        found.add(entry["fullUrl"])
        resource = entry["resource"]
        if resource.get("id") and entry["fullUrl"].endswith(f"/{resource['resourceType']}/{resource['id']}"):
            found.add(f"{resource['resourceType']}/{resource['id']}")
    return found


@pytest.mark.parametrize("name", NAMES)
def test_references_resolve(name: str) -> None:
    bundle, expected = load(name)
    targets = _targets(bundle)
    unresolved = [ref for entry in with_resources(bundle) for ref in references(entry["resource"]) if ref not in targets]
    about_unresolved = [i for i in expected["issues"] if i["code"] == "ipg672-unresolved-reference"]
    if not about_unresolved:
        assert unresolved == []
        return
    # only the references the expected outcome names may dangle
    named = {resolve(bundle, i["expression"])["reference"] for i in about_unresolved}
    assert set(unresolved) == named


@pytest.mark.parametrize("name", NAMES)
def test_entries_look_like_an_nhs_feed(name: str) -> None:
    bundle, expected = load(name)
    repeated = {i["expression"] for i in expected["issues"] if i["code"] == "invalid-data" and i["expression"].endswith(".fullUrl")}
    assert len({entry["fullUrl"] for entry in bundle["entry"]}) == len(bundle["entry"]) - len(repeated)  # bdl-7 examples repeat some
    explained = _explained_statuses(bundle, expected)
    for n, entry in enumerate(bundle["entry"]):
        assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}|https://ehr\.example\.nhs\.uk/fhir/[A-Za-z]+/[A-Za-z0-9.-]+", entry["fullUrl"])
        if bundle["type"] == "transaction":
            assert entry["request"]["method"] in {"POST", "PUT"}
        if "resource" not in entry:  # an entry without resource is only there to show bdl-5
            assert f"Bundle.entry[{n}]" in {i["expression"] for i in expected["issues"]}
            continue
        resource = entry["resource"]
        kind = resource["resourceType"]
        assert kind in {"Patient", "Encounter", "Procedure", "Condition"}
        if kind == "Patient":
            ids = [i for i in resource["identifier"] if i["system"] == NHS_NUMBER]
            assert ids and all(nhs_number_valid(i["value"]) for i in ids)
            assert resource["name"]
        elif kind == "Encounter":
            assert resource["status"] == "finished" or ("Encounter.status", resource["status"]) in explained[n]
            assert resource["class"]["system"] == "http://terminology.hl7.org/CodeSystem/v3-ActCode"
            assert resource["class"]["code"] in {"IMP", "SS"}
            assert resource["subject"]["reference"] and resource["period"]["start"]
        elif kind == "Procedure":
            assert resource["status"] == "completed" or ("Procedure.status", resource["status"]) in explained[n]
            assert resource["performedDateTime"]
            assert resource["subject"]["reference"] and resource["code"]["coding"]
        elif kind == "Condition":
            clinical, verification = resource["clinicalStatus"]["coding"][0]["code"], resource["verificationStatus"]["coding"][0]["code"]
            assert clinical == "active" or ("Condition.clinicalStatus", clinical) in explained[n]
            assert verification == "confirmed" or ("Condition.verificationStatus", verification) in explained[n]
            assert resource["category"][0]["coding"][0]["code"] == "encounter-diagnosis"
            assert resource["subject"]["reference"] and resource["code"]["coding"]


@pytest.mark.parametrize("name", NAMES)
def test_canonical_displays_come_from_the_fragments(name: str) -> None:
    """A display sent with a canonical, fragment-listed code is the fragment's title, unless the
    example is about a wrong display (then the expected outcome names it)."""
    bundle, expected = load(name)
    titles = _fragment_titles()
    flagged = {i["expression"] for i in expected["issues"] if i["code"] == "invalid-display"}
    for i, entry in enumerate(bundle["entry"]):
        for j, coding in enumerate(entry.get("resource", {}).get("code", {}).get("coding", [])):
            title = titles.get((coding.get("system"), coding.get("code")))
            if title is None or "display" not in coding:
                continue
            where = f"Bundle.entry[{i}].resource.code.coding[{j}].display"
            assert (coding["display"] == title) is (where not in flagged), where


_TITLES: dict[tuple[str, str], str] = {}


def _fragment_titles() -> dict[tuple[str, str], str]:
    if not _TITLES:
        for fname in ("CodeSystem-opcs-4-fragment.json", "CodeSystem-icd-10-uk-fragment.json"):
            cs = json.loads((ROOT / "valuesets" / fname).read_text(encoding="utf-8"))
            stack = list(cs["concept"])
            while stack:
                concept = stack.pop()
                _TITLES[(cs["url"], concept["code"])] = concept["display"]
                stack += concept.get("concept", [])
    return _TITLES


@pytest.mark.parametrize("name", NAMES)
def test_diagnosis_ranks_reference_the_encounters_own_resources(name: str) -> None:
    bundle, _ = load(name)
    by_ref = {}
    for entry in with_resources(bundle):
        by_ref[entry["fullUrl"]] = entry["resource"]
    for entry in with_resources(bundle):
        resource = entry["resource"]
        if resource["resourceType"] != "Encounter" or "diagnosis" not in resource:
            continue
        ranks: dict[str, list[int]] = {"Procedure": [], "Condition": []}
        for diagnosis in resource["diagnosis"]:
            target = by_ref[diagnosis["condition"]["reference"]]
            assert target["encounter"]["reference"] == entry["fullUrl"]
            ranks[target["resourceType"]].append(diagnosis["rank"])
        for kind, values in ranks.items():
            assert sorted(values) == list(range(1, len(values) + 1)), (kind, values)
