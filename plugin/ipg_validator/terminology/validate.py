"""validate-code: is this coding (or one of these codings) valid, and in the value set?"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from . import messages
from ..content.codesystem import CodeSystemIndex, Concept
from .compose import Compose, ComposeError, Membership, check_filters
from .formats import FORMATS, Form, format_for, normalise
from .languages import check_display, preferred, requested, value_set_language
from .release import Release, choose_release
from ..core.results import ERROR, WARNING, Coding, Issue, ValidationResult
from .sources import SourceChain, mapping_key
from .status import deprecated_in_value_set, status_issues, statuses, value_set_chain
from .versions import VersionRules

Resource = Mapping[str, Any]


@dataclass(frozen=True)
class ValidateOptions:
    """Switches a caller may set; the defaults are those of a strict FHIR terminology server."""

    lenient_display: bool = False  # a wrong display is a warning, not an error
    abstract_ok: bool = True  # notSelectable concepts may be valid (except NHS categories)
    membership_only: bool = False  # only say whether the code is in the value set
    active_only: bool = False  # inactive codes are not members of the value set
    infer_system: bool = False  # a code without a system takes the one system of the value set that holds it
    display_language: str | None = None  # displayLanguage, else the request's Accept-Language


def vs_label(vs: Resource) -> str:
    """How a value set is named in messages: `url|version`."""
    url = vs.get("url") or "(unidentified)"
    return f"{url}|{vs['version']}" if vs.get("version") and vs.get("url") else url


def validate_code(
    sources: SourceChain,
    codings: Sequence[Coding],
    *,
    value_set: Resource | None = None,
    options: ValidateOptions = ValidateOptions(),
    codeable_concept: bool = False,
    rules: VersionRules | None = None,
) -> ValidationResult:
    """Validate one Coding, or the codings of a CodeableConcept, optionally against a value set.

    `rules` are the request's version parameters. A value set that is itself broken (a filter
    without a value) raises ComposeError(invalid=True).
    """
    rules = rules or VersionRules()
    if value_set is not None:
        check_filters(value_set)
        # checked once per chain and default-valueset-version (which can change the imports read)
        sources.remembered("imports-checked", value_set, mapping_key(rules.value_sets), lambda: Compose(sources, rules).check_imports(value_set))
        if options.display_language is None and value_set_language(value_set):
            options = replace(options, display_language=value_set_language(value_set))
    results = [_validate_one(sources, c, value_set, options, rules) for c in codings]
    if not codeable_concept:
        answer = results[0]
    elif value_set is None:
        answer = _concept_without_value_set(results, codings)
    else:
        answer = _concept_in_value_set(results, codings, value_set)
    answer.issues += _status_notes(sources, value_set, results, rules.value_sets)
    return answer


def _status_notes(sources: SourceChain, vs: Resource | None, results: Sequence[ValidationResult],
                  defaults: Mapping[str, str]) -> list[Issue]:
    """Information issues for a deprecated/withdrawn/... value set or code system the validation used."""
    used: list[tuple[Resource, str]] = [(v, "ValueSet") for v in (value_set_chain(sources, vs, defaults) if vs is not None else ())]
    for r in results:
        cs = sources.code_system(r.system, r.version) if r.system else None
        if cs is not None:
            used.append((cs.resource, "CodeSystem"))
    return status_issues(statuses(used, vs))


def _concept_without_value_set(results: list[ValidationResult], codings: Sequence[Coding]) -> ValidationResult:
    valid = [r for r in results if r.result]
    chosen = valid[0] if valid else next((r for r in results if r.display), results[0])
    return ValidationResult(
        result=bool(valid), system=chosen.system, code=chosen.code, version=chosen.version, display=chosen.display,
        issues=[i for r in results for i in r.issues], unknown_systems=[s for r in results for s in r.unknown_systems],
        codings=list(codings), inactive=chosen.inactive, status=chosen.status,
    )


def _concept_in_value_set(results: list[ValidationResult], codings: Sequence[Coding], vs: Resource) -> ValidationResult:
    """tx.fhir.org's CodeableConcept rule: valid when a coding is in the value set and has no error; the
    codings that are not in it are noted as information, and no coding in it is the error."""
    broken = next((r for r in results if r.value_set_error), None)
    if broken is not None:
        return ValidationResult(False, issues=[i for i in (broken.value_set_error,) if i is not None], codings=list(codings))
    members = [r for r in results if r.in_value_set]
    if not members and all(r.missing_release for r in results):  # the value set's release does not exist: unknown
        return replace(results[0], code=None, system=None, codings=list(codings),
                       issues=[i for r in results for i in r.issues],
                       unknown_systems=[s for r in results for s in r.unknown_systems])
    issues: list[Issue] = []
    for r in results:
        issues += [messages.this_code_not_in_vs(i) if i.tx_code == "not-in-vs" else i for i in r.issues]
    if not members:
        issues.append(messages.no_valid_coding(vs_label(vs)))
        return ValidationResult(False, issues=issues, codings=list(codings),
                                unknown_systems=[s for r in results for s in r.unknown_systems],
                                unknown_in_value_set=any(r.unknown_in_value_set for r in results))
    chosen = next((r for r in members if r.result), members[0])
    return ValidationResult(
        result=not any(i.is_error for i in issues), system=chosen.system, code=chosen.code, version=chosen.version,
        display=chosen.display, issues=issues, unknown_systems=[s for r in results for s in r.unknown_systems],
        codings=list(codings), inactive=chosen.inactive, status=chosen.status,
        unknown_in_value_set=any(r.unknown_in_value_set for r in results),
    )


def _validate_one(sources: SourceChain, coding: Coding, vs: Resource | None, options: ValidateOptions,
                  rules: VersionRules) -> ValidationResult:
    issues: list[Issue] = []

    def done(**kw: Any) -> ValidationResult:
        return ValidationResult(result=not any(i.is_error for i in issues), issues=issues, **kw)

    code = coding.code or ""
    if not coding.system and options.infer_system and vs is not None:
        inferred = _infer_system(sources, vs, code)
        if len(inferred) == 1:
            coding = replace(coding, system=inferred[0])
        else:
            searched = Compose(sources).referenced_systems(vs)
            issues.append(messages.cannot_infer(code, vs_label(vs), coding.at("code"), inferred, searched))
            issues.append(messages.not_in_value_set("", code, vs_label(vs), coding.at("code"), False))
            return done(code=code)
    if not coding.system:
        hint = _looks_like(sources, None, code)
        checkable = vs is not None and not hint
        issues.append(messages.no_system(coding.path or "code" if checkable else coding.at("system"), hint, WARNING if checkable else ERROR))
        if vs is not None:
            issues.append(_not_in(vs, "", code, coding))
        return done(code=code)
    system = sources.canonical_system(coding.system)
    if system != coding.system:
        issues.append(messages.alias_system(coding.system, system, coding.at("system")))
    release = choose_release(sources, rules, system, coding, vs) if sources.code_system(system) else None
    if release is None or (release.cs is None and release.missing is None):
        return _unknown_system(sources, coding, system, vs, issues)
    issues += release.issues
    if release.cs is None:
        return _missing_release(sources, rules, coding, system, release, issues)
    cs = release.cs
    if cs.content == "supplement":  # a supplement adds to a code system: it holds no codes of its own
        issues.append(messages.supplement_as_system(cs.url, cs.version, coding.at("system")))
        return done(system=system, code=code, unknown_systems=[system])
    fmt = format_for(system)
    received = code
    if fmt is not None:
        n = normalise(system, code)
        if n.form is Form.MALFORMED:
            issues.append(messages.malformed(fmt, n, coding.at("code"), _looks_like(sources, system, code)))
            return done(system=system, code=code, version=cs.version)
        code = n.code
        concept = cs.get(code)
        if n.form is Form.CATEGORY_NOTATION or _is_category(cs, concept, code):
            issues.append(messages.category(fmt, cs, concept, code, coding.at("code")))
            return done(system=system, code=code, version=cs.version, display=concept.display if concept else None)
        if n.form is Form.NHS_FORMAT:
            issues.append(messages.nhs_format(fmt, n, concept, coding.at("code")))
    concept = cs.get(code)
    if concept is None:
        if fmt is not None and cs.is_fragment:
            issues.append(messages.unconfirmed_nhs_code(fmt, cs, code, coding.at("code")))
        else:
            issues.append(messages.unknown_code(cs, code, coding.at("code")))
    else:
        if concept.code != code and fmt is None:
            issues.append(messages.case_difference(code, concept.code, cs, coding.at("code")))
        code = concept.code
        if not options.membership_only:
            issues += _concept_issues(cs, concept, coding, options, fmt is not None)
    if options.membership_only:
        issues = [i for i in issues if i.message_id not in ("Unknown_Code_in_Version",)]
    in_vs: bool | None = None
    vs_error: Issue | None = None
    if vs is not None:
        active_only = options.active_only or (vs.get("compose") or {}).get("inactive") is False
        if active_only and concept is not None and concept.inactive:
            issues.append(messages.not_active(concept.code, coding.at("code")))
            issues.append(_not_in(vs, system, code, coding))
            in_vs = False
        elif concept is not None and concept.not_selectable and not options.abstract_ok and fmt is None:
            issues.append(_not_in(vs, system, code, coding))
            in_vs = False
        else:
            found, vs_issues = _membership(Compose(sources, rules), vs, system, code, coding, concept, cs.version)
            marked = deprecated_in_value_set(sources, vs, system, code, coding.at("code"), rules.value_sets) if found else None
            vs_issues += [marked] if marked else []
            if found is False:  # a wrong display of a code that is not in the value set anyway is a warning
                issues[:] = [replace(i, severity=WARNING) if i.tx_code == "invalid-display" and i.is_error else i for i in issues]
            issues += vs_issues
            in_vs = found
            vs_error = next((i for i in vs_issues if i.tx_code not in ("not-in-vs",)), None) if found is None else None
    case_only = fmt is None and received != code
    return done(
        system=system, code=received if case_only else code, version=cs.version,
        display=preferred(cs, concept, requested(options.display_language)) if concept else None,
        inactive=bool(concept and concept.inactive), normalised_from=received if received != code and not case_only else None,
        normalized_code=code if case_only else None,
        status=_status(concept),
        in_value_set=in_vs, value_set_error=vs_error, unknown_systems=release.unknown_systems,
    )


def _missing_release(sources: SourceChain, rules: VersionRules, coding: Coding, system: str, release: Release,
                     issues: list[Issue]) -> ValidationResult:
    """The release the value set asks for does not exist: not valid, and described from the coding's own release."""
    own = sources.code_system(system, rules.resolve(system, coding.version))
    concept = own.get(coding.code or "") if own is not None else None
    return ValidationResult(False, system=system, code=coding.code, version=own.version if own else coding.version,
                            display=concept.display if concept else None, issues=issues,
                            unknown_systems=release.unknown_systems, missing_release=True)


