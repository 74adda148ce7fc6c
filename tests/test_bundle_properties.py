"""Properties of validate_bundle over generated Bundles and arbitrary JSON.

validate_bundle never raises, answers with a valid R4 OperationOutcome whose issues are
all placed in the Bundle, is deterministic, drops no Procedure or Condition, and gives one
summary per encounter.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from fhir.resources.R4B.operationoutcome import OperationOutcome
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ipg_validator.bundle.codings import coded_items
from ipg_validator.bundle.validate import Judge, validate_bundle
from ipg_validator.content.index import ContentIndex
from ipg_validator.content.loader import load_content
from ipg_validator.core.systems import ICD10_UK, OPCS4

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
INDEX: ContentIndex = load_content()  # hypothesis tests cannot take the session fixture per example

OPCS4_ALIASES = ["https://fhir.hl7.org.uk/CodeSystem/OPCS-4", "https://fhir.nhs.uk/Id/opcs-4", "http://fhir.hl7.org.uk/R4/CodeSystem/OPCS-4"]
ICD10_ALIASES = ["http://hl7.org/fhir/sid/icd-10"]
PROCEDURE_MEMBERS = ["J12.3", "X65.3", "Y36.4", "Y53.4", "Y89.1"]
DIAGNOSIS_MEMBERS = ["C78.7", "Z85.0", "C18.0", "C18.7", "C18.9", "C19", "C20"]
NON_MEMBERS = ["J12.4", "Y79.3", "X65.2", "Y35.4", "C78.6", "Z85.3", "A01.0", "J12.9"]
NHS_FORMATS = ["J123", "X653", "Y364", "Y534", "C787", "C19X", "C20X", "C19.X", "c18.7", " J12.3 ", "j12.3", "Z850", "C787-", "C787D", "J1231"]
CATEGORIES = ["C18", "Y89", "Y89.-", "C18.-", "J12", "C78"]
IDS = ["a", "b", "c", "enc-1", "enc-2", "pat-1", "p1", "c1"]
TYPES = ["Encounter", "Patient", "Procedure", "Condition"]
ENCOUNTER_CLASS = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"}

json_scalars = st.none() | st.booleans() | st.integers(min_value=-(2**53), max_value=2**53) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)

ids = st.sampled_from(IDS)
systems = st.sampled_from([OPCS4, ICD10_UK, *OPCS4_ALIASES, *ICD10_ALIASES, "http://snomed.info/sct", "http://example.org/local", "", None, 7, "missing"])
codes = (
    st.sampled_from(PROCEDURE_MEMBERS + DIAGNOSIS_MEMBERS) | st.sampled_from(NON_MEMBERS) | st.sampled_from(NHS_FORMATS)
    | st.sampled_from(CATEGORIES) | st.text(max_size=8) | st.integers(-5, 99999) | st.none() | st.just("missing")
)


@st.composite
def references(draw: Any, kinds: tuple[str, ...] = ("Encounter",)) -> Any:
    kind = draw(st.sampled_from(kinds))
    rid = draw(ids)
    return draw(st.sampled_from([
        {"reference": f"urn:uuid:{rid}"},
        {"reference": f"{kind}/{rid}"},
        {"reference": f"https://ehr.example/fhir/{kind}/{rid}"},
        {"reference": f"https://other.example/fhir/{kind}/{rid}"},
        {"reference": f"{kind}/{rid}/_history/1"},
        {"reference": "#contained"},
        {"reference": ""},
        {"display": "no reference"},
        {"reference": 42},
        "Encounter/a",
        None,
        "missing",
    ]))


@st.composite
def codings(draw: Any) -> Any:
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    coding: dict[str, Any] = {}
    system, code = draw(systems), draw(codes)
    if system != "missing":
        coding["system"] = system
    if code != "missing":
        coding["code"] = code
    if draw(st.booleans()):
        coding["display"] = draw(st.sampled_from(["Selective internal radiotherapy with microspheres to lesion of liver", "wrong title", "", 3]))
    return coding


def _put(resource: dict[str, Any], key: str, value: Any) -> None:
    if value != "missing":
        resource[key] = value


@st.composite
def resources(draw: Any) -> Any:
    kind = draw(st.sampled_from(["Encounter", "Encounter", "Patient", "Procedure", "Procedure", "Procedure", "Condition", "Condition", "Nope", "Observation", "arbitrary"]))
    if kind == "arbitrary":
        return draw(json_values)
    rid = draw(ids)
    resource: dict[str, Any] = {"resourceType": kind}
    if draw(st.integers(0, 5)):
        resource["id"] = rid
    if kind == "Encounter":
        resource.update(status="finished", **{"class": dict(ENCOUNTER_CLASS)})
        _put(resource, "subject", draw(references(("Patient",))))
        if draw(st.booleans()):
            resource["diagnosis"] = draw(st.lists(
                st.fixed_dictionaries({"condition": references(("Condition", "Procedure"))}, optional={"rank": st.integers(-1, 4) | st.booleans() | st.text(max_size=2)}),
                max_size=4,
            ) | json_values)
    elif kind in ("Procedure", "Condition"):
        if kind == "Procedure":
            resource["status"] = draw(st.sampled_from(["completed", "completed", "done", 1]))
        _put(resource, "subject", draw(references(("Patient",))))
        _put(resource, "encounter", draw(references()))
        shape = draw(st.integers(0, 9))
        if shape == 0:
            resource["code"] = draw(json_values)
        elif shape == 1:
            pass  # no code
        else:
            resource["code"] = {"coding": draw(st.lists(codings(), max_size=4))}
    elif kind == "Nope":
        resource.update(draw(st.dictionaries(st.text(max_size=6), json_values, max_size=3)))
    return resource


@st.composite
def entries(draw: Any) -> Any:
    shape = draw(st.integers(0, 19))
    if shape == 0:
        return draw(json_values)
    resource = draw(resources())
    entry: dict[str, Any] = {"resource": resource}
    if shape == 1:
        del entry["resource"]
    kind = resource.get("resourceType") if isinstance(resource, dict) else None
    rid = resource.get("id") if isinstance(resource, dict) else None
    full_url = draw(st.sampled_from(["urn", "https", "other", "none", "number"]))
    if full_url == "urn":
        entry["fullUrl"] = f"urn:uuid:{rid or draw(ids)}"
    elif full_url == "https" and isinstance(kind, str):
        entry["fullUrl"] = f"https://ehr.example/fhir/{kind}/{rid or draw(ids)}"
    elif full_url == "other":
        entry["fullUrl"] = f"https://other.example/fhir/{draw(st.sampled_from(TYPES))}/{draw(ids)}"
    elif full_url == "number":
        entry["fullUrl"] = 5
    return entry


@st.composite
def bundles(draw: Any) -> Any:
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": draw(st.sampled_from(["collection", "collection", "transaction", "nope"]))}
    if draw(st.integers(0, 4)) == 0:
        bundle["meta"] = {"profile": [draw(st.sampled_from([
            "https://ipg-validator.org/fhir/StructureDefinition/ipg672-encounter-bundle",
            "https://ipg-validator.org/fhir/StructureDefinition/ipg672-encounter-bundle|1.0.0",
            "http://example.org/other",
        ]))]}
    bundle["entry"] = draw(st.lists(entries(), max_size=10) | st.just("not a list")) if draw(st.integers(0, 19)) == 0 else draw(st.lists(entries(), max_size=10))
    return bundle


@st.composite
def tidy_bundles(draw: Any) -> Any:
    """Mostly well-formed encounter Bundles, so that most coded resources are judged without a finding of their own."""
    n_enc = draw(st.integers(0, 3))
    out: list[Any] = [{"fullUrl": "urn:uuid:pat-1", "resource": {"resourceType": "Patient", "id": "pat-1"}}]
    for k in range(n_enc):
        out.append({"fullUrl": f"urn:uuid:enc-{k}", "resource": {"resourceType": "Encounter", "id": f"enc-{k}", "status": "finished",
                                                                 "class": dict(ENCOUNTER_CLASS), "subject": {"reference": "urn:uuid:pat-1"}}})
    coded = draw(st.lists(st.tuples(
        st.sampled_from(["Procedure", "Condition"]),
        st.lists(st.sampled_from(PROCEDURE_MEMBERS + DIAGNOSIS_MEMBERS + NON_MEMBERS[:3]), min_size=1, max_size=2),
        st.integers(-1, max(n_enc - 1, 0)),
    ), max_size=8))
    for m, (kind, chosen, enc) in enumerate(coded):
        resource: dict[str, Any] = {"resourceType": kind, "id": f"r{m}", "subject": {"reference": "urn:uuid:pat-1"},
                                    "code": {"coding": [{"system": OPCS4 if kind == "Procedure" else ICD10_UK, "code": c} for c in chosen]}}
        if kind == "Procedure":
            resource["status"] = "completed"
        if n_enc and enc >= 0:
            resource["encounter"] = {"reference": f"urn:uuid:enc-{enc}"}
        out.append({"fullUrl": f"urn:uuid:r{m}", "resource": resource})
    out += draw(st.lists(entries(), max_size=2))
    order = draw(st.permutations(range(len(out))))
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "collection", "entry": [out[i] for i in order]}
    if draw(st.integers(0, 3)) == 0:
        bundle["meta"] = {"profile": ["https://ipg-validator.org/fhir/StructureDefinition/ipg672-encounter-bundle"]}
    return bundle


bundles = st.one_of(bundles(), tidy_bundles())  # type: ignore[assignment]
anything = bundles | json_values | st.dictionaries(st.text(max_size=6), json_values).map(lambda d: {**d, "resourceType": "Bundle"})


# ---------------------------------------------------------------- helpers


def check_outcome(outcome: dict[str, Any]) -> None:
    OperationOutcome.model_validate(outcome)
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"]
    for issue in outcome["issue"]:
        assert issue["severity"] in ("fatal", "error", "warning", "information")
        assert isinstance(issue["code"], str) and issue["code"]
        (coding,) = issue["details"]["coding"]
        assert coding["system"] and coding["code"]
        assert isinstance(issue["details"]["text"], str) and issue["details"]["text"]
        if "expression" in issue:
            assert len(issue["expression"]) == 1
            assert issue["expression"][0].startswith("Bundle")
            assert issue["location"] == issue["expression"]


def rule_issues(outcome: dict[str, Any], rule_id: str) -> list[dict[str, Any]]:
    return [i for i in outcome["issue"] if i["details"]["coding"][0]["code"] == rule_id]


def coded_indices(bundle: dict[str, Any]) -> list[int]:
    found = bundle.get("entry")
    if not isinstance(found, list):
        return []
    return [n for n, e in enumerate(found) if isinstance(e, dict) and isinstance(e.get("resource"), dict) and e["resource"].get("resourceType") in ("Procedure", "Condition")]


def encounter_count(bundle: dict[str, Any]) -> int:
    found = bundle.get("entry")
    if not isinstance(found, list):
        return 0
    return sum(1 for e in found if isinstance(e, dict) and isinstance(e.get("resource"), dict) and e["resource"].get("resourceType") == "Encounter")


def at(expression: str, n: int) -> bool:
    place = f"Bundle.entry[{n}]"
    return expression == place or expression.startswith(place + ".")


# ---------------------------------------------------------------- properties


@SETTINGS
@given(bundles)
def test_generated_bundles_give_a_valid_outcome(bundle: dict[str, Any]) -> None:
    before = copy.deepcopy(bundle)
    outcome = validate_bundle(bundle, INDEX)
    assert bundle == before  # the input is not changed
    check_outcome(outcome)
    for issue in outcome["issue"]:
        assert "expression" in issue or issue["details"]["text"] == "No issues detected"


@SETTINGS
@given(anything)
def test_arbitrary_json_never_raises_and_gives_a_valid_outcome(value: Any) -> None:
    outcome = validate_bundle(value, INDEX) if isinstance(value, dict) else validate_bundle(json.dumps(value).encode(), INDEX)
    check_outcome(outcome)
    if not (isinstance(value, dict) and value.get("resourceType") == "Bundle"):
        assert len(outcome["issue"]) == 1
        assert outcome["issue"][0]["severity"] == "error"


@SETTINGS
@given(st.binary(max_size=40) | st.text(max_size=40))
def test_arbitrary_bytes_never_raise(data: bytes | str) -> None:
    check_outcome(validate_bundle(data, INDEX))


@SETTINGS
@given(bundles)
def test_deterministic(bundle: dict[str, Any]) -> None:
    first = validate_bundle(copy.deepcopy(bundle), INDEX)
    assert validate_bundle(copy.deepcopy(bundle), INDEX) == first
    assert validate_bundle(json.dumps(bundle).encode(), INDEX) == first


@SETTINGS
@given(bundles)
def test_nothing_dropped(bundle: dict[str, Any]) -> None:
    outcome = validate_bundle(bundle, INDEX)
    places = [i["expression"][0] for i in outcome["issue"] if "expression" in i]
    summary_texts = [i["details"]["text"] for i in rule_issues(outcome, "ipg672-summary")]
    judge = Judge(INDEX, set())
    for n in coded_indices(bundle):
        if any(at(p, n) for p in places):
            continue  # reported at its own place: unresolved, uncoded, ambiguous, a coding finding...
        items, _ = coded_items(judge.sources, bundle["entry"][n]["resource"], f"Bundle.entry[{n}].resource")
        assert items, f"entry {n} has no codes and no issue"
        for item in items:
            assert any(item.code in text for text in summary_texts), f"entry {n} code {item.code!r} in no summary"


@SETTINGS
@given(bundles)
def test_one_summary_per_encounter(bundle: dict[str, Any]) -> None:
    outcome = validate_bundle(bundle, INDEX)
    expected = encounter_count(bundle) or (1 if coded_indices(bundle) else 0)
    assert len(rule_issues(outcome, "ipg672-summary")) == expected
    if encounter_count(bundle) == 0 and coded_indices(bundle):
        assert len(rule_issues(outcome, "ipg672-no-encounter")) == 1


@SETTINGS
@given(bundles)
def test_ambiguous_only_with_several_encounters_and_unattributed_only_with_one(bundle: dict[str, Any]) -> None:
    outcome = validate_bundle(bundle, INDEX)
    count = encounter_count(bundle)
    if count != 1:
        assert not rule_issues(outcome, "ipg672-unattributed")
    if count < 2:
        assert not rule_issues(outcome, "ipg672-ambiguous-encounter")
    for issue in rule_issues(outcome, "ipg672-ambiguous-encounter") + rule_issues(outcome, "ipg672-unattributed"):
        (place,) = issue["expression"]
        assert any(place == f"Bundle.entry[{n}].resource" for n in coded_indices(bundle))
