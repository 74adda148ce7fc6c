"""The terminology operations ($validate-code, $expand, $lookup) from Parameters to FHIR resources.

Shared by the HTTP routers and the CLI so both answer with the same resources.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..content.index import ContentIndex
from ..terminology.compose import ComposeError, check_filters
from ..terminology.designations import DesignationOptions
from ..terminology.engine import engine_for, fhir_core
from ..terminology.expand import expand
from ..terminology.languages import is_valid_list, value_set_language
from ..terminology.lookup import lookup
from ..terminology import messages
from ..core.results import Coding, Issue
from ..terminology.sources import RequestResources, SourceChain, split_canonical
from ..terminology.supplements import SupplementMissing, required_supplements, supplement_designations, supplementing, with_supplements
from ..terminology.validate import ValidateOptions, validate_code, vs_label
from ..terminology.versions import CHECK, DEFAULT, FORCE, VALUESET_DEFAULT, VersionConflict, VersionRules
from ..core.errors import FhirError
from ..core.jsonio import dump_json
from ..core.limits import Limits
from ..core.outcome import issue_json
from .expansion import expansion_resource
from .parameters import Params, lookup_parameters, terminology_outcome, validation_parameters

Resource = Mapping[str, Any]
ACCEPT_LANGUAGE = "x-accept-language"  # the request's Accept-Language header, added by the HTTP layer


def with_accept_language(params: Params, header: str | None) -> Params:
    """The parameters plus the Accept-Language header (used when no displayLanguage is given)."""
    return Params([*params.items, (ACCEPT_LANGUAGE, header)]) if header else params


def supplied_resources(params: Params, limits: Limits) -> list[dict[str, Any]]:
    """The request's `tx-resource`s, within the count and size limits (a 413 beyond them)."""
    supplied = [r for r in params.all("tx-resource") if isinstance(r, dict)]
    if len(supplied) > limits.max_tx_resources:
        raise FhirError.of(413, "too-costly", f"Too many tx-resource parameters ({len(supplied)}; the limit is {limits.max_tx_resources})", "tx-resource")
    if supplied and len(dump_json(supplied)) > limits.max_tx_resource_bytes:
        raise FhirError.of(413, "too-costly", f"The tx-resource parameters are larger than {limits.max_tx_resource_bytes} bytes", "tx-resource")
    return supplied


def sources_for(index: ContentIndex, params: Params, limits: Limits) -> SourceChain:
    """The content index, behind the request's own `tx-resource`s (used for this request only).

    A request that supplies nothing and sets no version parameter gets the index's shared chain, whose
    memo (bounded) then serves every such request; anything a request brings stays in a chain of its own."""
    supplied = supplied_resources(params, limits)
    inline = params.get("valueSet")
    if isinstance(inline, dict):
        supplied.append(inline)
    if supplied:
        return SourceChain([RequestResources(supplied), index, fhir_core()])
    if any(name in _VERSION_PARAMETERS for name, _ in params.items):  # their notes of what they chose are per request
        return SourceChain([index, fhir_core()])
    return shared_sources(index)


_VERSION_PARAMETERS = frozenset((FORCE, DEFAULT, CHECK, VALUESET_DEFAULT))


def shared_sources(index: ContentIndex) -> SourceChain:
    """The chain over the loaded content and FHIR core alone: the index's Engine's, for the index's life (the
    content never changes once loaded, so what its memo remembers stays true)."""
    return engine_for(index).sources


def display_language(params: Params, names: tuple[str, ...] = ("displayLanguage",)) -> str | None:
    """The first of the `names` parameters given (a 400 when it is not a language list), else the
    Accept-Language header."""
    for name in names:
        asked = params.text(name)
        if asked is not None:
            if not is_valid_list(asked):
                raise FhirError(400, [messages.invalid_display_language(asked)])
            return asked
    return params.text(ACCEPT_LANGUAGE)


def designation_options(params: Params, vs: Resource) -> DesignationOptions:
    """The display languages (the request's, else the value set's own), includeDesignations and `designation`s of $expand."""
    wanted = tuple(d for d in params.all("designation") if isinstance(d, str))
    return DesignationOptions(display_language(params) or value_set_language(vs), params.flag("includeDesignations"), wanted)


def version_rules(params: Params) -> VersionRules:
    """The request's system-version, check-system-version, force-system-version and default-valueset-version."""
    return VersionRules.from_canonicals((name, value) for name, value in params.items
                                        if name in _VERSION_PARAMETERS and isinstance(value, str))