def _unknown_system(sources: SourceChain, coding: Coding, system: str, vs: Resource | None, issues: list[Issue]) -> ValidationResult:
    """The code system is not known: say so, and (when the value set does not name it) that the code is not in it."""
    code = coding.code or ""

    def done(**kw: Any) -> ValidationResult:
        return ValidationResult(result=False, issues=issues, system=system, code=code, **kw)

    if vs is not None and sources.value_set(system) is not None:
        issues.append(messages.system_is_value_set(system, coding.at("system")))
        issues.append(_not_in(vs, system, code, coding))
        return done(in_value_set=False)
    known = sources.versions_of(system)
    named = vs is not None and system in Compose(sources).referenced_systems(vs)
    if ":" not in system:
        issues.append(messages.local_system(coding.at("system")))
    quoted = vs is None or named or ":" not in system
    issues.append(messages.unknown_system(system, coding.version, coding.at("system"), known, quoted=quoted))
    unknown = f"{system}|{coding.version}" if coding.version and known else system
    if vs is not None and not named:
        issues.append(_not_in(vs, system, code, coding))
    return done(version=coding.version, unknown_systems=[unknown], unknown_in_value_set=vs is not None and not named,
                in_value_set=False if vs is not None else None)


def _infer_system(sources: SourceChain, vs: Resource, code: str) -> list[str]:
    """The code systems of the value set that hold `code` (inferSystem)."""
    found = []
    for system in Compose(sources).referenced_systems(vs):
        cs = sources.code_system(system)
        if cs is not None and cs.get(code) is not None:
            found.append(system)
    return found


