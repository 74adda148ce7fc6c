"""Which release of a code system a validation uses, and what is wrong with the coding's version.

Against a value set, the include that names the system decides the release (after the request's
version rules); a coding that names another release is reported (VALUESET_VALUE_MISMATCH*), and a
release that does not exist is UNKNOWN_CODESYSTEM_VERSION, as tx.fhir.org answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from . import messages
from ..content.codesystem import CodeSystemIndex
from .compose import Compose
from .languages import check_display
from ..core.results import ERROR, Coding, Issue
from .sources import SourceChain
from .status import value_set_chain
from .versions import VersionRules, more_detailed, newest, version_matches

Resource = Mapping[str, Any]


@dataclass
class Release:
    """The release chosen for a coding (None when the version asked for does not exist), and the findings."""

    cs: CodeSystemIndex | None
    issues: list[Issue] = field(default_factory=list)
    unknown_systems: list[str] = field(default_factory=list)  # `url|version` of releases that do not exist
    missing: str | None = None  # the version the value set (or a rule) asked for, when no release has it
    # (None when no value set names the system: then the system, in the version asked for, is unknown)


def include_for(sources: SourceChain, rules: VersionRules, vs: Resource, system: str, coding: Coding) -> Resource | None:
    """The include of `vs` (or of a value set it imports) that decides the release of `system`.

    When includes name several releases, the one in the coding's version wins (holding the code or
    not), else the newest release that holds the code with the coding's display, else the newest
    release that holds it (a code in two releases is read in the newer), else (no release holds it)
    the newest release named."""
    found = [inc for current in value_set_chain(sources, vs, rules.value_sets)
             for inc in (current.get("compose") or {}).get("include") or () if inc.get("system") == system]
    if len({inc.get("version") for inc in found}) < 2:
        return found[0] if found else None
    compose = Compose(sources, rules)
    holding = []
    for inc in found:
        cs = sources.code_system(system, rules.resolve(system, inc.get("version")))
        if cs is not None and compose.holds(inc, system, coding.code or "", cs.version):
            holding.append((inc, cs))
    if coding.version:
        named = [inc for inc in found if (cs := sources.code_system(system, rules.resolve(system, inc.get("version"))))
                 and cs.version == coding.version]
        if named:
            return cast(Resource, named[0])
    chosen = [pair for pair in holding if _shows(pair[1], coding)] or holding
    best = newest(chosen, lambda pair: pair[1].version)
    if best:
        return cast(Resource, best[0])
    return cast(Resource, newest(found, lambda inc: rules.resolve(system, inc.get("version"))) or found[0])


def _shows(cs: CodeSystemIndex, coding: Coding) -> bool:
    """Whether release `cs` holds the coding's code with the coding's display (no display: any)."""
    concept = cs.get(coding.code or "")
    if concept is None or not coding.display:
        return concept is not None
    return check_display(cs, concept, coding.display, None, ERROR, "") is None


def choose_release(sources: SourceChain, rules: VersionRules, system: str, coding: Coding,
                   vs: Resource | None) -> Release:
    """The release of `system` to validate `coding` in, with the version findings."""
    given = coding.version
    inc = include_for(sources, rules, vs, system, coding) if vs is not None else None
    if inc is None:
        cs = sources.code_system(system, rules.resolve(system, given))
        return Release(cs, rules.check_issues(system, cs.version, coding.at("version")) if cs else [])
    in_vs = inc.get("version")
    wanted = rules.resolve(system, in_vs)
    found = Release(None)
    if given:
        wanted = _compare(sources, rules, system, coding, in_vs, wanted, found)
    cs = sources.code_system(system, rules.resolve(system, wanted))
    if cs is None:
        found.missing = wanted or ""
        label = f"{system}|{wanted}" if wanted else system
        if label not in found.unknown_systems:
            found.issues.append(messages.unknown_system(system, wanted, coding.at("system"), sources.versions_of(system)))
            found.unknown_systems.append(label)
        return found
    found.cs = cs
    found.issues += rules.check_issues(system, cs.version, coding.at("version"))
    return found


def _compare(sources: SourceChain, rules: VersionRules, system: str, coding: Coding, in_vs: str | None,
             wanted: str | None, found: Release) -> str | None:
    """Check the coding's version against the release the include asks for (the tx.fhir.org rules);
    the version to use: the coding's when the include allows it (a wildcard it fits, or no version)."""
    given = coding.version or ""
    result = wanted
    if result and given != result and more_detailed(result, given):
        result = given
    if not result and _known(sources, system, given):
        result = given
    cs = sources.code_system(system, rules.resolve(system, result))
    where = coding.at("version")
    if cs is not None and cs.version != given and not more_detailed(given, cs.version):
        found.issues.append(messages.value_mismatch(system, in_vs, result, cs.version, given, where))
        if sources.code_system(system, given) is None:
            found.issues.append(messages.unknown_system(system, given, coding.at("system"), sources.versions_of(system)))
            found.unknown_systems.append(f"{system}|{given}")
    elif cs is None and result != given:
        found.issues.append(messages.value_mismatch(system, result, result, None, given, where))
    return result


def _known(sources: SourceChain, system: str, version: str) -> bool:
    """Whether some release of `system` is `version` (or fits it, when it is a wildcard)."""
    return any(v == version or version_matches(version, v) for v in sources.versions_of(system))
