"""The IPG672 profiles' invariants agree with the ValueSets and with the worked examples."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from ipg_validator import load_content

from conftest import ICD10_UK, OPCS4
from support.profiles import (
    BUNDLE_KEYS,
    EXAMPLES_DIR,
    ICD10_ALIASES,
    OPCS4_ALIASES,
    PROFILES,
    bundle_constraints,
    constraints,
    expansion,
    failing,
    read,
    rules,
    run,
    sirt_bundle,
)

# -- 3. the invariants agree with the ValueSets -------------------------------------------


def literal_codes(expression: str) -> set[str]:
    """The code literals of an expression: quoted strings that are not system URIs or patterns."""
    return {s for s in re.findall(r"'([^']*)'", expression) if re.fullmatch(r"[A-Z][0-9]{2}[0-9X]?", s)}


def dotless(code: str) -> set[str]:
    """The normalised forms an invariant must accept for a dotted FHIR code (C19 -> C19, C19X)."""
    bare = code.replace(".", "")
    return {bare, bare + "X"} if len(bare) == 3 else {bare}


def forms(codes: set[str]) -> set[str]:
    return {f for code in codes for f in dotless(code)}


def test_literal_codes_parse_as_expected() -> None:
    assert literal_codes("x in ('http://hl7.org/fhir/sid/icd-10' | 'C19' | 'C19X' | 'J123') and y.matches('^[YZ]')") == {"C19", "C19X", "J123"}
    assert forms({"C19", "C78.7"}) == {"C19", "C19X", "C787"}


def test_companion_invariants_match_companion_value_set() -> None:
    cons = bundle_constraints()
    companions = expansion("ipg672-companion-procedures")
    sirt = expansion("ipg672-sirt-procedure")
    keys = [k for k in cons if k.startswith("ipg672-companion-")]
    assert len(keys) == len(companions)  # one invariant per companion code
    required: set[str] = set()
    for key in keys:
        codes = literal_codes(cons[key]["expression"])
        assert forms(sirt) <= codes, key  # guarded by J12.3
        (own,) = codes - forms(sirt)
        required.add(own)
        assert key == "ipg672-companion-" + {c for c in companions if c.replace(".", "") == own}.pop().lower().replace(".", "-")
    assert required == forms(companions)


@pytest.mark.parametrize(
    ("key", "value_sets"),
    [
        ("ipg672-secondary-c78-7", ("ipg672-secondary",)),
        ("ipg672-primary", ("ipg672-primary",)),
        ("ipg672-primary-contradiction", ("ipg672-primary-eradicated", "ipg672-primary-present")),
        ("ipg672-sirt-first", ("ipg672-sirt-procedure",)),
        ("ipg672-sirt-required", ("ipg672-sirt-procedure",)),
        ("ipg672-secondary-first", ("ipg672-secondary",)),
    ],
)
def test_invariant_codes_match_value_sets(key: str, value_sets: tuple[str, ...]) -> None:
    expected: set[str] = set()
    for name in value_sets:
        members = expansion(name)
        assert members, name
        expected |= members
    assert literal_codes(bundle_constraints()[key]["expression"]) == forms(expected)


def test_primary_value_set_is_present_plus_eradicated() -> None:
    assert expansion("ipg672-primary") == expansion("ipg672-primary-present") | expansion("ipg672-primary-eradicated")


def test_contradiction_sides_match_value_sets() -> None:
    left, right = bundle_constraints()["ipg672-primary-contradiction"]["expression"].split(" and entry.")
    assert literal_codes(left) == forms(expansion("ipg672-primary-eradicated"))
    assert literal_codes(right) == forms(expansion("ipg672-primary-present"))


def test_subsidiary_pattern_matches_subsidiary_value_set() -> None:
    expression = bundle_constraints()["ipg672-subsidiary-not-first"]["expression"]
    (pattern,) = re.findall(r"matches\('([^']*)'\)", expression)
    subsidiary = expansion("opcs4-subsidiary")
    assert subsidiary
    fragment = next(cs for cs in load_content().resources["CodeSystem"] if cs["url"] == OPCS4)

    def walk(concepts: list[dict[str, Any]]) -> list[str]:
        return [code for c in concepts for code in (c["code"], *walk(c.get("concept", [])))]

    codes = walk(fragment["concept"])
    assert {"J12.3", "X65.3", "Y53.4", "Y89"} <= set(codes)
    for code in codes:
        assert bool(re.search(pattern, code.replace(".", ""))) == (code in subsidiary), code


def test_invariant_systems_match_naming_systems() -> None:
    aliases = dict(load_content().aliases)
    expected = {OPCS4, ICD10_UK, *aliases}
    assert {alias for alias, canonical in aliases.items() if canonical == OPCS4} == set(OPCS4_ALIASES)
    assert {alias for alias, canonical in aliases.items() if canonical == ICD10_UK} == set(ICD10_ALIASES)
    used = {s for id_ in PROFILES for c in constraints(id_) for s in re.findall(r"'((?:https?|urn):[^']*)'", c["expression"])}
    assert used == expected


# -- 4. the invariants agree with the worked examples -------------------------------------

# The guidance rules whose errors the encounter-bundle invariants mirror, and whose warnings.
MIRRORED = {"ipg672-companion-required", "ipg672-secondary-required", "ipg672-primary-required", "ipg672-subsidiary-not-first"}
MIRRORED_WARNINGS = {"ipg672-primary-contradiction", "ipg672-sirt-first", "ipg672-secondary-first"}
OPCS4_SYSTEMS = {OPCS4, *OPCS4_ALIASES}


def expected_path(example: Path) -> Path:
    return example.with_name(example.name[: -len(".json")] + ".expected.json")


def example_pairs() -> list[tuple[Path, Path]]:
    if not EXAMPLES_DIR.is_dir():
        return []
    return sorted(
        (p, expected_path(p))
        for p in EXAMPLES_DIR.rglob("*.json")
        if not p.name.endswith(".expected.json") and expected_path(p).is_file()
    )


def resources_of(bundle: dict[str, Any], kind: str) -> list[tuple[int, dict[str, Any]]]:
    return [(n, e["resource"]) for n, e in enumerate(bundle.get("entry", [])) if (e.get("resource") or {}).get("resourceType") == kind]


def rank_order_is_entry_order(bundle: dict[str, Any], kind: str) -> bool:
    """Whether the rule engine reads `kind` resources in entry order.

    The engine puts the targets of the Encounter's ranked `diagnosis` first, by rank, and the
    unranked after them in entry order; the invariants only know entry order.
    """
    names: dict[str, int] = {}
    for n, entry in enumerate(bundle.get("entry", [])):
        resource = entry.get("resource") or {}
        if entry.get("fullUrl"):
            names[entry["fullUrl"]] = n
        if resource.get("id"):
            names[f"{resource.get('resourceType')}/{resource['id']}"] = n
    ranks: dict[int, tuple[int, int]] = {}
    for _, encounter in resources_of(bundle, "Encounter"):
        for m, diagnosis in enumerate(encounter.get("diagnosis", [])):
            target = names.get((diagnosis.get("condition") or {}).get("reference", ""))
            rank = diagnosis.get("rank")
            if target is not None and isinstance(rank, int) and not isinstance(rank, bool):
                ranks.setdefault(target, (rank, m))
    entry_order = [n for n, _ in resources_of(bundle, kind)]
    engine_order = sorted(entry_order, key=lambda n: (0, *ranks[n]) if n in ranks else (1, n, 0))
    return engine_order == entry_order


def _status_decides(bundle: Any) -> bool:
    """Whether a record status the rules name keeps codes from counting (not-done, refuted) or the rules from applying (cancelled)."""
    named = {(path, value) for rule in rules().values() if rule["kind"] in ("not-counted", "encounter-status")
             for path, values in rule["statuses"].items() for value in values}
    for entry in bundle.get("entry", []):
        resource = entry.get("resource") or {}
        for path, value in named:
            kind, element = path.split(".")
            if resource.get("resourceType") != kind:
                continue
            found = resource.get(element)
            codes = [found] if isinstance(found, str) else [c.get("code") for c in (found or {}).get("coding", [])] if isinstance(found, dict) else []
            if value in codes:
                return True
    return False


def comparable(bundle: Any, kinds: tuple[str, ...] = ("Procedure",)) -> bool:
    """Whether the invariants can judge this example the way the rule engine does.

    The invariants read the whole Bundle as one encounter, take procedures (and diagnoses) in
    entry order and apply only when an OPCS-4 J12.3 is present. The rule engine groups by
    Encounter, orders by the Encounter's diagnosis ranks when given, reads its first procedure
    from the first coding of any system, and applies every rule once the caller names the profile
    even without J12.3. Examples where these differ are left out of the comparison (they are still
    checked to have their expected outcome beside them).
    """
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return False
    if len(resources_of(bundle, "Encounter")) > 1:  # several encounters: the engine judges each on its own
        return False
    if _status_decides(bundle):  # the invariants read codes only; the engine also reads record statuses
        return False
    if not all(rank_order_is_entry_order(bundle, kind) for kind in kinds):  # ranked out of entry order
        return False
    for _, proc in resources_of(bundle, "Procedure"):
        codings = (proc.get("code") or {}).get("coding", [])
        if len(codings) > 1:  # several codings in one Procedure: one code string, not one Procedure each
            return False
        if any(c.get("system") not in OPCS4_SYSTEMS for c in codings):  # the engine's first procedure may be another system's
            return False
    systems = " | ".join(f"'{s}'" for s in sorted(OPCS4_SYSTEMS))
    sirt = run(f"entry.resource.ofType(Procedure).code.coding.where(system in ({systems}) "
               "and code.upper().replace('.', '').trim() = 'J123').exists()", bundle)
    return sirt == [True]  # without J12.3 the engine applies the rules only when the profile is asked for


CASES = example_pairs()


def test_examples_layout() -> None:
    """Every example bundle has its expected outcome beside it (an empty or absent folder is fine)."""
    if not EXAMPLES_DIR.is_dir():
        return
    for path in EXAMPLES_DIR.rglob("*.json"):
        if path.name.endswith(".expected.json"):
            expected = read(path)
            assert isinstance(expected.get("conforms"), bool), path.name
            for issue in expected.get("issues", []):
                assert {"severity", "code"} <= set(issue), (path.name, issue)
        else:
            assert expected_path(path).is_file(), f"{path.name} has no .expected.json"


def test_rank_order_check() -> None:
    bundle = sirt_bundle()
    assert rank_order_is_entry_order(bundle, "Procedure") and rank_order_is_entry_order(bundle, "Condition")
    encounter = bundle["entry"][0]["resource"]
    encounter["diagnosis"] = [{"condition": {"reference": "Condition/cond-0"}, "rank": 1}, {"condition": {"reference": "Procedure/proc-3"}, "rank": 1}]
    assert rank_order_is_entry_order(bundle, "Condition")
    assert not rank_order_is_entry_order(bundle, "Procedure")  # Y53.4 ranked ahead of J12.3
    assert not comparable(bundle)


def mirrored_outcome(example: Path, expected_file: Path, severity: str, mirrored: set[str]) -> tuple[set[str], set[str]]:
    keys = {key: rule_id for key, (rule_id, sev) in BUNDLE_KEYS.items() if sev == severity}
    failed = {keys[key] for key in failing(read(example)) if key in keys}
    wanted = {i["code"] for i in read(expected_file).get("issues", []) if i.get("severity") == severity and i.get("code") in mirrored}
    return failed, wanted


@pytest.mark.parametrize(
    ("example", "expected_file"),
    [pytest.param(e, x, id=e.relative_to(EXAMPLES_DIR).as_posix()) for e, x in CASES if comparable(read(e))],
)
def test_example_errors_match_invariants(example: Path, expected_file: Path) -> None:
    failed, wanted = mirrored_outcome(example, expected_file, "error", MIRRORED)
    assert failed == wanted, f"{example.name}: error invariants fail {sorted(failed)}, expected errors {sorted(wanted)}"


@pytest.mark.parametrize(
    ("example", "expected_file"),
    [pytest.param(e, x, id=e.relative_to(EXAMPLES_DIR).as_posix()) for e, x in CASES if comparable(read(e), ("Procedure", "Condition"))],
)
def test_example_warnings_match_invariants(example: Path, expected_file: Path) -> None:
    failed, wanted = mirrored_outcome(example, expected_file, "warning", MIRRORED_WARNINGS)
    assert failed == wanted, f"{example.name}: warning invariants fail {sorted(failed)}, expected warnings {sorted(wanted)}"
