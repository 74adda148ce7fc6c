"""Every terminology finding, worded once: what the code is, what is wrong, what to send.

Generic texts follow tx.fhir.org's wording so FHIR clients recognise them; the NHS texts add
the title and the fix a clinical coder needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..content.codesystem import CodeSystemIndex, Concept
from .formats import CodeFormat, Normalised
from ..core.results import ERROR, INFORMATION, WARNING, Issue


def _name(code: str, display: str | None) -> str:
    return f"{code} {display}" if display else code


CODE_NOT_FOUND = "Unable_to_find_code_"


def unclosed_reason(system: str) -> str:
    """The `valueset-unclosed-reason` of an expansion over a fragment. "extension" (meaning expansion) is
    tx.fhir.org's wording, kept byte for byte: the HL7 fragment suite and its clients compare it as is.
    People read the expansion-message beside it (`fragment_expansion`), and the CLI shows only that."""
    return f"This extension is based on a fragment of the code system {system}"


def code_not_found(system: str, code: str, where: str) -> Issue:
    return Issue(ERROR, "not-found", "not-found", f"Unable to find code '{code}' in {system}", (where,), CODE_NOT_FOUND)


def unknown_system(system: str, version: str | None, where: str, known_versions: list[str], quoted: bool = True) -> Issue:
    if not quoted and not version:
        text = f"A definition for CodeSystem {system} could not be found, so the code cannot be validated"
        return Issue(ERROR, "not-found", "not-found", text, (where,), "UNKNOWN_CODESYSTEM")
    if version and known_versions:
        text = (f"A definition for CodeSystem '{system}' version '{version}' could not be found, so the code cannot "
                f"be validated. Valid versions: {present_versions(known_versions)}")
        return Issue(ERROR, "not-found", "not-found", text, (where,), "UNKNOWN_CODESYSTEM_VERSION")
    if version:
        text = (f"A definition for CodeSystem '{system}' version '{version}' could not be found, so the code cannot "
                f"be validated. No versions of this code system are known")
        return Issue(ERROR, "not-found", "not-found", text, (where,), "UNKNOWN_CODESYSTEM_VERSION_NONE")
    text = f"A definition for CodeSystem '{system}' could not be found, so the code cannot be validated"
    return Issue(ERROR, "not-found", "not-found", text, (where,), "UNKNOWN_CODESYSTEM")


def present_versions(known: Iterable[str]) -> str:
    """Known versions as tx servers list them: `a`, `a or b`, `a, b and c`."""
    items = sorted(set(known))
    return " or ".join(items) if len(items) < 3 else f"{', '.join(items[:-1])} and {items[-1]}"


def unknown_system_for_expansion(system: str, version: str | None, known_versions: Sequence[str] = ()) -> Issue:
    label = f"'{system}' version '{version}'" if version else f"'{system}'"
    text = f"A definition for CodeSystem {label} could not be found, so the value set cannot be expanded"
    if version and known_versions:
        return Issue(ERROR, "not-found", "not-found", f"{text}. Valid versions: {present_versions(known_versions)}", (),
                     "UNKNOWN_CODESYSTEM_VERSION_EXP")
    return Issue(ERROR, "not-found", "not-found", text, (), "UNKNOWN_CODESYSTEM_EXP")


def value_mismatch(system: str, in_value_set: str | None, resolved: str | None, found: str | None, in_value: str,
                   where: str) -> Issue:
    """The coding's version differs from the one the value set include (after the version rules) uses.

    `resolved` is None for a versionless include without a rule: then `found`, the release used, is
    named, and it is only a warning (the include does not ask for a version)."""
    if resolved is None:
        text = (f"The code system '{system}' version '{found}' for the versionless include in the ValueSet include is "
                f"different to the one in the value ('{in_value}')")
        return Issue(WARNING, "invalid", "vs-invalid", text, (where,), "VALUESET_VALUE_MISMATCH_DEFAULT", in_message=False)
    if resolved != (in_value_set or ""):
        text = (f"The code system '{system}' version '{resolved}' resulting from the version '{in_value_set or ''}' in the "
                f"ValueSet include is different to the one in the value ('{in_value}')")
        return Issue(ERROR, "invalid", "vs-invalid", text, (where,), "VALUESET_VALUE_MISMATCH_CHANGED")
    text = (f"The code system '{system}' version '{in_value_set}' in the ValueSet include is different to the one in the "
            f"value ('{in_value}')")
    return Issue(ERROR, "invalid", "vs-invalid", text, (where,), "VALUESET_VALUE_MISMATCH")


def version_check(system: str, version: str, wanted: str, where: str | None) -> Issue:
    text = f"The version '{version}' is not allowed for system '{system}': required to be '{wanted}' by a version-check parameter"
    return Issue(ERROR, "exception", "version-error", text, (where,) if where else (), "VALUESET_VERSION_CHECK")


def version_rules_conflict(parameter: str, system: str, versions: list[str]) -> Issue:
    text = f"The {parameter} parameters name more than one version of '{system}': {', '.join(versions)}"
    kind = "OVERRIDE" if parameter == "force-system-version" else "DEFAULT"
    return Issue(ERROR, "invalid", "version-error", text + ": send one", (parameter,), f"SYSTEM_VERSION_MULTIPLE_{kind}")


def unknown_pinned_import(url: str, version: str) -> Issue:
    text = f"Unable to find the imported value set '{url}' version '{version}'"
    return Issue(ERROR, "not-found", "not-found", text, (), "VS_EXP_IMPORT_UNK_PINNED")


def no_system(where: str, looks_like: str | None, severity: str = ERROR) -> Issue:
    """No system: an error when the code looks like an NHS code (it must never be guessed)."""
    text = "Coding has no system. A code with no system has no defined meaning, and it cannot be validated. A system should be provided"
    if looks_like:
        text += f" (the code looks like {looks_like}, but OPCS-4 and ICD-10 codes collide, so the system is never guessed)"
    return Issue(ERROR if looks_like else severity, "invalid", "invalid-data", text, (where,), "Coding_has_no_system__cannot_validate")


def alias_system(alias: str, canonical: str, where: str) -> Issue:
    text = f"The system URI '{alias}' is an alias; send the canonical URI '{canonical}'"
    return Issue(WARNING, "code-invalid", "code-rule", text, (where,), "SYSTEM_ALIAS")


def nhs_format(fmt: CodeFormat, n: Normalised, concept: Concept | None, where: str) -> Issue:
    text = (f"The {fmt.name} code '{n.original}' is not in FHIR format ({'; '.join(n.changes)}): "
            f"read as {_name(n.code, concept.display if concept else None)}; send '{n.code}'")
    return Issue(WARNING, "code-invalid", "code-rule", text, (where,), "NHS_CODE_FORMAT")


def malformed(fmt: CodeFormat, n: Normalised, where: str, other: str | None) -> Issue:
    text = f"'{n.original}' is not a well-formed {fmt.name} code (expected a code like {fmt.example})"
    if fmt.recorded_length == 4 and len(n.code) == 5 and n.code[:4].isalnum():
        text += f"; a local 5th character must be stripped before submission: send '{n.code[:3]}.{n.code[3]}'"
    if other:
        text += f"; it looks like {other}: check the system"
    return Issue(ERROR, "code-invalid", "invalid-code", text, (where,), "MALFORMED_CODE")


def category(fmt: CodeFormat, cs: CodeSystemIndex, concept: Concept | None, code: str, where: str) -> Issue:
    examples = [cs.concepts[c] for c in (concept.children if concept else ())][:3]
    text = f"{fmt.name} {_name(code, concept.display if concept else None)} is a category and cannot be recorded; send one of its subcodes"
    if examples:
        text += ", e.g. " + ", ".join(_name(c.code, c.display) for c in examples)
    return Issue(ERROR, "code-invalid", "invalid-code", text, (where,), "CATEGORY_NOT_RECORDABLE")


def unknown_code(cs: CodeSystemIndex, code: str, where: str) -> Issue:
    version = f" version '{cs.version}'" if cs.version else ""
    if cs.is_fragment:
        text = (f"Unknown Code '{code}' in the CodeSystem '{cs.url}'{version} - note that the code system is labeled as a fragment, "
                f"so the code may be valid in some other fragment")
        return Issue(WARNING, "code-invalid", "invalid-code", text, (where,), "UNKNOWN_CODE_IN_FRAGMENT", in_message=False)
    text = f"Unknown code '{code}' in the CodeSystem '{cs.url}'{version}"
    return Issue(ERROR, "code-invalid", "invalid-code", text, (where,), "Unknown_Code_in_Version")


def unconfirmed_nhs_code(fmt: CodeFormat, cs: CodeSystemIndex, code: str, where: str) -> Issue:
    text = (f"{fmt.name} code '{code}' cannot be confirmed without the full classification: only a fragment of "
            f"{cs.title} is loaded (load the NHS TRUD release with `ipg-validator import-trud` to check it)")
    return Issue(WARNING, "code-invalid", "invalid-code", text, (where,), "UNKNOWN_CODE_IN_FRAGMENT")


def wrong_display(system: str, code: str, given: str, expected: str | None, severity: str, where: str) -> Issue:
    text = f"Wrong Display Name '{given}' for {system}#{code}. Valid display is '{expected}'"
    return Issue(severity, "invalid", "invalid-display", text, (where,), "Display_Name_for__should_be_one_of__instead_of")


def inactive(code: str, status: str | None, where: str) -> Issue:
    label = "inactive" if not status or status == "inactive" else f"{status} and inactive"
    text = f"The concept '{code}' has a status of {label} and its use should be reviewed"
    return Issue(WARNING, "business-rule", "code-comment", text, (where,), "INACTIVE_CONCEPT_FOUND")


def supplement_as_system(url: str, version: str | None, where: str) -> Issue:
    label = f"{url}|{version}" if version else url
    text = f"CodeSystem {label} is a supplement, so can't be used as a value in {where}"
    return Issue(ERROR, "invalid", "invalid-data", text, (where,), "CODESYSTEM_CS_NO_SUPPLEMENT")


def deprecated_concept(code: str, where: str) -> Issue:
    text = f"The concept '{code}' is deprecated and its use should be reviewed"
    return Issue(WARNING, "business-rule", "code-comment", text, (where,), "DEPRECATED_CONCEPT_FOUND")


def display_no_longer_current(given: str, code: str, current: Sequence[str], where: str) -> Issue:
    """The display is only a designation marked deprecated or withdrawn (tx.fhir.org words both `deprecated`)."""
    choices = ", ".join(f'"{c}"' for c in current)
    text = (f"'{given}' is no longer considered a correct display for code '{code}' (status = deprecated). "
            f"The correct display is one of {choices}.")
    return Issue(WARNING, "invalid", "display-comment", text, (where,), "INACTIVE_DISPLAY_FOUND", in_message=False)


def not_in_value_set(system: str, code: str, vs_label: str, where: str, unknown: bool, display: str | None = None,
                     version: str | None = None) -> Issue:
    """The code is not in the value set; `version` and `display` are the coding's own, as received."""
    shown = f"{system}|{version}#{code}" if version else f"{system}#{code}"
    shown += f" ('{display}')" if display else ""
    text = f"The provided code '{shown}' was not found in the value set '{vs_label}'"
    if unknown:
        return Issue(WARNING, "code-invalid", "not-in-vs", text.replace("was not found", "could not be confirmed"), (where,), "None_of_the_provided_codes_are_in_the_value_set_one")
    return Issue(ERROR, "code-invalid", "not-in-vs", text, (where,), "None_of_the_provided_codes_are_in_the_value_set_one")


