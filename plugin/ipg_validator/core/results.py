"""Plain-data results of the terminology engine; the FHIR layer turns them into resources."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERROR = "error"
WARNING = "warning"
INFORMATION = "information"
SEVERITY_ORDER = {"fatal": 0, ERROR: 1, WARNING: 2, INFORMATION: 3}


@dataclass(frozen=True, slots=True)
class Coding:
    """A coding as received: nothing normalised yet. `path` locates it for issue expressions."""

    system: str | None = None
    code: str | None = None
    version: str | None = None
    display: str | None = None
    path: str = ""

    def at(self, element: str) -> str:
        """The expression of one element of this coding (`Coding.code`, or `code` at the top level)."""
        return f"{self.path}.{element}" if self.path else element


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding: FHIR IssueType `code`, tx-issue-type `tx_code`, and where it applies."""

    severity: str
    code: str
    tx_code: str
    text: str
    expression: tuple[str, ...] = ()
    message_id: str | None = None
    details_system: str | None = None  # defaults to tx-issue-type in the FHIR layer
    in_message: bool = True  # part of the one-line `message` (notes such as a case difference are not)

    @property
    def is_error(self) -> bool:
        return self.severity in (ERROR, "fatal")


@dataclass
class ValidationResult:
    """The answer of validate-code: whether the coding is valid, what it is, and every finding."""

    result: bool
    system: str | None = None
    code: str | None = None
    version: str | None = None
    display: str | None = None
    issues: list[Issue] = field(default_factory=list)
    unknown_systems: list[str] = field(default_factory=list)
    codings: list[Coding] = field(default_factory=list)  # the CodeableConcept, when one was validated
    inactive: bool = False
    normalised_from: str | None = None  # the code as received, when it was in an NHS format
    normalized_code: str | None = None  # the code as the code system has it, when the one received differs by case
    status: str | None = None  # the concept's status property, when it has one other than active
    unknown_in_value_set: bool = False  # the unknown system was met validating against a value set
    in_value_set: bool | None = None  # against a value set: whether the code is in it
    value_set_error: Issue | None = None  # the value set could not be evaluated (e.g. an unknown import)
    missing_release: bool = False  # the release the value set asks for does not exist (tx servers' "unknown" answer)

    @property
    def error_message(self) -> str | None:
        """Error texts only (warnings when there are no errors), for people reading one line."""
        for wanted in (ERROR, WARNING):
            texts = sorted({i.text for i in self.issues if i.severity == wanted or (wanted == ERROR and i.is_error)})
            if texts:
                return "; ".join(texts)
        return None

    @property
    def message(self) -> str | None:
        """The text of every issue that belongs in the message, sorted and joined with "; " as tx servers do."""
        texts = sorted({i.text for i in self.issues if i.in_message})
        return "; ".join(texts) if texts else None


@dataclass(frozen=True, slots=True)
class ExpansionItem:
    """One code of an expansion."""

    system: str
    code: str
    display: str | None = None
    version: str | None = None
    abstract: bool = False
    inactive: bool = False
    designations: tuple[Any, ...] = ()
    properties: tuple[tuple[str, Any], ...] = ()
    extensions: tuple[Any, ...] = ()  # the include concept's deprecation marks, echoed on `contains`
    definition: str | None = None  # the concept's definition (answered for includeDefinition or property=definition)
    contains: tuple["ExpansionItem", ...] = ()  # the items nested under this one (hierarchical expansions)
    # how the include that gave the item walks its code system: "all" (every code), "filter" (filtered),
    # "" (listed codes or an imported value set: never nested)
    walk: str = ""
    show_version: bool = False  # the expansion mixes releases of this system: `contains` names the version


@dataclass(frozen=True, slots=True)
class PropertyDef:
    """A concept property as its code system declares it: code, URI and FHIR type (`code`, `string`, ...)."""

    code: str
    uri: str | None
    type: str


@dataclass
class Expansion:
    """A ValueSet expansion: the page of items asked for, the total, and the code systems used."""

    items: list[ExpansionItem]
    total: int
    offset: int = 0
    used_code_systems: list[str] = field(default_factory=list)  # "url|version"
    used_value_sets: list[str] = field(default_factory=list)  # imported, "url|version"
    fragments: list[str] = field(default_factory=list)  # the used code systems that are fragments, "url|version"
    issues: list[Issue] = field(default_factory=list)
    statuses: list[tuple[str, str]] = field(default_factory=list)  # (deprecated/withdrawn/..., "url|version") used
    version_rules: list[tuple[str, str]] = field(default_factory=list)  # (parameter, "url|version") that chose a version
    properties: list[PropertyDef] = field(default_factory=list)  # the requested properties the code systems define
    display_language: str | None = None  # the display languages that applied, as echoed (displayLanguage)
    versions_match: bool = False  # versionsMatch applied to releases of one system (echoed)


@dataclass
class LookupResult:
    """What $lookup says about a code."""

    found: bool
    system: str
    code: str
    name: str | None = None
    version: str | None = None
    display: str | None = None
    definition: str | None = None
    abstract: bool = False
    inactive: bool = False
    designations: list[Any] = field(default_factory=list)
    properties: list[tuple[str, Any]] = field(default_factory=list)
    property_types: dict[str, str] = field(default_factory=dict)  # code -> FHIR type, as the CodeSystem declares it
    issues: list[Issue] = field(default_factory=list)
