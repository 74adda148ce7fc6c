"""The server's CapabilityStatement and TerminologyCapabilities, built from the loaded content.

Both say which code system releases are in use and whether each is a fragment or complete;
`content_summary` gives the same facts to the CLI.
"""

from __future__ import annotations

from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ..content.index import ContentIndex

SOFTWARE = "ipg-validator"
FHIR_VERSION = "4.0.1"
FORMATS = ["application/fhir+json", "json", "application/fhir+xml", "xml"]
TERMINOLOGY_SERVER = "http://hl7.org/fhir/CapabilityStatement/terminology-server"
CONTENT_EXTENSION = "http://hl7.org/fhir/5.0/StructureDefinition/extension-TerminologyCapabilities.codeSystem.content"
OPERATION_DEFINITION = "http://hl7.org/fhir/OperationDefinition/"

RESOURCE_TYPES = ("CodeSystem", "ValueSet", "NamingSystem", "StructureDefinition", "OperationDefinition")
OPERATIONS = {
    "CodeSystem": ("lookup", "validate-code"),
    "ValueSet": ("expand", "validate-code", "batch-validate-code"),
}
TRANSLATE = {"type": "ConceptMap", "operation": [{"name": "translate", "definition": f"{OPERATION_DEFINITION}ConceptMap-translate"}]}
SYSTEM_OPERATIONS = (("versions", "http://hl7.org/fhir/OperationDefinition/CapabilityStatement-versions"),)
CAPABILITY_URL = "https://ipg-validator.org/fhir/CapabilityStatement/ipg-validator"
VALIDATED = ("Bundle", "Procedure", "Condition")  # Resource/$validate against the guidance
SEARCH_PARAMS = (("url", "uri"), ("version", "token"), ("name", "string"), ("_id", "token"))
EXPANSION_PARAMS = {
    "filter": "Text filter: every word must start a word of the display, or the text must start the code",
    "offset": "Paging: the first concept to return",
    "count": "Paging: how many concepts to return",
    "activeOnly": "Leave out inactive concepts",
    "displayLanguage": "Language list (as Accept-Language; also read from the header or the value set): each code shows its display in the first language that has one",
    "includeDesignations": "Each code carries its designations (a display replaced by a translation is kept as a preferredForLanguage designation)",
    "designation": "urn:ietf:bcp:47|<language> or system|code of a use: only the matching designations (implies includeDesignations)",
    "excludeNested": "Answer flat: without it, an unpaged expansion nests each code under its parent",
    "tx-resource": "CodeSystems and ValueSets used for this request only (bounded in number and size)",
    "system-version": "url|version (wildcards allowed): the release of a code system to use when none is named",
    "check-system-version": "url|version (wildcards allowed): fail when the release used does not fit it",
    "force-system-version": "url|version (wildcards allowed): the release of a code system to use, whatever is named",
    "includeDefinition": "The value set's definition (its compose) stays in the expansion (a code's definition: property=definition)",
    "property": "Concept properties to answer on each code, declared in expansion.property",
    "useSupplement": "CodeSystem supplements whose designations and properties apply (a missing one is a 404)",
}


def software_version() -> str:
    """The installed package version (a checkout that is not installed says so)."""
    try:
        return version(SOFTWARE)
    except PackageNotFoundError:
        return "0.0.0+unknown"


def content_summary(index: ContentIndex) -> list[dict[str, Any]]:
    """Each loaded code system release: url, version, content (fragment or complete) and concept count."""
    out = []
    for url, releases in sorted(index.code_systems.items()):
        for cs in releases:
            out.append({"url": url, "version": cs.version, "content": cs.content, "concepts": len(cs.concepts)})
    return out


def content_description(index: ContentIndex) -> str:
    """One sentence for people: which releases answer, and whether they are fragments."""
    parts = [
        f"{s['url']}|{s['version'] or '(no version)'} ({'fragment' if s['content'] != 'complete' else 'complete release'}, "
        f"content={s['content']}, {s['concepts']} concepts)"
        for s in content_summary(index)
    ]
    return f"{SOFTWARE} terminology server for NICE {index.guidance or 'no guidance pack'} coding. Code systems in use: " + ("; ".join(parts) or "none") + "."


def rest_security(api_keys: bool, cors: bool) -> dict[str, Any] | None:
    """`rest.security` telling clients how to authenticate (bearer API keys) and whether CORS is on."""
    if not api_keys and not cors:
        return None
    security: dict[str, Any] = {"cors": cors}
    if api_keys:
        security["description"] = (
            "Every request but GET /metadata needs an API key, sent as 'Authorization: Bearer <key>'; "
            "without a known key the answer is 401 with an OperationOutcome."
        )
    return security


