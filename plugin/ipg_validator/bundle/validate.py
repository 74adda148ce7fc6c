"""validate_bundle: an encounter Bundle in, an OperationOutcome a coder can act on out.

Structure (R4B models), then every coding against its code system, then each encounter
against the guidance rules. Nothing is dropped: every coded resource is judged in an
encounter or reported as unattributable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache
from typing import Any

import orjson

from ..content.index import ContentIndex
from ..content.loader import load_content
from ..core.errors import FhirError
from ..core.jsonio import UTF8_BOM, duplicate_key, duplicate_text, parse_json
from ..core.outcome import operation_outcome
from ..rules.case import HIDDEN, CodedItem, EncounterCase
from ..rules.engine import evaluate_rule, finding, record_findings
from ..content.ruleset import RuleSet, joined as _joined
from ..terminology.compose import Compose, ComposeError, Membership
from ..terminology.expand import expand
from ..core.results import Issue
from ..terminology.engine import engine_for
from ..terminology.memo import Memo
from .codings import Key as CodingKey, coded_items
from .grouping import Entry, Group, group_entries, rank_order
from .case_memo import Judged, Shape, judge_case
from .records import encounter_status, read_record
from .references import References
from .structure import bundle_issues, structure_issues

Resource = Mapping[str, Any]


@lru_cache(maxsize=1)
def default_index() -> ContentIndex:
    """The shipped content, loaded once for callers that bring no index."""
    return load_content()


def validate_bundle(data: bytes | str | Resource, index: ContentIndex | None = None, *, profile: str | None = None, structure: bool = True) -> dict[str, Any]:
    """Validate an encounter Bundle (JSON bytes or parsed) and answer with an OperationOutcome."""
    return operation_outcome(bundle_findings(data, index or default_index(), profile=profile, structure=structure))


def bundle_findings(data: bytes | str | Resource, index: ContentIndex, *, profile: str | None = None, structure: bool = True) -> list[Issue]:
    """Every finding on a Bundle, unsorted."""
    bundle = _parsed(data, structure)
    if isinstance(bundle, Issue):
        return [bundle]
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        kind = bundle.get("resourceType") if isinstance(bundle, dict) else type(bundle).__name__
        return [Issue("error", "structure", "invalid-data", f"Expected a Bundle, got {kind!r}: send the encounter as a Bundle (or use Procedure/$validate or Condition/$validate)", ("Bundle",), "NOT_A_BUNDLE")]
    issues = bundle_issues(bundle) if structure else []
    entries = bundle_entries(bundle)
    judge = Judge(index, claimed_profiles(bundle, profile))
    issues += judge.bundle(entries) if index.rule_sets else judge.codings_only(entries)
    return issues


def resource_findings(resource: Resource, index: ContentIndex, kind: str) -> list[Issue]:
    """A single Procedure or Condition: its structure and codes, and whether they are in the guidance's sets."""
    if not isinstance(resource, dict) or resource.get("resourceType") != kind:
        got = resource.get("resourceType") if isinstance(resource, dict) else type(resource).__name__
        return [Issue("error", "structure", "invalid-data", f"Expected a {kind}, got {got!r}", (kind,), "WRONG_RESOURCE_TYPE")]
    issues = structure_issues(resource, kind)
    judge = Judge(index, set())
    target = "procedures" if kind == "Procedure" else "diagnoses"
    shared = index.bundle_rules
    if not index.rule_sets or shared is None:
        return issues + coded_items(judge.sources, resource, kind, judge.codings)[1]
    items, coding_issues = read_record(judge.sources, judge.codings, shared, Entry(0, resource, None, path=kind))
    issues += coding_issues
    alone = EncounterCase(label=f"this {kind}", expression=kind, **{target: tuple(items)})  # type: ignore[arg-type]
    for rules in index.rule_sets:
        for rule in rules.guidance_rules:
            if rule.kind == "each-outside" and rule.target == target:
                issues += evaluate_rule(rules, rule, alone, judge.member, judge.members)
    return issues


