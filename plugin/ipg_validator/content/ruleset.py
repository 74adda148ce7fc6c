"""Rule sets read from `*.rules.json`: each rule an id, a kind, a severity and a message template.

Two levels. The Bundle-level rule set (`"level": "bundle"`, one per content) words what is found once
per Bundle: grouping, references, record statuses, other code systems, the classifications. A guidance
pack's rule set (one per guidance, `guidance/<id>/`) words its own rules and its verdict on each
encounter. Adding a guidance means adding such a file and the ValueSets it names, not code: the kinds
are the vocabulary the engine understands.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

# A guidance pack's rules on an encounter in its scope.
GUIDANCE_KINDS = frozenset({
    "require-each", "require-any", "first-not-in", "first-in", "not-together", "at-most-one", "each-outside", "single-coding",
    "status-contradicts",
})
# A guidance pack's verdict on each encounter: why it did not apply, and its summary. Every pack words each.
ENCOUNTER_KINDS = frozenset({"out-of-scope", "scope-not-counted", "scope-misclassified", "encounter-status", "summary"})
# Found once per Bundle, whatever the packs: the Bundle-level rule set words each.
BUNDLE_KINDS = frozenset({
    "unattributed", "no-encounter", "ambiguous-encounter", "unresolved-reference", "subject-mismatch", "uncoded",
    "classification", "system-beside", "system-only", "reference-type", "not-counted", "status-check",
})
BUNDLE_LEVEL, PACK_LEVEL = "bundle", "guidance"
# Kinds that name the record statuses they act on: {"Procedure.status": [...], "Condition.verificationStatus": [...]}.
STATUS_KINDS = frozenset({"not-counted", "status-check", "status-contradicts", "encounter-status"})
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
    statuses: tuple[tuple[str, frozenset[str]], ...] = ()  # ("Procedure.status", {"not-done", ...}), in file order
    systems: tuple[tuple[str, str], ...] = ()  # ("Procedure", OPCS-4 URI): the classification each resource type takes
    variants: tuple[tuple[str, str], ...] = ()  # other wordings of the message, by name ("fix")
    standard_text: str | None = None  # `{standard}` in a message: the standard named and said what it is
    system: str = ""  # the code system of the rule ids: details.coding.system of its findings

    def text(self, variant: str | None = None, **values: object) -> str:
        """The message (or its named variant) with its `{name}` placeholders filled; a missing value is left visible, never an error."""
        text = self.phrase(variant, **values)
        return text[:1].upper() + text[1:]

    def phrase(self, variant: str | None = None, **values: object) -> str:
        """As `text`, but as written (not capitalised): a wording that goes inside another message."""
        if self.standard_text is not None and "standard" not in values:
            values["standard"] = self.standard_text
        template, names = self._template if variant is None else _template(dict(self.variants)[variant])
        text = template.format_map(values if names <= values.keys() else _Visible(values))
        return " ".join(text.split())  # an empty value (a code with no known title) leaves no gap

    @cached_property
    def _template(self) -> tuple[str, frozenset[str]]:
        return _template(self.message)

    def status(self, kind: str, element: str, value: str | None) -> bool:
        """Whether `value` of `kind.element` ("Procedure", "status") is one of the statuses this rule names."""
        return value is not None and any(path == f"{kind}.{element}" and value in values for path, values in self.statuses)


def _template(message: str) -> tuple[str, frozenset[str]]:
    """A message as a str.format template (other braces doubled), and its placeholder names."""
    parts = PLACEHOLDER.split(message)  # literal text at even places, names at odd ones
    template = "".join(part.replace("{", "{{").replace("}", "}}") if n % 2 == 0 else "{" + part + "}" for n, part in enumerate(parts))
    return template, frozenset(parts[1::2])


class _Visible(dict[str, Any]):
    """Placeholder values where a missing one reads as the placeholder itself."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True)
