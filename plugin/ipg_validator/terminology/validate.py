"""validate-code: is this coding (or one of these codings) valid, and in the value set?"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import messages
from .codesystem import CodeSystemIndex, Concept
from .compose import Compose, ComposeError, Membership
from .formats import FORMATS, Form, format_for, normalise
from .results import ERROR, WARNING, Coding, Issue, ValidationResult
from .sources import SourceChain

Resource = Mapping[str, Any]


@dataclass(frozen=True)
class ValidateOptions:
    """Switches a caller may set; the defaults are those of a strict FHIR terminology server."""

    lenient_display: bool = False  # a wrong display is a warning, not an error
    abstract_ok: bool = True  # notSelectable concepts may be valid (except NHS categories)
    membership_only: bool = False  # only say whether the code is in the value set


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
) -> ValidationResult:
    """Validate one Coding, or the codings of a CodeableConcept, optionally against a value set."""
    results = [_validate_one(sources, c, value_set, options) for c in codings]
    if not codeable_concept:
        return results[0]
    valid = [r for r in results if r.result]
    chosen = valid[0] if valid else next((r for r in results if r.display), results[0] if results else ValidationResult(False))
    issues = [i for r in results for i in r.issues]
    if value_set is not None and not valid:
        issues.append(messages.no_valid_coding(vs_label(value_set), "CodeableConcept"))
    return ValidationResult(
        result=bool(valid) and not any(i.is_error for r in valid for i in r.issues),
        system=chosen.system, code=chosen.code, version=chosen.version, display=chosen.display,
        issues=issues, unknown_systems=[s for r in results for s in r.unknown_systems],
        codings=list(codings), inactive=chosen.inactive,
    )


def _validate_one(sources: SourceChain, coding: Coding, vs: Resource | None, options: ValidateOptions) -> ValidationResult:
    issues: list[Issue] = []
    done = lambda **kw: ValidationResult(result=not any(i.is_error for i in issues), issues=issues, **kw)  # noqa: E731
    code = coding.code or ""
    if not coding.system:
        issues.append(messages.no_system(coding.at("system"), _looks_like(sources, None, code)))
        return done(code=code)
    system = sources.canonical_system(coding.system)
    if system != coding.system:
        issues.append(messages.alias_system(coding.system, system, coding.at("system")))
    cs = sources.code_system(system, coding.version)
    if cs is None:
        known = sources.versions_of(system)
        issues.append(messages.unknown_system(system, coding.version, coding.at("system"), known))
        unknown = f"{system}|{coding.version}" if coding.version and known else system
        return done(system=system, code=code, version=coding.version, unknown_systems=[unknown])
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
        code = concept.code
        if not options.membership_only:
            issues += _concept_issues(cs, concept, coding, options, fmt is not None)
    if vs is not None:
        issues += _membership(sources, vs, system, code, coding, concept)
    return done(
        system=system, code=code, version=cs.version, display=concept.display if concept else None,
        inactive=bool(concept and concept.inactive), normalised_from=received if received != code else None,
    )


def _is_category(cs: CodeSystemIndex, concept: Concept | None, code: str) -> bool:
    fmt = format_for(cs.url)
    if concept is not None:
        return concept.not_selectable
    return bool(fmt and fmt.recorded_length and "." not in code)


def _concept_issues(cs: CodeSystemIndex, concept: Concept, coding: Coding, options: ValidateOptions, nhs: bool) -> list[Issue]:
    issues: list[Issue] = []
    if concept.not_selectable and not options.abstract_ok:
        issues.append(Issue(ERROR, "business-rule", "code-rule", f"Code '{concept.code}' is abstract, and not allowed in this context", (coding.at("code"),), "ABSTRACT_CODE_NOT_ALLOWED"))
    if coding.display and not _display_ok(concept, coding.display):
        severity = WARNING if options.lenient_display or nhs else ERROR
        issues.append(messages.wrong_display(cs.url, concept.code, coding.display, concept.display, severity, coding.at("display")))
    if concept.inactive:
        issues.append(messages.inactive(concept.code, concept.status, coding.at("code")))
    return issues


def _display_ok(concept: Concept, display: str) -> bool:
    wanted = _fold(display)
    candidates = [concept.display, *(d.get("value") for d in concept.designations)]
    return any(c is not None and _fold(c) == wanted for c in candidates)


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def _membership(sources: SourceChain, vs: Resource, system: str, code: str, coding: Coding, concept: Concept | None) -> list[Issue]:
    try:
        found = Compose(sources).member(vs, system, code, coding.version)
    except ComposeError as exc:
        return [exc.issue]
    if found is Membership.IN or (found is Membership.UNKNOWN and concept is None):
        return []
    issue = messages.not_in_value_set(system, code, vs_label(vs), coding.at("code"), found is Membership.UNKNOWN)
    hint = _looks_like(sources, system, code)
    if hint:
        issue = Issue(issue.severity, issue.code, issue.tx_code, f"{issue.text}; it looks like {hint}: check the system", issue.expression, issue.message_id)
    return [issue]


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