class Judge:
    """Holds what validations over one index share: the source chain and memoised value-set answers
    (also the web checklist's way to the same answers, through `bundle.reading`)."""

    def __init__(self, index: ContentIndex, profiles: set[str]) -> None:
        engine = engine_for(index)
        self.index = index
        self.sources = engine.content_sources  # the content alone: a Bundle's codings are judged against it
        self.profiles = profiles
        self._member: Memo[tuple[str, str | None, str], bool] = engine.memo("bundle.member")
        self._codes: Memo[str, list[tuple[str, str | None]]] = engine.memo("bundle.codes")
        self.codings: Memo[CodingKey, Any] = engine.memo("bundle.codings")  # (system, code, version, display) -> its check
        self.cases: Memo[Shape, Judged] = engine.memo("bundle.cases")  # an encounter's codes, places left out -> findings

    def member(self, url: str, item: CodedItem) -> bool:
        key = (url, item.system, item.code)
        known = self._member.get(key)
        if known is not None:
            return known
        vs = self.index.value_set(url)
        try:
            found = Compose(self.sources).member(vs, item.system or "", item.code) if vs else Membership.OUT
        except ComposeError:
            found = Membership.OUT
        answer = found is not Membership.OUT
        self._member[key] = answer
        return answer

    def members(self, url: str) -> list[tuple[str, str | None]]:
        known = self._codes.get(url)
        if known is None:
            vs = self.index.value_set(url)
            known = self._codes[url] = [(i.code, i.display) for i in expand(self.sources, vs).items] if vs else []
        return known

    def codings_only(self, entries: list[Entry]) -> list[Issue]:
        return [i for e in entries if e.kind in ("Procedure", "Condition") for i in coded_items(self.sources, e.resource, e.path, self.codings)[1]]

    def bundle(self, entries: list[Entry]) -> list[Issue]:
        """The Bundle-level findings (grouping, references, every coding) once, then each pack's on each encounter."""
        shared = self.shared
        grouping = group_entries(entries, shared)
        issues = list(grouping.issues)
        coded: dict[int, list[CodedItem]] = {}
        for entry in [e for e in entries if e.kind in ("Procedure", "Condition")]:
            items, found = read_record(self.sources, self.codings, shared, entry)
            coded[entry.index] = items
            issues += found
            if not items:
                issues.append(finding(shared.of_kind("uncoded"), entry.path, resource=entry.label, system_name=_system_for(entry.kind),
                                      **shared.guidance_names))
        errors = [i for i in issues if i.is_error]  # the verdicts count errors only: no rescan of every issue per encounter
        for group in grouping.groups:
            issues += self.encounter(group, coded, errors, grouping.references)
        return issues

    @property
    def shared(self) -> RuleSet:
        """The Bundle-level rule set: what is found once per Bundle, whatever the packs."""
        if self.index.bundle_rules is None:
            raise LookupError("no Bundle-level rules are loaded (guidance/bundle.rules.json)")
        return self.index.bundle_rules

    def case(self, group: Group, coded: Mapping[int, list[CodedItem]], rules: RuleSet,
             refs: References | None = None) -> tuple[list[Entry], list[Entry], EncounterCase]:
        """An encounter's procedures and conditions in rank order, and the case the rules judge."""
        procedures, conditions = rank_order(group, refs)
        case = EncounterCase(
            group.label, group.expression,
            tuple([i for e in procedures for i in coded[e.index]]),
            tuple([i for e in conditions for i in coded[e.index]]),
            tuple([(e.path + ".code", e.label, tuple(coded[e.index])) for e in procedures]),
            group.encounter is not None,
            rules.profile is not None and rules.profile in self.profiles,
        )
        return procedures, conditions, case

    def encounter(self, group: Group, coded: dict[int, list[CodedItem]], so_far: list[Issue], refs: References | None = None) -> list[Issue]:
        """Every pack's findings on one encounter, each with its summary; `so_far` holds (at least) the Bundle-level errors.

        A pack that applies says all it found. One that does not stays silent when another applies, unless it
        has more to say than that its scope code is absent (a scope code that does not count, or sent in the
        wrong classification; an encounter status it is not applied for). When none applies, each says why."""
        verdicts = [self.verdict(group, coded, rules, refs) for rules in self.index.rule_sets]
        applied = [v for v in verdicts if v.applies]
        out: list[Issue] = []
        for v in verdicts:
            if v.applies or not applied or not v.plainly_out:
                out += v.found
                out.append(v.summary(so_far))
        case = applied[0].case if applied else None
        if case is not None and any(i.marks for i in (*case.procedures, *case.diagnoses)):  # a record status some rule names
            out += record_findings(self.shared, case, _joined([v.rules.guidance for v in applied]))  # once, naming every pack applied
        return out

    def verdict(self, group: Group, coded: dict[int, list[CodedItem]], rules: RuleSet, refs: References | None = None) -> Verdict:
        """One pack's judgement of one encounter, its summary left to be worded with the errors found."""
        procedures, conditions, case = self.case(group, coded, rules, refs)
        stopped = encounter_status(rules, group.encounter)
        if stopped is not None:  # entered-in-error, cancelled: its codings were checked, the guidance does not apply
            applies, found = False, [finding(rules.of_kind("encounter-status"), group.expression, encounter=group.label, status=stopped)]
        else:
            applies, found = judge_case(rules, case, self.member, self.members, self.cases)
        places = (group.expression, *[e.path for e in (*procedures, *conditions)])
        return Verdict(rules, group, case, applies, found, places)