def validate_code_op(index: ContentIndex, params: Params, *, resource_type: str, instance: str | None = None, limits: Limits = Limits()) -> dict[str, Any]:
    """ValueSet/$validate-code or CodeSystem/$validate-code."""
    sources = sources_for(index, params, limits)
    value_set = _value_set(index, sources, params, instance) if resource_type == "ValueSet" else None
    sources, _ = _supplemented(sources, params, value_set)
    codings, cc = _codings(params, resource_type, index, instance)
    options = ValidateOptions(
        lenient_display=params.flag("lenient-display-validation"),
        abstract_ok=params.flag("abstract", True),
        membership_only=params.flag("valueset-membership-only"),
        active_only=params.flag("activeOnly"),
        infer_system=params.flag("inferSystem"),
        display_language=display_language(params),
    )
    try:
        result = validate_code(sources, codings, value_set=value_set, options=options, codeable_concept=cc is not None,
                               rules=version_rules(params))
    except (ComposeError, VersionConflict) as exc:
        raise FhirError(_status_for(exc.issue.code), [exc.issue]) from None
    return validation_parameters(result, cc)


def expand_op(index: ContentIndex, params: Params, *, instance: str | None = None, limits: Limits = Limits()) -> dict[str, Any]:
    """ValueSet/$expand: the value set with an `expansion`, paged by offset and count."""
    sources = sources_for(index, params, limits)
    vs = _value_set(index, sources, params, instance)
    sources, supplements = _supplemented(sources, params, vs)
    count = params.number("count", limits.default_expansion_count)
    try:
        check_filters(vs)
        exp = expand(
            sources, vs, text=params.text("filter"), offset=params.number("offset", 0) or 0,
            count=min(count if count is not None else limits.max_expansion, limits.max_expansion),
            active_only=params.flag("activeOnly"), max_items=limits.max_expansion,
            nested=not params.flag("excludeNested") and params.get("offset") is None and params.get("count") is None,
            rules=version_rules(params),
            properties=[str(p) for p in params.all("property") if isinstance(p, str)],
            designations=designation_options(params, vs),
        )
    except (ComposeError, VersionConflict) as exc:
        raise FhirError(_status_for(exc.issue.code), [exc.issue]) from None
    if params.get("count") is None and exp.total > limits.default_expansion_count:  # all codes asked for: too many
        raise FhirError(422, [messages.too_costly(vs_label(vs), limits.default_expansion_count)])
    return expansion_resource(vs, exp, params, supplements)


def lookup_op(index: ContentIndex, params: Params, *, limits: Limits = Limits()) -> dict[str, Any]:
    """CodeSystem/$lookup by system and code, or by coding; `property` names what to return."""
    return lookup_answer(index, params, limits=limits)[0]


def lookup_answer(index: ContentIndex, params: Params, *, limits: Limits = Limits()) -> tuple[dict[str, Any], list[Issue]]:
    """$lookup's Parameters and the issues met on the way (an NHS-format code, an alias system):
    the Parameters have no place for them, the command line shows them."""
    sources, supplements = _supplemented(sources_for(index, params, limits), params)
    coding = params.get("coding")
    system = coding.get("system") if isinstance(coding, dict) else params.text("system")
    code = coding.get("code") if isinstance(coding, dict) else params.text("code")
    version = coding.get("version") if isinstance(coding, dict) else params.text("version")
    if not system or not code:
        raise FhirError.of(400, "required", "$lookup needs a system and a code (or a coding)", "code" if system else "system")
    # HAPI's remote terminology support sends the display language as `language`
    language = display_language(params, ("displayLanguage", "language"))
    result = lookup(sources, system, code, version, language)
    if not result.found:
        known_system = not any(i.is_error for i in result.issues)
        missing = [messages.code_not_found(result.system, result.code, "code")] if known_system else []
        raise FhirError(404, [*missing, *result.issues])
    supplements = supplementing(sources, supplements, result.system)  # only those of the system looked up
    result.designations = supplement_designations(sources, supplements, result.code, result.designations)
    wanted = frozenset(str(p) for p in params.all("property") if isinstance(p, str))
    answer = lookup_parameters(result, wanted if wanted and "*" not in wanted else None, supplements)  # `*`: every property
    return answer, list(result.issues)


def _supplemented(sources: SourceChain, params: Params, vs: Resource | None = None) -> tuple[SourceChain, list[str]]:
    """The sources with the required supplements merged in (`useSupplement`, the value set's extension); 404 for a missing one."""
    try:
        return with_supplements(sources, required_supplements(params.all("useSupplement"), vs))
    except SupplementMissing as exc:
        raise FhirError(404, [exc.issue]) from None