class RuleSet:
    """The rules of one level: a guidance pack (its rules, the value set that brings an encounter into
    scope, its profile) or the Bundle level (what every pack reads of the Bundle's records)."""

    id: str
    title: str
    rule_system: str
    profile: str | None
    scope_target: str
    scope_value_set: str
    rules: tuple[Rule, ...]
    other_systems: tuple[tuple[str, str], ...] = ()  # code systems not held but named plainly: (URI, name)
    level: str = PACK_LEVEL
    guidance: str = ""  # the guidance's short name (IPG672), as the Bundle-level messages name the packs
    base: RuleSet | None = None  # a pack's Bundle-level rule set: the kinds the pack does not word itself
    packs: tuple[RuleSet, ...] = ()  # the Bundle level's packs: whose statuses its records keep, whose names it says
    version: str = ""
    folder: str | None = None  # where its rules file was loaded from: a pack's folder (its examples/ beside it)

    def of_kind(self, kind: str) -> Rule:
        """The rule that words a finding of this kind (a pack asks its Bundle level for the Bundle-level kinds)."""
        rule = self._by_kind.get(kind)
        if rule is None:
            if self.base is not None:
                return self.base.of_kind(kind)
            raise KeyError(f"rule set {self.id!r} has no rule of kind {kind!r}")
        return rule

    @cached_property
    def _by_kind(self) -> dict[str, Rule]:
        return {kind: next(r for r in self.rules if r.kind == kind) for kind in {r.kind for r in self.rules}}

    @cached_property
    def guidance_rules(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.kind in GUIDANCE_KINDS)

    @cached_property
    def status_elements(self) -> dict[str, tuple[tuple[str, frozenset[str]], ...]]:
        """Per resource type, the status elements some rule reads (its packs' rules too) and the values any
        rule names: what a coding keeps of its record."""
        found: dict[str, dict[str, set[str]]] = {}
        base = self.base.rules if self.base is not None else ()
        for rule in (*self.rules, *base, *(r for pack in self.packs for r in pack.rules)):
            for path, values in rule.statuses:
                kind, _, element = path.partition(".")
                found.setdefault(kind, {}).setdefault(element, set()).update(values)
        return {kind: tuple((e, frozenset(v)) for e, v in elements.items()) for kind, elements in found.items()}

    @cached_property
    def classification(self) -> dict[str, str]:
        """The classification each resource type is coded with ({"Procedure": OPCS-4 URI, ...}), from the classification rule."""
        return dict(self.of_kind("classification").systems)

    @cached_property
    def wrong_systems(self) -> dict[str, frozenset[str]]:
        """Per resource type, the classifications that do not fit it (ICD-10 on a Procedure)."""
        fit = self.classification
        return {kind: frozenset(fit.values()) - {system} for kind, system in fit.items()}

    @cached_property
    def not_counted(self) -> frozenset[tuple[str, str]]:
        """The (Resource.element, status) pairs whose codes do not count."""
        return frozenset((path, value) for path, values in self.of_kind("not-counted").statuses for value in values)

    @cached_property
    def guidance_names(self) -> dict[str, str]:
        """How the Bundle-level messages name the packs: `guidance` their short names, `guidance_titles` their titles."""
        packs = self.packs or ((self,) if self.level == PACK_LEVEL else ())
        return {"guidance": joined([p.guidance for p in packs]), "guidance_titles": joined([p.title for p in packs], "or")}

    def system_name(self, system: str | None) -> str | None:
        """The plain name of a code system this service does not hold but knows of (SNOMED CT), else None."""
        name = dict(self.other_systems).get(system or "")
        if name is None and self.base is not None:
            return self.base.system_name(system)
        return name


def joined(names: list[str], last: str = "and") -> str:
    """"A", "A and B", "A, B and C"."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {last} {names[-1]}" if names else ""


def read_rule_set(data: Any, base: RuleSet | None = None) -> RuleSet:
    """Check and type a rule file's content; RuleError says which rule is wrong and why.

    A guidance pack's file is read with `base`, the Bundle-level rule set it leaves the Bundle-level kinds to."""
    if not isinstance(data, Mapping) or not isinstance(data.get("rules"), list):
        raise RuleError("a rules file is an object with a 'rules' list")
    name = data.get("id")
    level = data.get("level", PACK_LEVEL)
    if level not in (BUNDLE_LEVEL, PACK_LEVEL):
        raise RuleError(f"rule set {name!r}: level is {BUNDLE_LEVEL!r} (the Bundle-level findings) or {PACK_LEVEL!r} (a guidance pack, the default)")
    standards = data.get("standards", {})
    if not isinstance(standards, Mapping) or not all(isinstance(v, str) and v.strip() for v in standards.values()):
        raise RuleError(f"rule set {name!r}: 'standards' maps a standard's id to the words that say what it is")
    rules = tuple(_rule(n, r, standards) for n, r in enumerate(data["rules"]))
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RuleError(f"rule set {name!r}: duplicate rule id {rule.id!r}")
        seen.add(rule.id)
    kinds = BUNDLE_KINDS if level == BUNDLE_LEVEL else GUIDANCE_KINDS | ENCOUNTER_KINDS
    stray = sorted({r.kind for r in rules} - kinds)
    if stray:
        where = "a guidance pack's rules file" if level == BUNDLE_LEVEL else "the Bundle-level rules file (guidance/bundle.rules.json), not a pack"
        raise RuleError(f"rule set {name!r}: the kinds {', '.join(stray)} belong in {where}")
    missing = sorted((BUNDLE_KINDS if level == BUNDLE_LEVEL else ENCOUNTER_KINDS) - {r.kind for r in rules})
    if missing:
        raise RuleError(f"rule set {name!r}: no rule words the {'bundle' if level == BUNDLE_LEVEL else 'encounter'} findings {', '.join(missing)}")
    if not _text(data.get("ruleSystem")):
        raise RuleError(f"rule set {name!r}: needs a ruleSystem URI for the rule ids")
    others = data.get("otherSystems", {})
    if not isinstance(others, Mapping) or not all(_text(k) and _text(v) for k, v in others.items()):
        raise RuleError(f"rule set {name!r}: otherSystems maps code system URIs to their names")
    rules = tuple(replace(r, system=data["ruleSystem"]) for r in rules)
    if level == BUNDLE_LEVEL:
        return RuleSet(id=str(name), title=str(data.get("title", name)), rule_system=data["ruleSystem"], profile=None,
                       scope_target="", scope_value_set="", rules=rules, other_systems=tuple(others.items()), level=BUNDLE_LEVEL,
                       version=str(data.get("version", "")))
    scope = data.get("scope")
    if not isinstance(scope, Mapping) or _text(scope.get("in")) not in LISTS or not _text(scope.get("valueSet")):
        raise RuleError(f"rule set {name!r}: scope needs 'in' (procedures or diagnoses) and a valueSet")
    guidance = data.get("guidance", {})
    short = guidance.get("id") if isinstance(guidance, Mapping) else None
    if short is not None and not _text(short):
        raise RuleError(f"rule set {name!r}: guidance.id is the guidance's short name, such as IPG672")
    return RuleSet(
        id=str(name), title=str(data.get("title", name)), rule_system=data["ruleSystem"],
        profile=_text(data.get("profile")), scope_target=scope["in"], scope_value_set=scope["valueSet"], rules=rules,
        other_systems=tuple(others.items()), guidance=short or str(name).upper(), base=base, version=str(data.get("version", "")),
    )


