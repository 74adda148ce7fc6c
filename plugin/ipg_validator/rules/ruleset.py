"""Guidance rule sets read from `*.rules.json`: each rule an id, a kind, a severity and a message template.

Adding a guidance's rules means adding such a file (and the ValueSets it names), not code:
the kinds are the vocabulary the engine understands.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

GUIDANCE_KINDS = frozenset({
    "require-each", "require-any", "first-not-in", "first-in", "not-together", "at-most-one", "each-outside", "single-coding",
})
BUNDLE_KINDS = frozenset({
    "out-of-scope", "unattributed", "no-encounter", "ambiguous-encounter", "unresolved-reference", "subject-mismatch", "uncoded", "summary",
})
SEVERITIES = frozenset({"error", "warning", "information"})
# FHIR R4 IssueType codes: a rule's `code` becomes OperationOutcome.issue.code.
ISSUE_TYPES = frozenset({
    "invalid", "structure", "required", "value", "invariant", "security", "login", "unknown", "expired", "forbidden",
    "suppressed", "processing", "not-supported", "duplicate", "multiple-matches", "not-found", "deleted", "too-long",
    "code-invalid", "extension", "too-costly", "business-rule", "conflict", "transient", "lock-error", "no-store",
    "exception", "timeout", "incomplete", "throttled", "informational",
})
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
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
    standard_text: str | None = None  # `{standard}` in the message: the standard named and said what it is

    def text(self, **values: Any) -> str:
        """The message with its `{name}` placeholders filled; a missing value is left visible, never an error."""
        if self.standard_text is not None and "standard" not in values:
            values["standard"] = self.standard_text
        template, names = self._template
        text = template.format_map(values if names <= values.keys() else _Visible(values))
        text = " ".join(text.split())  # an empty value (a code with no known title) leaves no gap
        return text[:1].upper() + text[1:]

    @cached_property
    def _template(self) -> tuple[str, frozenset[str]]:
        """The message as a str.format template (other braces doubled), and its placeholder names."""
        parts = PLACEHOLDER.split(self.message)  # literal text at even places, names at odd ones
        template = "".join(part.replace("{", "{{").replace("}", "}}") if n % 2 == 0 else "{" + part + "}" for n, part in enumerate(parts))
        return template, frozenset(parts[1::2])


class _Visible(dict[str, Any]):
    """Placeholder values where a missing one reads as the placeholder itself."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


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
        rule = self._by_kind.get(kind)
        if rule is None:
            raise KeyError(f"rule set {self.id!r} has no rule of kind {kind!r}")
        return rule

    @cached_property
    def _by_kind(self) -> dict[str, Rule]:
        return {kind: next(r for r in self.rules if r.kind == kind) for kind in {r.kind for r in self.rules}}

    @cached_property
    def guidance_rules(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.kind in GUIDANCE_KINDS)


def read_rule_set(data: Any) -> RuleSet:
    """Check and type a rule file's content; RuleError says which rule is wrong and why."""
    if not isinstance(data, Mapping) or not isinstance(data.get("rules"), list):
        raise RuleError("a rules file is an object with a 'rules' list")
    name = data.get("id")
    standards = data.get("standards", {})
    if not isinstance(standards, Mapping) or not all(isinstance(v, str) and v.strip() for v in standards.values()):
        raise RuleError(f"rule set {name!r}: 'standards' maps a standard's id to the words that say what it is")
    rules = tuple(_rule(n, r, standards) for n, r in enumerate(data["rules"]))
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RuleError(f"rule set {name!r}: duplicate rule id {rule.id!r}")
        seen.add(rule.id)
    missing = sorted(BUNDLE_KINDS - {r.kind for r in rules})
    if missing:
        raise RuleError(f"rule set {name!r}: no rule words the bundle findings {', '.join(missing)}")
    scope = data.get("scope")
    if not isinstance(scope, Mapping) or _text(scope.get("in")) not in LISTS or not _text(scope.get("valueSet")):
        raise RuleError(f"rule set {name!r}: scope needs 'in' (procedures or diagnoses) and a valueSet")
    if not _text(data.get("ruleSystem")):
        raise RuleError(f"rule set {name!r}: needs a ruleSystem URI for the rule ids")
    return RuleSet(
        id=str(name), title=str(data.get("title", name)), rule_system=data["ruleSystem"],
        profile=_text(data.get("profile")), scope_target=scope["in"], scope_value_set=scope["valueSet"], rules=rules,
    )


def _rule(n: int, data: Any, standards: Mapping[str, str]) -> Rule:
    if not isinstance(data, Mapping) or not _text(data.get("id")):
        raise RuleError(f"rules[{n}] needs an id")
    where = f"rules[{n}] ({data['id']})"
    kind = _text(data.get("kind"))
    if kind not in GUIDANCE_KINDS | BUNDLE_KINDS:
        raise RuleError(f"{where}: unknown kind {data.get('kind')!r}")
    if _text(data.get("severity")) not in SEVERITIES:
        raise RuleError(f"{where}: severity must be one of {', '.join(sorted(SEVERITIES))}")
    code = data.get("code", "business-rule")
    if _text(code) not in ISSUE_TYPES:
        raise RuleError(f"{where}: code {code!r} is not a FHIR IssueType")
    message = data.get("message")
    if not isinstance(message, str) or not message.strip():
        raise RuleError(f"{where}: needs a message template")
    stray = PLACEHOLDER.sub("", message)
    if "{" in stray or "}" in stray:
        raise RuleError(f"{where}: the message has a brace that is not a {{name}} placeholder")
    raw_sets = data.get("valueSets") if data.get("valueSets") is not None else ([data["valueSet"]] if data.get("valueSet") else [])
    if not isinstance(raw_sets, list) or not all(_text(v) for v in raw_sets):
        raise RuleError(f"{where}: valueSet(s) must be canonical URLs")
    needs = {"not-together": 2, "single-coding": 0}.get(kind, 1 if kind in GUIDANCE_KINDS else 0)
    if len(raw_sets) != needs:
        raise RuleError(f"{where}: kind {kind} needs {needs} value set(s)")
    target = _text(data.get("in"))
    if kind in GUIDANCE_KINDS and target not in LISTS:
        raise RuleError(f"{where}: 'in' must be procedures or diagnoses")
    return Rule(
        id=data["id"], kind=kind, severity=data["severity"], code=code, message=message,
        standard=_text(data.get("standard")), target=target, value_sets=tuple(raw_sets),
        standard_text=_standard_text(where, _text(data.get("standard")), standards, message),
    )


def _standard_text(where: str, standard: str | None, standards: Mapping[str, str], message: str) -> str | None:
    """What `{standard}` reads as: the rule set's words for the rule's standard (else its bare id)."""
    if "{standard}" not in message:
        return None
    if standard is None:
        raise RuleError(f"{where}: the message says {{standard}} but the rule names no standard")
    return standards.get(standard, standard)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
