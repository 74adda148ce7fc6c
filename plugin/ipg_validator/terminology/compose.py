"""ValueSet compose semantics: is a code in a value set, and which codes does it hold.

Membership is decided per include without expanding (a full release has 12,000 codes);
a code absent from a fragment is UNKNOWN rather than OUT, since another fragment may hold it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, cast

import orjson

from . import messages
from ..content.codesystem import CodeSystemIndex, Concept, objects
from .filters import FilterError, concept_matches, filter_op, structural_match
from .multirelease import excludes_every_release, merged, mixed_systems, newest_release_first, versions_match
from ..core.results import ExpansionItem, Issue
from .sources import SourceChain, split_canonical
from .status import concept_marks
from .versions import VersionRules, version_matches

Resource = Mapping[str, Any]
WORK_FACTOR = 10  # an expansion may handle this many times its size limit in codes before it is too costly


class Membership(Enum):
    IN = "in"
    OUT = "out"
    UNKNOWN = "unknown"  # the code is absent from a fragment: cannot be confirmed either way


class ComposeError(Exception):
    """A value set that cannot be evaluated (unknown import, circular import, bad filter).

    `invalid` marks a value set that is itself broken (a filter without a value): the request
    fails (4xx) rather than the code.
    """

    def __init__(self, issue: Issue, invalid: bool = False) -> None:
        super().__init__(issue.text)
        self.issue = issue
        self.invalid = invalid


def check_filters(vs: Resource) -> None:
    """Raise ComposeError(invalid=True) for a compose filter that has no value."""
    compose = vs.get("compose") or {}
    for kind in ("include", "exclude"):
        for n, inc in enumerate(compose.get(kind, [])):
            for m, flt in enumerate(inc.get("filter", [])):
                if flt.get("value") in (None, ""):
                    raise ComposeError(messages.filter_without_value(
                        inc.get("system", ""), flt.get("property", ""), filter_op(flt),
                        f"ValueSet.compose.{kind}[{n}].filter[{m}]"), invalid=True)


def value_set_systems(sources: SourceChain, vs: Resource) -> list[str]:
    """The code systems a value set draws on, through its imports, as canonical URIs (from its expansion when it
    has no compose); [] when its imports loop."""
    if not vs.get("compose"):
        contains = (vs.get("expansion") or {}).get("contains") or []
        return list(dict.fromkeys(sources.canonical_system(c["system"]) for c in contains if isinstance(c, Mapping) and c.get("system")))
    try:
        return list(dict.fromkeys(sources.canonical_system(s) for s in Compose(sources).referenced_systems(vs)))
    except ComposeError:
        return []


@dataclass
class Compose:
    """Evaluates compose definitions against a source chain, guarding against import cycles."""

    sources: SourceChain
    rules: VersionRules = field(default_factory=VersionRules)  # the request's version parameters
    unknown_systems: set[str] = field(default_factory=set)
    used_systems: dict[str, CodeSystemIndex] = field(default_factory=dict)
    used_value_sets: list[str] = field(default_factory=list)  # imported value sets, `url|version`
    max_items: int = 100_000
    _stack: list[str] = field(default_factory=list)
    _open: list[Resource] = field(default_factory=list)  # the value sets being evaluated (for `#contained`)
    # Answers per value set object for this evaluation: an import used twice is evaluated once,
    # so request-supplied "diamond" imports cost linear, not exponential, work.
    _expanded: dict[int, list[ExpansionItem]] = field(default_factory=dict)
    _members: dict[tuple[int, str, str, str | None], Membership] = field(default_factory=dict)
    _work: int = 0
    versions_matched: bool = False  # versionsMatch applied (set, or an exclude of one release reached another)

    # -- membership -------------------------------------------------------------------

    def member(self, vs: Resource, system: str, code: str, version: str | None = None) -> Membership:
        """Whether (system, code) is in the value set `vs`."""
        key = (id(vs), system, code, version)
        if key not in self._members:
            self._members[key] = self._member(vs, system, code, version)
        return self._members[key]

    def _member(self, vs: Resource, system: str, code: str, version: str | None) -> Membership:
        with self._entering(vs):
            compose = vs.get("compose") or {}
            found = _any(self._include_member(inc, system, code, version) for inc in compose.get("include", []))
            if found is Membership.OUT:
                return found
            match = versions_match(vs)
            for exc in compose.get("exclude", []):
                across = excludes_every_release(exc, match)
                if self._include_member(exc, system, code, None if across else version) is Membership.IN:
                    return Membership.OUT
            if found is Membership.IN and compose.get("inactive") is False:
                cs = self._code_system(system, version, None)
                concept = cs.get(code) if cs else None
                if concept is not None and concept.inactive:
                    return Membership.OUT
            return found

    def holds(self, inc: Resource, system: str, code: str, version: str | None) -> bool:
        """Whether one include (or exclude) of a value set takes in (system, code) of release `version`."""
        return self._include_member(inc, system, code, version) is Membership.IN

    def _include_member(self, inc: Resource, system: str, code: str, version: str | None) -> Membership:
        result = Membership.IN
        if inc.get("system"):
            if inc["system"] != system:
                return Membership.OUT
            result = self._system_member(inc, system, code, version)
        for ref in inc.get("valueSet", []):
            if result is Membership.OUT:
                break
            result = _all((result, self.member(self.value_set(ref), system, code, version)))
        return result

    def _system_member(self, inc: Resource, system: str, code: str, version: str | None) -> Membership:
        wanted = self.rules.resolve(system, inc.get("version"))
        if version and (wanted is None or version_matches(wanted, version)):
            wanted = version  # the release the validation chose fits the include
        elif version and self.sources.code_system(system, wanted) not in (None, self.sources.code_system(system, version)):
            return Membership.OUT  # the include takes in another existing release than the one validated
        cs = self._code_system(system, wanted, wanted if wanted != version else None)
        listed = inc.get("concept")
        if listed is not None:
            codes = {c["code"] for c in objects(listed) if isinstance(c.get("code"), str)}
            if cs is not None and not cs.case_sensitive:
                codes = {c.casefold() for c in codes if c} | codes
            if code not in codes and (cs is None or cs.case_sensitive or code.casefold() not in codes):
                return Membership.OUT
        if cs is None:
            return Membership.IN if listed is not None else Membership.UNKNOWN
        concept = cs.get(code)
        if concept is None:
            if not cs.is_fragment:
                return Membership.OUT
            return _all(_structural(system, code, f) for f in inc.get("filter", []))
        return Membership.IN if self._passes(cs, concept, inc.get("filter", [])) else Membership.OUT

    def _passes(self, cs: CodeSystemIndex, concept: Concept, filters: Iterable[Resource]) -> bool:
        try:
            return all(concept_matches(cs, concept, f) for f in filters)
        except FilterError as exc:
            raise ComposeError(messages.bad_filter(str(exc))) from None

    # -- expansion --------------------------------------------------------------------

    def expand(self, vs: Resource) -> list[ExpansionItem]:
        """Every code of the value set, in definition order, without duplicates."""
        if id(vs) not in self._expanded:
            self._expanded[id(vs)] = self._expand(vs)
        return self._expanded[id(vs)]

    def _expand(self, vs: Resource) -> list[ExpansionItem]:
        with self._entering(vs):
            compose = vs.get("compose") or {}
            items: dict[tuple[str, str | None, str], ExpansionItem] = {}  # a code per release (merged: per code)
            match = versions_match(vs)
            includes = _distinct(compose.get("include", []))
            for inc in includes if match else newest_release_first(includes):
                found = self._include_items(inc)
                self._work += len(found)
                if self._work > WORK_FACTOR * self.max_items:  # codes handled, kept or not
                    raise ComposeError(messages.too_costly(vs.get("url"), self.max_items))
                for item in found:
                    key = (item.system, None if match else item.version, item.code)
                    items[key] = merged(items[key], item) if match and key in items else items.get(key, item)
                    if len(items) > self.max_items:
                        raise ComposeError(messages.too_costly(vs.get("url"), self.max_items))
            for exc in compose.get("exclude", []):
                across = excludes_every_release(exc, match)
                out = self._include_items(exc)
                gone = {(i.system, None if across else i.version, i.code) for i in out}
                kept = {k: i for k, i in items.items() if (i.system, None if across else i.version, i.code) not in gone}
                if match is None and {i.version for k, i in items.items() if k not in kept} - {i.version for i in out}:
                    self.versions_matched = True  # an exclude of one release took codes out of another
                items = kept
            self.versions_matched = self.versions_matched or bool(match)
            pinned = [(inc["system"], inc["version"]) for inc in compose.get("include", []) if inc.get("system") and inc.get("version")]
            mixed = mixed_systems([(cs.url, cs.version) for cs in self.used_systems.values()]) | mixed_systems(pinned)
            # releases mixed in one expansion: say which each code is from
            found = [replace(i, show_version=True) if i.system in mixed else i for i in items.values()]
            if compose.get("inactive") is False:
                return [i for i in found if not i.inactive]
            return found

    def _include_items(self, inc: Resource) -> list[ExpansionItem]:
        imported = [self.expand(self.value_set(ref, expanding=True)) for ref in inc.get("valueSet", [])]
        if inc.get("system"):
            items = self._system_items(inc)
        elif imported:
            items = [replace(i, walk="") if i.walk else i for i in imported.pop(0)]
        else:
            return []
        for other in imported:
            keys = {(i.system, i.code) for i in other}
            items = [i for i in items if (i.system, i.code) in keys]
        return items

    def _system_items(self, inc: Resource) -> list[ExpansionItem]:
        system = inc["system"]
        wanted = self.rules.resolve(system, inc.get("version"))
        cs = self._code_system(system, wanted, wanted)
        if cs is None:
            raise ComposeError(messages.unknown_system_for_expansion(system, wanted, self.sources.versions_of(system)))
        for issue in self.rules.check_issues(system, cs.version, None):
            raise ComposeError(issue)
        if "concept" in inc:
            out = []
            for ref in objects(inc["concept"]):  # items that are not objects, or have no string code, list nothing
                if not isinstance(ref.get("code"), str):
                    continue
                concept = cs.get(ref["code"])
                if concept is None and not cs.is_fragment:
                    continue
                out.append(_item(cs, concept, ref))
            return out
        filters = inc.get("filter", [])
        candidates = self._candidates(cs, filters)
        walk = "filter" if filters else "all"
        return [_item(cs, c, walk=walk) for c in candidates if self._passes(cs, c, filters)]

    def _candidates(self, cs: CodeSystemIndex, filters: list[Resource]) -> Iterable[Concept]:
        """Narrow a hierarchy filter to the subtree it names instead of walking the whole system."""
        for f in filters:
            op = filter_op(f)
            if op in ("is-a", "descendent-of") and f.get("property") in ("concept", "code"):
                root = cs.get(str(f.get("value", "")))
                if root is None:
                    return []
                below = [cs.concepts[c] for c in cs.descendants(root.code)]
                return [root, *below] if op == "is-a" else below
        return cs.walk()

    def referenced_systems(self, vs: Resource) -> list[str]:
        """Every code system the value set names, through its imports (unresolvable imports skipped)."""
        found: list[str] = []
        with self._entering(vs):
            compose = vs.get("compose") or {}
            for inc in compose.get("include", []):
                if inc.get("system") and inc["system"] not in found:
                    found.append(inc["system"])
                for ref in inc.get("valueSet", []):
                    try:
                        found += [s for s in self.referenced_systems(self.value_set(ref)) if s not in found]
                    except ComposeError:
                        continue
        return found

    def check_imports(self, vs: Resource, _done: set[int] | None = None) -> None:
        """Raise ComposeError(invalid=True) when the value set's imports (in includes or excludes) form a cycle."""
        done = set() if _done is None else _done
        if id(vs) in done:
            return
        try:
            with self._entering(vs):
                for part in ((vs.get("compose") or {}).get(k) or () for k in ("include", "exclude")):
                    for ref in (r for inc in part for r in inc.get("valueSet") or ()):
                        try:
                            found = self.value_set(ref)
                        except ComposeError as exc:
                            if exc.issue.message_id == messages.CIRCULAR_REFERENCE:
                                raise
                            continue  # an unknown import is reported where it is used
                        self.check_imports(found, done)
        except ComposeError as exc:
            raise ComposeError(exc.issue, invalid=True) from None
        done.add(id(vs))

    # -- shared -----------------------------------------------------------------------

    def value_set(self, reference: str, expanding: bool = False) -> Resource:
        """Resolve a `valueSet` import (`url` or `url|version`; default-valueset-version fills a missing version)."""
        if reference.startswith("#"):
            vs = next((c for outer in reversed(self._open) for c in outer.get("contained", ())
                       if c.get("resourceType") == "ValueSet" and c.get("id") == reference[1:]), None)
            if vs is None:
                raise ComposeError(messages.unknown_value_set(reference))
            return cast(Resource, vs)
        url, version = split_canonical(reference)
        version = self.rules.value_set_version(url, version)
        vs = self.sources.value_set(url, version)
        if vs is None and expanding and version:
            raise ComposeError(messages.unknown_pinned_import(url, version))
        if vs is None:
            raise ComposeError(messages.unknown_value_set(f"{url}|{version}" if version else url))
        used = f"{url}|{vs['version']}" if vs.get("version") else url
        if used not in self.used_value_sets:
            self.used_value_sets.append(used)
        return vs

    def _code_system(self, system: str, version: str | None, pinned: str | None) -> CodeSystemIndex | None:
        cs = self.sources.code_system(system, version)
        if cs is None and version and not pinned:
            cs = self.sources.code_system(system)
        if cs is None:
            self.unknown_systems.add(f"{system}|{version}" if version else system)
        else:
            self.used_systems.setdefault(f"{cs.url}|{cs.version}" if cs.version else cs.url, cs)
        return cs

    def _entering(self, vs: Resource) -> _Guard:
        return _Guard(self._stack, vs.get("url") or f"#{id(vs)}", self._open, vs)