def local_system(where: str) -> Issue:
    return Issue(ERROR, "invalid", "invalid-data", "Coding.system must be an absolute reference, not a local reference", (where,), "Terminology_TX_System_Relative")


def not_active(code: str, where: str) -> Issue:
    return Issue(ERROR, "business-rule", "code-rule", f"The concept '{code}' is valid but is not active", (where,), "STATUS_CODE_WARNING_CODE")


def no_valid_coding(vs_label: str) -> Issue:
    return Issue(ERROR, "code-invalid", "not-in-vs", f"No valid coding was found for the value set '{vs_label}'", (), "TX_GENERAL_CC_ERROR_MESSAGE")


def this_code_not_in_vs(issue: Issue) -> Issue:
    """A coding of a CodeableConcept that is not in the value set: information (another coding may be)."""
    return Issue(INFORMATION, issue.code, "this-code-not-in-vs", issue.text, issue.expression, issue.message_id, in_message=False)


def case_difference(given: str, correct: str, cs: CodeSystemIndex, where: str) -> Issue:
    label = f"{cs.url}|{cs.version}" if cs.version else cs.url
    text = (f"The code '{given}' differs from the correct code '{correct}' by case. Although the code system '{label}' is "
            f"case insensitive, implementers are strongly encouraged to use the correct case anyway")
    return Issue(INFORMATION, "business-rule", "code-rule", text, (where,), "CODE_CASE_DIFFERENCE", in_message=False)