def _value_set(index: ContentIndex, sources: SourceChain, params: Params, instance: str | None) -> Resource:
    if instance is not None:
        vs = next((r for r in index.resources.get("ValueSet", ()) if r.get("id") == instance), None)
        if vs is None:
            raise FhirError.of(404, "not-found", f"ValueSet/{instance} is not known to this server")
        return vs
    inline = params.get("valueSet")
    if isinstance(inline, dict):
        if inline.get("resourceType") != "ValueSet":
            raise FhirError.of(400, "invalid", "The valueSet parameter must be a ValueSet resource", "valueSet")
        return inline
    url = params.text("url") or params.text("context")
    if not url:
        raise FhirError.of(400, "required", "No value set was given: send url, valueSet, or call the operation on a ValueSet instance", "url")
    url, version = split_canonical(url)
    version = params.text("valueSetVersion") or version
    vs = sources.value_set(url, version)
    if vs is None:
        raise FhirError(404, [messages.unknown_value_set(f"{url}|{version}" if version else url)])
    return vs


def _codings(params: Params, resource_type: str, index: ContentIndex, instance: str | None) -> tuple[list[Coding], dict[str, Any] | None]:
    cc = params.get("codeableConcept")
    if isinstance(cc, dict):
        codings = [_coding(c, f"CodeableConcept.coding[{n}]") for n, c in enumerate(cc.get("coding") or [])]
        if not codings:
            raise FhirError.of(400, "required", "The codeableConcept has no coding to validate", "CodeableConcept.coding")
        return codings, cc
    coding = params.get("coding")
    if isinstance(coding, dict):
        return [_coding(coding, "Coding")], None
    code = params.text("code")
    if code is None:
        # a malformed request, not a finding about a code: no tx-issue-type (tx.fhir.org's answer)
        raise FhirError(400, [Issue("error", "invalid", "", "Unable to find code to validate (looked for coding | codeableConcept | code+system | code+inferSystem in parameters")])
    system = params.text("system")
    version = params.text("systemVersion") or params.text("version")
    if resource_type == "CodeSystem":
        system = system or params.text("url") or _instance_url(index, instance)
        version = params.text("version") or version
    if system and "|" in system:
        # `url|version`, as HAPI's remote terminology support sends a system taken from a versioned include
        system, pinned = split_canonical(system)
        version = version or pinned
    return [Coding(system, code, version, params.text("display"))], None


def _coding(value: Any, path: str) -> Coding:
    if not isinstance(value, dict):
        raise FhirError.of(400, "invalid", f"{path} must be a Coding", path)
    return Coding(value.get("system"), value.get("code"), value.get("version"), value.get("display"), path)


def _instance_url(index: ContentIndex, instance: str | None) -> str | None:
    if instance is None:
        return None
    cs = next((r for r in index.resources.get("CodeSystem", ()) if r.get("id") == instance), None)
    if cs is None:
        raise FhirError.of(404, "not-found", f"CodeSystem/{instance} is not known to this server")
    return str(cs["url"])


def _status_for(code: str) -> int:
    return {"not-found": 404, "too-costly": 422}.get(code, 400)




def batch_validate_op(index: ContentIndex, params: Params, *, limits: Limits = Limits()) -> dict[str, Any]:
    """ValueSet/$batch-validate-code: each `validation` Parameters validated with the shared parameters."""
    shared = [(name, value) for name, value in params.items if name != "validation"]
    answers = []
    for item in params.all("validation"):
        if not isinstance(item, dict):
            raise FhirError.of(400, "invalid", "Each validation parameter must hold a Parameters resource", "validation")
        try:
            answer = validate_code_op(index, Params([*Params.from_resource(item).items, *shared]), resource_type="ValueSet", limits=limits)
        except FhirError as exc:
            answer = terminology_outcome(exc.issues)
        answers.append({"name": "validation", "resource": answer})
    return {"resourceType": "Parameters", "parameter": answers}


def versions_op() -> dict[str, Any]:
    """$versions: the FHIR versions this server speaks, and its default."""
    return {"resourceType": "Parameters", "parameter": [{"name": "version", "valueCode": "4.0"}, {"name": "default", "valueCode": "4.0"}]}


__all__ = ["batch_validate_op", "expand_op", "lookup_answer", "lookup_op", "sources_for", "validate_code_op", "versions_op", "issue_json"]