class Verdict:
    """A pack's findings on one encounter, whether it applied, and the places its summary counts errors at."""

    __slots__ = ("rules", "group", "case", "applies", "found", "places")

    def __init__(self, rules: RuleSet, group: Group, case: EncounterCase, applies: bool, found: list[Issue], places: tuple[str, ...]) -> None:
        self.rules, self.group, self.case, self.applies, self.found, self.places = rules, group, case, applies, found, places

    @property
    def plainly_out(self) -> bool:
        """Whether all the pack has to say is that the encounter has none of its scope codes."""
        return not self.applies and all(i.tx_code == self.rules.of_kind("out-of-scope").id for i in self.found)

    def summary(self, so_far: list[Issue]) -> Issue:
        """The pack's summary of the encounter: its codes and verdict, counting the errors at the encounter's places."""
        errors = 0
        if so_far or any(i.is_error for i in self.found):
            errors = sum(1 for i in (*so_far, *self.found) if i.is_error and i.expression and i.expression[0].startswith(self.places))
        rule = self.rules.of_kind("summary")
        verdict = (rule.phrase("not-applied") if not self.applies else rule.phrase("coded") if not errors
                   else rule.phrase("not-coded", errors=f"{errors} error{'s' if errors != 1 else ''}"))
        return finding(rule, self.group.expression, encounter=self.group.label,
                       procedures=_codes(self.case.procedures), diagnoses=_codes(self.case.diagnoses), verdict=verdict)


def _codes(items: tuple[CodedItem, ...]) -> str:
    """The code string: codes of other systems, of the wrong classification or that do not count are left out."""
    return " ".join(i.code for i in items if i.state not in HIDDEN) or "(none)"


def _system_for(kind: str) -> str:
    return "OPCS-4" if kind == "Procedure" else "ICD-10"


def _parsed(data: bytes | str | Resource, structure: bool) -> Any:
    """Parse bytes as the HTTP layer does (byte order mark, duplicate keys refused); the coding-only
    bulk mode reads an empty body as orjson does rather than with the HTTP layer's wording."""
    if not isinstance(data, (bytes, str)):
        return data
    body = data.encode() if isinstance(data, str) else data
    try:
        if structure:
            return parse_json(body, max_depth=None)
        body = body[len(UTF8_BOM):] if body.startswith(UTF8_BOM) else body
        value = orjson.loads(body)
        duplicate = duplicate_key(body, value)
        if duplicate is not None:
            raise FhirError.of(400, "structure", duplicate_text(duplicate))
        return value
    except FhirError as exc:
        return replace(exc.issues[0], expression=(), message_id="NOT_JSON")
    except orjson.JSONDecodeError as exc:
        return Issue("error", "structure", "invalid-data", f"The input is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", (), "NOT_JSON")


def bundle_entries(bundle: Resource) -> list[Entry]:
    """The entries that hold a resource, with their place in the Bundle."""
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        return []
    out = []
    for n, e in enumerate(entries):
        resource = e.get("resource") if isinstance(e, dict) else None
        if isinstance(resource, dict) and isinstance(resource.get("resourceType"), str):
            full_url = e.get("fullUrl")
            out.append(Entry(n, resource, full_url if isinstance(full_url, str) else None))
    return out


def claimed_profiles(bundle: Resource, profile: str | None) -> set[str]:
    """The profiles the Bundle claims in meta.profile, and the one asked for (versions left off)."""
    meta = bundle.get("meta")
    claimed = meta.get("profile") if isinstance(meta, dict) else None
    names = {p.split("|")[0] for p in (claimed if isinstance(claimed, list) else []) if isinstance(p, str)}
    return names | ({profile.split("|")[0]} if profile else set())