def _rule(n: int, data: Any, standards: Mapping[str, str]) -> Rule:
    if not isinstance(data, Mapping) or not _text(data.get("id")):
        raise RuleError(f"rules[{n}] needs an id")
    where = f"rules[{n}] ({data['id']})"
    kind = _text(data.get("kind"))
    if kind not in GUIDANCE_KINDS | ENCOUNTER_KINDS | BUNDLE_KINDS:
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
    standard, variants = _text(data.get("standard")), _variants(where, data.get("messages", {}))
    missing = [name for name in VERDICTS if kind == "summary" and name not in dict(variants)]
    if missing:
        raise RuleError(f"{where}: a summary rule words its verdicts in 'messages': {', '.join(missing)} missing")
    return Rule(
        id=data["id"], kind=kind, severity=data["severity"], code=code, message=message,
        standard=standard, target=target, value_sets=tuple(raw_sets),
        statuses=_statuses(where, kind, data.get("statuses")), systems=_pairs(where, "systems", data.get("systems", {})),
        variants=variants, standard_text=_standard_text(where, standard, standards, (message, *(m for _, m in variants))),
    )


VERDICTS = ("not-applied", "coded", "not-coded")  # the summary's verdict wordings ({errors} in not-coded)


def _statuses(where: str, kind: str, raw: Any) -> tuple[tuple[str, frozenset[str]], ...]:
    if raw is None:
        if kind in STATUS_KINDS:
            raise RuleError(f"{where}: kind {kind} needs 'statuses', e.g. {{\"Procedure.status\": [\"not-done\"]}}")
        return ()
    if not isinstance(raw, Mapping) or not all(
        isinstance(k, str) and k.count(".") == 1 and isinstance(v, list) and v and all(_text(s) for s in v) for k, v in raw.items()
    ):
        raise RuleError(f"{where}: 'statuses' maps 'Resource.element' to a list of status codes")
    return tuple((k, frozenset(v)) for k, v in raw.items())


def _pairs(where: str, field: str, raw: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, Mapping) or not all(_text(k) and _text(v) for k, v in raw.items()):
        raise RuleError(f"{where}: '{field}' maps names to strings")
    return tuple(raw.items())


def _variants(where: str, raw: Any) -> tuple[tuple[str, str], ...]:
    pairs = _pairs(where, "messages", raw)
    for _, message in pairs:
        stray = PLACEHOLDER.sub("", message)
        if "{" in stray or "}" in stray:
            raise RuleError(f"{where}: a message has a brace that is not a {{name}} placeholder")
    return pairs


def _standard_text(where: str, standard: str | None, standards: Mapping[str, str], messages: tuple[str, ...]) -> str | None:
    """What `{standard}` reads as: the rule set's words for the rule's standard (else its bare id)."""
    if not any("{standard}" in m for m in messages):
        return None
    if standard is None:
        raise RuleError(f"{where}: the message says {{standard}} but the rule names no standard")
    return standards.get(standard, standard)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