def _not_in(vs: Resource, system: str, code: str, coding: Coding, unknown: bool = False) -> Issue:
    return messages.not_in_value_set(system, code, vs_label(vs), coding.at("code"), unknown, coding.display, coding.version)


def _is_category(cs: CodeSystemIndex, concept: Concept | None, code: str) -> bool:
    fmt = format_for(cs.url)
    if concept is not None:
        return concept.not_selectable
    return bool(fmt and fmt.recorded_length and "." not in code)


def _concept_issues(cs: CodeSystemIndex, concept: Concept, coding: Coding, options: ValidateOptions, nhs: bool) -> list[Issue]:
    issues: list[Issue] = []
    if concept.not_selectable and not options.abstract_ok:
        issues.append(Issue(ERROR, "business-rule", "code-rule", f"Code '{cs.url}#{concept.code}' is abstract, and not allowed in this context", (coding.at("code"),), "ABSTRACT_CODE_NOT_ALLOWED"))
    if coding.display:
        severity = WARNING if options.lenient_display or nhs else ERROR
        wrong = check_display(cs, concept, coding.display, options.display_language, severity, coding.at("display"), spacing_ok=nhs)
        if wrong is not None:
            issues.append(wrong)
    if concept.inactive:
        issues.append(messages.inactive(concept.code, concept.status, coding.path or "code"))
    elif concept.standards_status == "deprecated":
        issues.append(messages.deprecated_concept(concept.code, coding.path or "code"))
    return issues


