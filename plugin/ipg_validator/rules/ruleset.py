"""Guidance rule sets read from `*.rules.json`: each rule an id, a kind, a severity and a message template.

Adding a guidance's rules means adding such a file (and the ValueSets it names), not code:
the kinds are the vocabulary the engine understands.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

GUIDANCE_KINDS = frozenset({
    "require-each", "require-any", "first-not-in", "first-in", "not-together", "at-most-one", "each-outside", "single-coding",
})
BUNDLE_KINDS = frozenset({
    "out-of-scope", "unattributed", "no-encounter", "ambiguous-encounter", "unresolved-reference", "subject-mismatch", "uncoded", "summary",
})
SEVERITIES = frozenset({"error", "warning", "information"})
LISTS = frozenset({"procedures", "diagnoses"})


class RuleError(ValueError):
    """A rule file the engine cannot use; names the rule and the problem."""


@dataclass(frozen=True)
class Rule:
    """One rule: what it checks (`kind` over the `in` list and value sets) and what it says."""

    id: str
    kind: str
    severity: str
    code: str  # FHIR IssueType
    message: str
    standard: str | None = None
    target: str | None = None  # "procedures" or "diagnoses"
    value_sets: tuple[str, ...] = ()

    def text(self, **values: Any) -> str:
        """The message with its placeholders filled; a missing value is left visible, never an error."""
        return string.Formatter().vformat(self.message, (), _Visible(values))


@dataclass(frozen=True)
class RuleSet:
    """The rules of one guidance, the value set that brings an encounter into scope, and its profile."""

    id: str
    title: str
    rule_system: str
    profile: str | None
    scope_target: str
    scope_value_set: str
    rules: tuple[Rule, ...]

    def of_kind(self, kind: str) -> Rule:
        """The rule that words a bundle-level finding of this kind."""
        for rule in self.rules:
            if rule.kind == kind:
                return rule
        raise KeyError(f"rule set {self.id!r} has no rule of kind {kind!r}")

    @property
    def guidance_rules(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.kind in GUIDANCE_KINDS)


def read_rule_set(data: Mapping[str, Any]) -> RuleSet:
    """Check and type a rule file's content; RuleError says which rule is wrong and why."""
    rules = tuple(_rule(n, r) for n, r in enumerate(data.get("rules", [])))
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise RuleError(f"rule set {data.get('id')!r}: duplicate rule ids")
    missing = sorted(BUNDLE_KINDS - {r.kind for r in rules})
    if missing:
        raise RuleError(f"rule set {data.get('id')!r}: no rule words the bundle findings {', '.join(missing)}")
    scope = data.get("scope") or {}
    if scope.get("in") not in LISTS or not scope.get("valueSet"):
        raise RuleError(f"rule set {data.get('id')!r}: scope needs 'in' (procedures or diagnoses) and a valueSet")
    return RuleSet(
        id=str(data.get("id")), title=str(data.get("title", data.get("id"))), rule_system=str(data["ruleSystem"]),
        profile=data.get("profile"), scope_target=scope["in"], scope_value_set=scope["valueSet"], rules=rules,
    )


def _rule(n: int, data: Mapping[str, Any]) -> Rule:
    where = f"rules[{n}] ({data.get('id', 'no id')})"
    kind = data.get("kind")
    if kind not in GUIDANCE_KINDS | BUNDLE_KINDS:
        raise RuleError(f"{where}: unknown kind {kind!r}")
    if data.get("severity") not in SEVERITIES:
        raise RuleError(f"{where}: severity must be one of {', '.join(sorted(SEVERITIES))}")
    if not isinstance(data.get("message"), str):
        raise RuleError(f"{where}: needs a message template")
    value_sets = tuple(data.get("valueSets") or ([data["valueSet"]] if data.get("valueSet") else []))
    needs = {"not-together": 2, "single-coding": 0}.get(kind, 1 if kind in GUIDANCE_KINDS else 0)
    if len(value_sets) != needs:
        raise RuleError(f"{where}: kind {kind} needs {needs} value set(s)")
    if kind in GUIDANCE_KINDS and data.get("in") not in LISTS:
        raise RuleError(f"{where}: 'in' must be procedures or diagnoses")
    return Rule(
        id=data["id"], kind=kind, severity=data["severity"], code=data.get("code", "business-rule"), message=data["message"],
        standard=data.get("standard"), target=data.get("in"), value_sets=value_sets,
    )


class _Visible(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