def cannot_infer(code: str, vs_label: str, where: str, matches: list[str], searched: list[str]) -> Issue:
    text = f"The System URI could not be determined for the code '{code}' in the ValueSet '{vs_label}'"
    if not matches and searched:
        text += f": none of its code systems holds it ({', '.join(searched)})"
    if len(matches) > 1:
        text += f": value set expansion has multiple matches: [{', '.join(matches)}]"
        return Issue(ERROR, "not-found", "cannot-infer", text, (where,), "Unable_to_resolve_system__value_set_has_multiple_matches")
    return Issue(ERROR, "not-found", "cannot-infer", text, (where,), "UNABLE_TO_INFER_CODESYSTEM")


def system_is_value_set(system: str, where: str) -> Issue:
    text = f"The Coding references a value set, not a code system ('{system}')"
    return Issue(ERROR, "invalid", "invalid-data", text, (where,), "Terminology_TX_System_ValueSet2")


def filter_without_value(system: str, prop: str, op: str, where: str) -> Issue:
    text = f"The system {system} filter with property = {prop}, op = {op} has no value"
    return Issue(ERROR, "invalid", "vs-invalid", text, (where,), "UNABLE_TO_HANDLE_SYSTEM_FILTER_WITH_NO_VALUE")


def unknown_value_set(reference: str) -> Issue:
    return Issue(ERROR, "not-found", "not-found", f"A definition for the value Set '{reference}' could not be found", (), "Unable_to_resolve_value_Set_")


