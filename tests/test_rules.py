"""Guidance rule sets: reading and checking `*.rules.json`, load-time checks and rule texts."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from ipg_validator.content.index import ContentIndex
from ipg_validator.content.loader import ContentError, load_content
from ipg_validator.content.ruleset import BUNDLE_KINDS, ENCOUNTER_KINDS, GUIDANCE_KINDS, Rule, RuleError, RuleSet, read_rule_set

from conftest import BUNDLE_RULES_FILE

from support.rules import PROFILE, RULE_SYSTEM, rule_index, rules, shipped_rules_data  # noqa: F401  (rules: a fixture)

# ---------------------------------------------------------------- the shipped rule set


def test_shipped_rule_set_loads(index: ContentIndex, rules: RuleSet) -> None:
    assert [r.id for r in index.rule_sets] == ["ipg672"]
    assert index.bundle_rules is not None and index.bundle_rules.packs == index.rule_sets and rules.base is not None
    assert {r.kind for r in index.bundle_rules.rules} == BUNDLE_KINDS and rules.guidance == "IPG672"
    assert rules.rule_system == RULE_SYSTEM
    assert rules.profile == PROFILE
    assert rules.scope_target == "procedures"
    assert rules.scope_value_set == "https://ipg-validator.org/fhir/ValueSet/ipg672-sirt-procedure"
    kinds = {r.kind for r in rules.rules}
    assert ENCOUNTER_KINDS <= kinds and not kinds & BUNDLE_KINDS  # the Bundle-level kinds are worded once, in bundle.rules.json
    assert {r.kind for r in rules.guidance_rules} == GUIDANCE_KINDS
    assert rules.of_kind("classification") is index.bundle_rules.of_kind("classification")  # a pack asks its Bundle level
    assert len({r.id for r in rules.rules}) == len(rules.rules) == len(shipped_rules_data()["rules"])
    assert rules.of_kind("summary").id == "ipg672-summary"
    companion = next(r for r in rules.rules if r.id == "ipg672-companion-required")
    assert (companion.kind, companion.severity, companion.target) == ("require-each", "error", "procedures")
    assert companion.value_sets == ("https://ipg-validator.org/fhir/ValueSet/ipg672-companion-procedures",)
    contradiction = next(r for r in rules.rules if r.id == "ipg672-primary-contradiction")
    assert len(contradiction.value_sets) == 2


def test_shipped_severities_follow_the_reference(rules: RuleSet) -> None:
    # reference: missing companion, Y/Z first, missing C78.7 / primary are errors; J12.3 not first,
    # C78.7 not first, Z85.0 with C18-C20 are warnings; Y89 absent, synchronous primaries, outside
    # procedures are information.
    severity = {r.id: r.severity for r in rules.rules}
    assert severity["ipg672-companion-required"] == "error"
    assert severity["ipg672-subsidiary-not-first"] == "error"
    assert severity["ipg672-secondary-required"] == "error"
    assert severity["ipg672-primary-required"] == "error"
    assert severity["ipg672-sirt-first"] == "warning"
    assert severity["ipg672-secondary-first"] == "warning"
    assert severity["ipg672-primary-contradiction"] == "warning"
    assert severity["ipg672-brachytherapy-optional"] == "information"
    assert severity["ipg672-synchronous-primaries"] == "information"
    assert severity["ipg672-procedure-outside"] == "information"


def test_of_kind_unknown_raises_key_error(rules: RuleSet) -> None:
    with pytest.raises(KeyError, match="no-such-kind"):
        rules.of_kind("no-such-kind")


# ---------------------------------------------------------------- read_rule_set rejects


def _broken(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(shipped_rules_data())
    change(data)
    return data


def _set(rule_id: str, **values: Any) -> Any:
    def change(data: dict[str, Any]) -> None:
        data["rules"][rule_index(data, rule_id)].update(values)
    return change


def _drop(rule_id: str, key: str) -> Any:
    def change(data: dict[str, Any]) -> None:
        del data["rules"][rule_index(data, rule_id)][key]
    return change


@pytest.mark.parametrize(("rule_id", "change", "problem"), [
    ("ipg672-companion-required", _set("ipg672-companion-required", kind="require-all"), "unknown kind"),
    ("ipg672-sirt-first", _set("ipg672-sirt-first", severity="fatal-ish"), "severity"),
    ("ipg672-sirt-first", _set("ipg672-sirt-first", severity="Warning"), "severity"),
    ("ipg672-summary", _drop("ipg672-summary", "message"), "message"),
    ("ipg672-summary", _set("ipg672-summary", message=["not", "a", "string"]), "message"),
    ("ipg672-primary-contradiction", _set("ipg672-primary-contradiction", valueSets=["https://ipg-validator.org/fhir/ValueSet/ipg672-primary"]), "2 value set"),
    ("ipg672-companion-required", _drop("ipg672-companion-required", "valueSet"), "1 value set"),
    ("ipg672-one-code-per-procedure", _set("ipg672-one-code-per-procedure", valueSet="https://ipg-validator.org/fhir/ValueSet/ipg672-procedures"), "0 value set"),
    ("ipg672-summary", _set("ipg672-summary", valueSet="https://ipg-validator.org/fhir/ValueSet/ipg672-procedures"), "0 value set"),
    ("ipg672-sirt-first", _drop("ipg672-sirt-first", "in"), "'in'"),
    ("ipg672-sirt-first", _set("ipg672-sirt-first", **{"in": "observations"}), "'in'"),
])
def test_read_rule_set_rejects_a_broken_rule(rule_id: str, change: Any, problem: str) -> None:
    with pytest.raises(RuleError) as raised:
        read_rule_set(_broken(change))
    assert rule_id in str(raised.value)
    assert problem in str(raised.value)


def test_read_rule_set_rejects_duplicate_ids_naming_the_rule() -> None:
    def duplicate(data: dict[str, Any]) -> None:
        copy_of = dict(data["rules"][rule_index(data, "ipg672-sirt-first")])
        copy_of["message"] = "another message"
        data["rules"].append(copy_of)
    with pytest.raises(RuleError) as raised:
        read_rule_set(_broken(duplicate))
    assert "duplicate" in str(raised.value)
    # The error must say WHICH id is duplicated, as every other RuleError names its rule.
    assert "ipg672-sirt-first" in str(raised.value)


@pytest.mark.parametrize("kind", sorted(BUNDLE_KINDS))
def test_read_rule_set_rejects_a_missing_bundle_level_kind(kind: str) -> None:
    data = json.loads(BUNDLE_RULES_FILE.read_text(encoding="utf-8"))
    data["rules"] = [r for r in data["rules"] if r["kind"] != kind]
    with pytest.raises(RuleError, match=kind) as raised:
        read_rule_set(data)
    assert "'bundle'" in str(raised.value)


@pytest.mark.parametrize("kind", sorted(ENCOUNTER_KINDS))
def test_read_rule_set_rejects_a_pack_missing_an_encounter_kind(kind: str) -> None:
    def drop_kind(data: dict[str, Any]) -> None:
        data["rules"] = [r for r in data["rules"] if r["kind"] != kind]
    with pytest.raises(RuleError, match=kind) as raised:
        read_rule_set(_broken(drop_kind))
    assert "'ipg672'" in str(raised.value)


def test_a_pack_that_words_a_bundle_level_kind_is_refused_naming_where_it_belongs() -> None:
    bundle_rule = next(r for r in json.loads(BUNDLE_RULES_FILE.read_text(encoding="utf-8"))["rules"] if r["kind"] == "unattributed")

    def add(data: dict[str, Any]) -> None:
        data["rules"].append({**bundle_rule, "id": "ipg672-own-unattributed"})
    with pytest.raises(RuleError, match="unattributed belong in the Bundle-level rules file"):
        read_rule_set(_broken(add))


def test_a_rules_file_of_an_unknown_level_is_refused() -> None:
    with pytest.raises(RuleError, match="level is 'bundle'"):
        read_rule_set(_broken(lambda data: data.update(level="encounter")))


@pytest.mark.parametrize("scope", [
    None,
    {},
    {"in": "observations", "valueSet": "https://ipg-validator.org/fhir/ValueSet/ipg672-sirt-procedure"},
    {"in": "procedures"},
    {"in": "procedures", "valueSet": ""},
])
def test_read_rule_set_rejects_bad_scope(scope: Any) -> None:
    def change(data: dict[str, Any]) -> None:
        if scope is None:
            del data["scope"]
        else:
            data["scope"] = scope
    with pytest.raises(RuleError, match="scope") as raised:
        read_rule_set(_broken(change))
    assert "'ipg672'" in str(raised.value)


@pytest.mark.parametrize(("change", "rule_id"), [
    (_set("ipg672-companion-required", kind=["require-each"]), "ipg672-companion-required"),
    (_set("ipg672-sirt-first", severity={"level": "warning"}), "ipg672-sirt-first"),
    (_set("ipg672-sirt-first", **{"in": ["procedures"]}), "ipg672-sirt-first"),
])
def test_read_rule_set_rejects_non_string_values_with_rule_error(change: Any, rule_id: str) -> None:
    # A JSON array or object where a string belongs is a broken rule like any other:
    # RuleError naming the rule, not a TypeError from hashing it.
    with pytest.raises(RuleError) as raised:
        read_rule_set(_broken(change))
    assert rule_id in str(raised.value)


def test_read_rule_set_rejects_a_scope_that_is_not_an_object() -> None:
    def change(data: dict[str, Any]) -> None:
        data["scope"] = "procedures"
    with pytest.raises(RuleError, match="scope"):
        read_rule_set(_broken(change))


def test_read_rule_set_rejects_a_rule_without_id_with_rule_error() -> None:
    position = rule_index(_broken(lambda data: None), "ipg672-companion-required")
    with pytest.raises(RuleError, match=rf"rules\[{position}\]"):
        read_rule_set(_broken(_drop("ipg672-companion-required", "id")))


def test_read_rule_set_rejects_an_issue_type_fhir_does_not_define() -> None:
    # `code` becomes OperationOutcome.issue.code, a required binding to IssueType.
    with pytest.raises(RuleError) as raised:
        read_rule_set(_broken(_set("ipg672-sirt-first", code="not-an-issue-type")))
    assert "ipg672-sirt-first" in str(raised.value)


def test_read_rule_set_rejects_a_malformed_message_template() -> None:
    # A template that cannot be formatted would otherwise fail in the middle of a validation.
    with pytest.raises(RuleError) as raised:
        read_rule_set(_broken(_set("ipg672-sirt-first", message="J12.3 is procedure {position of {encounter}")))
    assert "ipg672-sirt-first" in str(raised.value)


def test_read_rule_set_defaults_and_optional_fields() -> None:
    data = _broken(_drop("ipg672-sirt-first", "code"))
    rule = next(r for r in read_rule_set(data).rules if r.id == "ipg672-sirt-first")
    assert rule.code == "business-rule"
    assert rule.target == "procedures"
    out_of_scope = next(r for r in read_rule_set(data).rules if r.id == "ipg672-out-of-scope")
    assert out_of_scope.target is None and out_of_scope.value_sets == ()


# ---------------------------------------------------------------- load-time checks


def _write_rules(folder: Path, data: dict[str, Any], name: str = "other.rules.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _other(data: dict[str, Any]) -> dict[str, Any]:
    """The rule set as a second pack: id `other`, its rule ids its own (rule ids are unique across the loaded rules)."""
    data["id"] = "other"
    for rule in data["rules"]:
        rule["id"] = rule["id"].replace("ipg672-", "other-")
    return data


def test_rules_naming_a_value_set_not_loaded_fail_at_load(tmp_path: Path) -> None:
    missing = "https://example.org/fhir/ValueSet/not-loaded"
    data = _other(_broken(_set("ipg672-companion-required", valueSet=missing)))
    _write_rules(tmp_path, data)
    with pytest.raises(ContentError) as raised:
        load_content([tmp_path])
    assert missing in str(raised.value)
    assert "other" in str(raised.value)


def test_rules_scope_naming_a_value_set_not_loaded_fail_at_load(tmp_path: Path) -> None:
    missing = "https://example.org/fhir/ValueSet/scope-not-loaded"
    data = _other(shipped_rules_data())
    data["scope"]["valueSet"] = missing
    _write_rules(tmp_path, data)
    with pytest.raises(ContentError, match="scope-not-loaded"):
        load_content([tmp_path])


def test_broken_rules_file_is_a_content_error_naming_the_file(tmp_path: Path) -> None:
    data = _broken(_set("ipg672-sirt-first", kind="nonsense"))
    path = _write_rules(tmp_path, data)
    with pytest.raises(ContentError) as raised:
        load_content([tmp_path])
    assert raised.value.path == str(path)
    assert "ipg672-sirt-first" in raised.value.problem


def test_rules_file_with_non_string_kind_is_a_content_error(tmp_path: Path) -> None:
    # The loader promises a ContentError naming the file for any broken content file.
    _write_rules(tmp_path, _broken(_set("ipg672-sirt-first", kind=["first-in"])))
    with pytest.raises(ContentError):
        load_content([tmp_path])


def test_a_second_valid_rules_file_loads_beside_the_shipped_one(tmp_path: Path) -> None:
    data = _other(shipped_rules_data())
    _write_rules(tmp_path, data)
    loaded = load_content([tmp_path])
    assert [r.id for r in loaded.rule_sets] == ["ipg672", "other"]
    del data["rules"][0]["id"]
    data["rules"][0]["id"] = "ipg672-sirt-required"  # a rule id the shipped pack has: refused by name
    _write_rules(tmp_path, data)
    with pytest.raises(ContentError, match="rule id 'ipg672-sirt-required' is already a rule of ipg672"):
        load_content([tmp_path])


# ---------------------------------------------------------------- Rule.text


def _rule(message: str) -> Rule:
    return Rule("r", "summary", "information", "informational", message)


def test_rule_text_fills_known_and_leaves_unknown_placeholders_visible() -> None:
    text = _rule("Add {code} {display} to {encounter}").text(code="X65.3", encounter="Encounter/e1")
    assert text == "Add X65.3 {display} to Encounter/e1"


def test_rule_text_of_the_shipped_companion_rule(rules: RuleSet) -> None:
    rule = next(r for r in rules.rules if r.id == "ipg672-companion-required")
    assert rule.text(code="X65.3") == ("Add OPCS-4 X65.3 {display}: with J12.3, national clinical coding standard PCSJ1 "
                                       "'Selective internal radiotherapy (SIRT) of liver using microspheres (J12.3)' requires it "
                                       "(missing from {encounter}){not_counted}")


def test_rule_texts_say_what_a_standard_is(rules: RuleSet) -> None:
    """PCSJ1 and DCS.II.1 are never named bare: each message naming one says it is a national coding standard."""
    for rule in rules.rules:
        text = rule.text()
        for standard in ("PCSJ1", "DCS.II.1"):
            if standard in text:
                assert f"national clinical coding standard {standard} '" in text, rule.id


def test_standard_placeholder_needs_a_standard() -> None:
    data = shipped_rules_data()
    n = rule_index(data, "ipg672-companion-required")
    del data["rules"][n]["standard"]
    with pytest.raises(RuleError, match="names no standard"):
        read_rule_set(data)
    data = shipped_rules_data()
    data["standards"] = {"PCSJ1": 5}
    with pytest.raises(RuleError, match="standards"):
        read_rule_set(data)


@pytest.mark.parametrize(("message", "visible"), [
    ("see {resource.id}", "{resource.id}"), ("see {codes[0]}", "{codes[0]}"), ("see {0}", "{0}"), ("see {}", "{}"),
])
def test_rule_text_never_raises_on_an_unfilled_placeholder(message: str, visible: str) -> None:
    # "a missing value is left visible, never an error": a rules file is content, and a
    # placeholder its author got wrong must not fail a validation.
    assert _rule(message).text(code="x") == "See " + visible  # messages start with a capital


def test_the_summary_verdicts_are_worded_in_the_rules_file() -> None:
    """The summary's three verdicts come from the rule set (a second guidance words its own), and a summary
    rule without them is refused by name, not a KeyError at the first encounter."""
    data = shipped_rules_data()
    summary = data["rules"][rule_index(data, "ipg672-summary")]
    rules = read_rule_set(data)
    assert {k: rules.of_kind("summary").phrase(k, errors="2 errors") for k in ("not-applied", "coded", "not-coded")} == {
        k: v.replace("{errors}", "2 errors") for k, v in summary["messages"].items()}
    summary["messages"] = {"coded": "fine"}
    with pytest.raises(RuleError, match="ipg672-summary.*not-applied, not-coded missing"):
        read_rule_set(data)