def _status(concept: Concept | None) -> str | None:
    """The `status` output: a retired/deprecated status of an inactive concept, or a deprecated standards status."""
    if concept is not None and concept.inactive and concept.status not in (None, "inactive"):
        return concept.status
    return "deprecated" if concept is not None and concept.standards_status == "deprecated" else None


def _membership(compose: Compose, vs: Resource, system: str, code: str, coding: Coding,
                concept: Concept | None, release: str | None) -> tuple[bool | None, list[Issue]]:
    """(in the value set: True/False, None when the value set cannot be evaluated; the issues)."""
    sources = compose.sources
    try:
        # the answer depends only on these and the request's version rules, so the chain remembers it
        key = (system, code, release, compose.rules.key())
        found = sources.remembered("member", vs, key, lambda: compose.member(vs, system, code, release))
    except ComposeError as exc:
        if exc.invalid:
            raise
        return None, [exc.issue]
    if found is Membership.IN or (found is Membership.UNKNOWN and concept is None):
        return True, []
    issue = _not_in(vs, system, code, coding, found is Membership.UNKNOWN)
    hint = _looks_like(sources, system, code)
    if hint:
        issue = Issue(issue.severity, issue.code, issue.tx_code, f"{issue.text}; it looks like {hint}: check the system", issue.expression, issue.message_id)
    return found is Membership.UNKNOWN, [issue]


def _looks_like(sources: SourceChain, system: str | None, code: str) -> str | None:
    """Name another NHS classification in which this code exists, for a wrong-system hint."""
    for other, fmt in FORMATS.items():
        if other == system:
            continue
        cs = sources.code_system(other)
        n = normalise(other, code)
        concept = cs.get(n.code) if cs is not None and n.form is not Form.MALFORMED else None
        if concept is not None:
            article = "an" if fmt.name[0] in "AEIOU" else "a"
            return f"{article} {fmt.name} code ({concept.code} {concept.display or ''})".replace(" )", ")")
    return None