CIRCULAR_REFERENCE = "VALUESET_CIRCULAR_REFERENCE"


def circular_import(chain: list[str]) -> Issue:
    return Issue(ERROR, "processing", "vs-invalid", "Circular reference in value set imports: " + " -> ".join(chain), (), CIRCULAR_REFERENCE)


def bad_filter(detail: str) -> Issue:
    return Issue(ERROR, "invalid", "vs-invalid", detail, (), "FILTER_NOT_UNDERSTOOD")


def too_costly(url: str | None, limit: int) -> Issue:
    return Issue(ERROR, "too-costly", "too-costly", f"The value set '{url or '(inline)'}' expansion has too many codes to display (>{limit})", (), "VALUESET_TOO_COSTLY")


def fragment_expansion(cs: CodeSystemIndex) -> Issue:
    text = f"The code system '{cs.url}' version '{cs.version}' is a fragment: this expansion lists only the codes it holds"
    return Issue(INFORMATION, "informational", "process-note", text, (), "CODESYSTEM_FRAGMENT")


CONCEPT_PROPERTIES = "http://hl7.org/fhir/concept-properties"
DEFINITION_PROPERTY_URI = f"{CONCEPT_PROPERTIES}#definition"
STATUS_PROPERTY_URI = f"{CONCEPT_PROPERTIES}#status"
SD = "http://hl7.org/fhir/StructureDefinition/"
# concept extensions answered as expansion properties: extension URL -> (property code, concept-properties URI, type)
CONCEPT_EXTENSION_PROPERTIES = {
    f"{SD}itemWeight": ("weight", f"{CONCEPT_PROPERTIES}#itemWeight", "decimal"),
    f"{SD}codesystem-label": ("label", f"{CONCEPT_PROPERTIES}#label", "string"),
    f"{SD}codesystem-conceptOrder": ("order", f"{CONCEPT_PROPERTIES}#order", "decimal"),
}
RENDERING_EXTENSIONS = (f"{SD}rendering-style", f"{SD}rendering-xhtml")  # echoed on the concept's `contains`
# R4 has no ValueSet.expansion.contains.property: the R5 element as its cross-version extension
R5_CONTAINS_PROPERTY = "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.contains.property"
R5_EXPANSION_PROPERTY = "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.property"


VALUESET_SUPPLEMENT = "http://hl7.org/fhir/StructureDefinition/valueset-supplement"
SUPPLEMENT_MISSING = "VALUESET_SUPPLEMENT_MISSING"


def supplement_missing(canonical: str) -> Issue:
    return Issue(ERROR, "not-found", "not-found", f"Required supplement not found: {canonical}", (), SUPPLEMENT_MISSING)


def supplement_base_unknown(canonical: str, base: str, version: str | None) -> Issue:
    label = f"{base}|{version}" if version else base
    text = f"The supplement {canonical} adds to the code system {label}, which is not known: send it as a tx-resource"
    return Issue(ERROR, "not-found", "not-found", text, ("useSupplement",), SUPPLEMENT_MISSING)


def invalid_display_language(value: str) -> Issue:
    """A displayLanguage parameter that is not a list of language tags (a malformed request: no expression)."""
    return Issue(ERROR, "processing", "invalid-display", f"Invalid displayLanguage: '{value}'", (), "INVALID_DISPLAY_NAME")


LANGUAGE_SYSTEM = "urn:ietf:bcp:47"  # a `designation` parameter `urn:ietf:bcp:47|de` asks for designations in German
PREFERRED_FOR_LANGUAGE = {"system": "http://terminology.hl7.org/CodeSystem/hl7TermMaintInfra",
                          "code": "preferredForLanguage", "display": "Preferred For Language"}


JSON_TYPES = {dict: "an object", list: "an array", bool: "a boolean", int: "a number", float: "a number"}


def not_a_string(path: str, value: object, parameter: str) -> Issue:
    """An element of a resource the request supplied (`parameter`: tx-resource, conceptMap) that must be a string."""
    kind = "an empty string" if isinstance(value, str) else JSON_TYPES.get(type(value), type(value).__name__)
    text = (f"{path} in the {parameter} parameter is {kind}, but it must be a string with content (a code, URI or text): "
            f"correct the resource and send it again")
    return Issue(ERROR, "structure", "invalid-data", text, (path,), "RESOURCE_ELEMENT_NOT_A_STRING")