class _Guard:
    """Pushes a value set URL for the duration of its evaluation; a repeat is a circular import."""

    def __init__(self, stack: list[str], url: str, open_sets: list[Resource], vs: Resource) -> None:
        self.stack, self.url, self.open, self.vs = stack, url, open_sets, vs

    def __enter__(self) -> None:
        if self.url in self.stack:
            raise ComposeError(messages.circular_import([*self.stack, self.url]))
        self.stack.append(self.url)
        self.open.append(self.vs)

    def __exit__(self, *exc: object) -> None:
        self.stack.pop()
        self.open.pop()


def _item(cs: CodeSystemIndex, concept: Concept | None, ref: Resource | None = None, walk: str = "") -> ExpansionItem:
    ref = ref or {}
    code = concept.code if concept else ref.get("code", "")
    return ExpansionItem(
        system=cs.url,
        code=code,
        display=ref.get("display") or (concept.display if concept else None),
        version=cs.version,
        abstract=bool(concept and concept.not_selectable),
        inactive=bool(concept and concept.inactive),
        designations=tuple(ref.get("designation") or (concept.designations if concept else ())),
        properties=concept.properties if concept else (),
        extensions=concept_marks(ref),
        definition=concept.definition if concept else None,
        walk=walk,
    )


def _distinct(includes: list[Resource]) -> list[Resource]:
    """The includes without repeats: the same include twice adds nothing but work."""
    seen: set[bytes] = set()
    out = []
    for inc in includes:
        key = orjson.dumps(inc, option=orjson.OPT_SORT_KEYS)
        if key not in seen:
            seen.add(key)
            out.append(inc)
    return out


def _structural(system: str, code: str, flt: Resource) -> Membership:
    """A code absent from a fragment is OUT only when its shape rules it out of a hierarchy filter."""
    return Membership.OUT if structural_match(system, code, flt) is False else Membership.UNKNOWN


def _any(results: Iterable[Membership]) -> Membership:
    best = Membership.OUT
    for result in results:
        if result is Membership.IN:
            return result
        if result is Membership.UNKNOWN:
            best = result
    return best


def _all(results: Iterable[Membership]) -> Membership:
    worst = Membership.IN
    for result in results:
        if result is Membership.OUT:
            return result
        if result is Membership.UNKNOWN:
            worst = result
    return worst