def capability_statement(
    index: ContentIndex, base_url: str | None = None, security: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The CapabilityStatement of /metadata: read and search per resource type, the operations, and
    `rest.security` when access control or CORS is configured."""
    rest: dict[str, Any] = {"mode": "server"}
    if security:
        rest["security"] = security
    return {
        "resourceType": "CapabilityStatement",
        "url": CAPABILITY_URL,
        "version": software_version(),
        "name": "IpgValidatorCapabilityStatement",
        "title": "ipg-validator terminology server",
        "status": "active",
        "date": _now(),
        "publisher": SOFTWARE,
        "kind": "instance",
        "instantiates": [TERMINOLOGY_SERVER],
        "software": {"name": SOFTWARE, "version": software_version(), "releaseDate": _release_date()},
        "implementation": _implementation(index, base_url),
        "fhirVersion": FHIR_VERSION,
        "format": FORMATS,
        "rest": [{**rest, "resource": [
            *(_resource(kind, index) for kind in RESOURCE_TYPES), TRANSLATE, *(_validated(kind, index) for kind in VALIDATED)
        ], "operation": [{"name": name, "definition": url} for name, url in SYSTEM_OPERATIONS]}],
    }


def terminology_capabilities(index: ContentIndex, base_url: str | None = None) -> dict[str, Any]:
    """The TerminologyCapabilities of /metadata?mode=terminology: code systems and expansion parameters."""
    code_systems = []
    for url, releases in sorted(index.code_systems.items()):
        versions = []
        for n, cs in enumerate(releases):
            entry: dict[str, Any] = {"extension": [{"url": CONTENT_EXTENSION, "valueCode": cs.content}]}
            if cs.version:
                entry["code"] = cs.version
            entry["isDefault"] = n == 0
            versions.append(entry)
        code_systems.append({"uri": url, "version": versions})
    return {
        "resourceType": "TerminologyCapabilities",
        "url": CAPABILITY_URL.replace("CapabilityStatement", "TerminologyCapabilities"),
        "version": software_version(),
        "name": "IpgValidatorTerminologyCapabilities",
        "title": "ipg-validator terminology capabilities",
        "status": "active",
        "date": _now(),
        "publisher": SOFTWARE,
        "kind": "instance",
        "software": {"name": SOFTWARE, "version": software_version()},
        "implementation": _implementation(index, base_url),
        "codeSystem": code_systems,
        "expansion": {
            "hierarchical": False,
            "paging": True,
            "parameter": [{"name": name, "documentation": doc} for name, doc in sorted(EXPANSION_PARAMS.items())],
            "textFilter": EXPANSION_PARAMS["filter"],
        },
        "validateCode": {"translations": False},
        "translation": {"needsMap": False},
    }


def _implementation(index: ContentIndex, base_url: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": content_description(index)}
    if base_url:
        out["url"] = base_url
    return out


def operation_definition(index: ContentIndex, kind: str, code: str) -> str:
    """The canonical of the operation `code` on `kind`: the content's own OperationDefinition for an
    operation FHIR does not define, else FHIR's."""
    for od in index.resources.get("OperationDefinition", ()):
        if od.get("code") == code and kind in (od.get("resource") or ()) and od.get("url"):
            return str(od["url"])
    return f"{OPERATION_DEFINITION}{kind}-{code}"


def _resource(kind: str, index: ContentIndex) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": kind,
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": [{"name": name, "type": kind_of} for name, kind_of in SEARCH_PARAMS],
    }
    operations = OPERATIONS.get(kind, ())
    if operations:
        out["operation"] = [{"name": op, "definition": operation_definition(index, kind, op)} for op in operations]
    return out


def _validated(kind: str, index: ContentIndex) -> dict[str, Any]:
    profiles = [sd["url"] for sd in index.resources.get("StructureDefinition", ()) if sd.get("type") == kind]
    out: dict[str, Any] = {"type": kind}
    if profiles:
        out["supportedProfile"] = profiles
    out["operation"] = [{"name": "validate", "definition": f"{OPERATION_DEFINITION}Resource-validate"}]
    return out


def _release_date() -> str:
    """When this installed version was built: the package metadata's date, else today."""
    try:
        from importlib.metadata import distribution

        path = distribution(SOFTWARE).locate_file("")
        return datetime.fromtimestamp(Path(str(path)).stat().st_mtime, timezone.utc).date().isoformat()
    except Exception:  # noqa: BLE001 - the date is informative only
        return datetime.now(timezone.utc).date().isoformat()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
