"""Generic ValueSet compose semantics, on small code systems and value sets supplied per request."""

from __future__ import annotations

from typing import Any

import pytest
from ipg_validator.content.index import ContentIndex
from ipg_validator.terminology.compose import ComposeError
from ipg_validator.terminology.expand import expand
from ipg_validator.terminology.lookup import lookup
from ipg_validator.core.results import ERROR, WARNING, Coding, ValidationResult
from ipg_validator.terminology.sources import RequestResources, SourceChain
from ipg_validator.terminology.validate import validate_code

CS = "http://example.org/CodeSystem/test"
VCS = "http://example.org/CodeSystem/versioned"
FRAG = "http://example.org/CodeSystem/fragment"
VS = "http://example.org/ValueSet/"

LONG = "a" * 60 + "b"

TEST_CS: dict[str, Any] = {
    "resourceType": "CodeSystem",
    "url": CS,
    "version": "1",
    "status": "active",
    "content": "complete",
    "caseSensitive": True,
    "hierarchyMeaning": "is-a",
    "property": [
        {"code": "colour", "type": "code"},
        {"code": "status", "type": "code"},
        {"code": "inactive", "type": "boolean"},
        {"code": "notSelectable", "type": "boolean"},
    ],
    "concept": [
        {
            "code": "A", "display": "Alpha",
            "concept": [
                {"code": "A1", "display": "Alpha one", "concept": [
                    {"code": "A11", "display": "Alpha one one"},
                    {"code": "A12", "display": "Alpha one two", "property": [{"code": "status", "valueCode": "retired"}]},
                ]},
                {"code": "A2", "display": "Alpha two", "property": [{"code": "notSelectable", "valueBoolean": True}],
                 "concept": [{"code": "A21", "display": "Alpha two one"}]},
            ],
        },
        {
            "code": "B", "display": "Beta", "property": [{"code": "colour", "valueCode": "red"}],
            "concept": [
                {"code": "B1", "display": "Beta one",
                 "property": [{"code": "colour", "valueCode": "blue"}, {"code": "inactive", "valueBoolean": True}]},
            ],
        },
        {"code": "C", "display": "Gamma", "property": [{"code": "colour", "valueCode": "green"}]},
        {"code": "aaaa", "display": "Four a"},
        {"code": LONG, "display": "Long a"},
    ],
}
ALL = ["A", "A1", "A11", "A12", "A2", "A21", "B", "B1", "C", "aaaa", LONG]


def versioned(version: str, codes: list[str]) -> dict[str, Any]:
    return {
        "resourceType": "CodeSystem", "url": VCS, "version": version, "status": "active",
        "content": "complete", "caseSensitive": True,
        "concept": [{"code": c, "display": f"{c} (v{version})"} for c in codes],
    }


def frag(content: str) -> dict[str, Any]:
    return {
        "resourceType": "CodeSystem", "url": FRAG, "version": "1", "status": "active",
        "content": content, "caseSensitive": True,
        "concept": [{"code": "F1", "display": "Eff one"}, {"code": "F2", "display": "Eff two"}],
    }


def vs(name: str, *include: dict[str, Any], exclude: list[dict[str, Any]] | None = None, **compose: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"include": list(include), **compose}
    if exclude:
        body["exclude"] = exclude
    return {"resourceType": "ValueSet", "url": VS + name, "status": "active", "compose": body}


def flt(prop: str, op: str, value: str) -> dict[str, Any]:
    return {"property": prop, "op": op, "value": value}


def chain(index: ContentIndex, *resources: dict[str, Any]) -> SourceChain:
    return SourceChain([RequestResources([TEST_CS, versioned("1", ["X", "Y"]), versioned("2", ["X", "Z"]), *resources]), index])


def expanded(index: ContentIndex, valueset: dict[str, Any], *extra: dict[str, Any], **kw: Any) -> list[str]:
    return [i.code for i in expand(chain(index, valueset, *extra), valueset, **kw).items]


def member(index: ContentIndex, valueset: dict[str, Any], code: str, system: str = CS, *extra: dict[str, Any], **kw: Any) -> ValidationResult:
    return validate_code(chain(index, valueset, *extra), [Coding(system=system, code=code, **kw)], value_set=valueset)


def errors(r: ValidationResult) -> list[str]:
    return [i.text for i in r.issues if i.severity == ERROR]


# -- filters -------------------------------------------------------------------------------

FILTER_CASES = [
    (flt("concept", "is-a", "A"), ["A", "A1", "A11", "A12", "A2", "A21"]),
    (flt("concept", "is-a", "A1"), ["A1", "A11", "A12"]),
    (flt("concept", "descendent-of", "A"), ["A1", "A11", "A12", "A2", "A21"]),
    (flt("concept", "descendent-of", "A11"), []),
    (flt("concept", "is-not-a", "A"), ["B", "B1", "C", "aaaa", LONG]),
    (flt("concept", "is-not-a", "A1"), ["A", "A2", "A21", "B", "B1", "C", "aaaa", LONG]),
    (flt("concept", "child-of", "A"), ["A1", "A2"]),
    (flt("concept", "child-of", "B"), ["B1"]),
    (flt("colour", "=", "red"), ["B"]),
    (flt("colour", "=", "purple"), []),
    (flt("colour", "in", "red,green"), ["B", "C"]),
    (flt("colour", "exists", "true"), ["B", "B1", "C"]),
    (flt("colour", "exists", "false"), ["A", "A1", "A11", "A12", "A2", "A21", "aaaa", LONG]),
    (flt("code", "regex", "A[0-9]+"), ["A1", "A11", "A12", "A2", "A21"]),
    (flt("code", "regex", "(a+)+$"), ["aaaa"]),
    (flt("inactive", "=", "true"), ["A12", "B1"]),
]


@pytest.mark.parametrize(("f", "expected"), FILTER_CASES, ids=lambda x: f"{x['op']}:{x['value']}" if isinstance(x, dict) else None)
def test_filter_expansion(index: ContentIndex, f: dict[str, Any], expected: list[str]) -> None:
    valueset = vs("filter", {"system": CS, "filter": [f]})
    assert sorted(expanded(index, valueset)) == sorted(expected)


@pytest.mark.parametrize(("f", "expected"), FILTER_CASES, ids=lambda x: f"{x['op']}:{x['value']}" if isinstance(x, dict) else None)
def test_filter_membership_agrees_with_expansion(index: ContentIndex, f: dict[str, Any], expected: list[str]) -> None:
    valueset = vs("filter", {"system": CS, "filter": [f]})
    for code in ALL:
        r = member(index, valueset, code)
        in_vs = not any(i.tx_code == "not-in-vs" for i in r.issues)
        assert in_vs == (code in expected), code


def test_pathological_regex_on_long_code(index: ContentIndex) -> None:
    valueset = vs("redos", {"system": CS, "filter": [flt("code", "regex", "(a+)+$")]})
    r = member(index, valueset, LONG)
    assert r.result is False
    assert any(i.tx_code == "not-in-vs" for i in r.issues)
    assert member(index, valueset, "aaaa").result is True


def test_two_filters_are_anded(index: ContentIndex) -> None:
    valueset = vs("and", {"system": CS, "filter": [flt("concept", "is-a", "B"), flt("colour", "=", "blue")]})
    assert expanded(index, valueset) == ["B1"]


def test_unsupported_filter_is_a_compose_error(index: ContentIndex) -> None:
    valueset = vs("bad", {"system": CS, "filter": [flt("colour", "frobnicates", "x")]})
    with pytest.raises(ComposeError):
        expand(chain(index, valueset), valueset)


def test_broken_regex_is_a_compose_error(index: ContentIndex) -> None:
    valueset = vs("badre", {"system": CS, "filter": [flt("code", "regex", "(unclosed")]})
    with pytest.raises(ComposeError):
        expand(chain(index, valueset), valueset)


# -- include / exclude / concept lists ----------------------------------------------------


def test_include_whole_system(index: ContentIndex) -> None:
    assert expanded(index, vs("all", {"system": CS})) == ALL


def test_include_and_exclude(index: ContentIndex) -> None:
    valueset = vs("ex", {"system": CS, "filter": [flt("concept", "is-a", "A")]},
                  exclude=[{"system": CS, "filter": [flt("concept", "is-a", "A1")]}])
    assert expanded(index, valueset) == ["A", "A2", "A21"]
    assert member(index, valueset, "A21").result is True
    assert member(index, valueset, "A11").result is False
    assert member(index, valueset, "A1").result is False


def test_exclude_concept_list(index: ContentIndex) -> None:
    valueset = vs("exlist", {"system": CS}, exclude=[{"system": CS, "concept": [{"code": "B"}, {"code": LONG}]}])
    assert expanded(index, valueset) == [c for c in ALL if c not in ("B", LONG)]
    assert member(index, valueset, "B").result is False
    assert member(index, valueset, "B1").result is True


def test_concept_list(index: ContentIndex) -> None:
    valueset = vs("list", {"system": CS, "concept": [{"code": "A11"}, {"code": "C", "display": "Gamma (local)"}]})
    e = expand(chain(index, valueset), valueset)
    assert [(i.code, i.display) for i in e.items] == [("A11", "Alpha one one"), ("C", "Gamma (local)")]
    assert member(index, valueset, "A11").result is True
    assert member(index, valueset, "C").result is True
    assert member(index, valueset, "A1").result is False


def test_not_selectable_and_inactive_in_expansion(index: ContentIndex) -> None:
    valueset = vs("flags", {"system": CS})
    items = {i.code: i for i in expand(chain(index, valueset), valueset).items}
    assert items["A2"].abstract is True
    assert items["A21"].abstract is False
    assert items["A12"].inactive is True
    assert items["B1"].inactive is True
    assert items["A11"].inactive is False


def test_lookup_generic_concept(index: ContentIndex) -> None:
    sources = chain(index)
    r = lookup(sources, CS, "A2")
    assert r.found and r.abstract and r.display == "Alpha two"
    assert ("parent", "A") in r.properties and ("child", "A21") in r.properties
    r = lookup(sources, CS, "A12")
    assert r.found and r.inactive
    assert lookup(sources, CS, "nope").found is False


def test_inactive_false_excludes_inactive_codes(index: ContentIndex) -> None:
    valueset = vs("active", {"system": CS}, inactive=False)
    assert expanded(index, valueset) == [c for c in ALL if c not in ("A12", "B1")]
    assert member(index, valueset, "A12").result is False
    assert member(index, valueset, "B1").result is False
    assert member(index, valueset, "A11").result is True
    # without inactive=false they are members, flagged with a warning
    plain = vs("plain", {"system": CS})
    r = member(index, plain, "A12")
    assert r.result is True and r.inactive is True
    assert any(i.severity == WARNING for i in r.issues)


def test_active_only_expansion(index: ContentIndex) -> None:
    valueset = vs("plain", {"system": CS})
    items = expand(chain(index, valueset), valueset, active_only=True).items
    assert "A12" not in [i.code for i in items] and "B1" not in [i.code for i in items]


# -- imports -------------------------------------------------------------------------------

VS_A = vs("a", {"system": CS, "filter": [flt("concept", "is-a", "A")]})
VS_B = vs("b", {"system": CS, "concept": [{"code": "A1"}, {"code": "A11"}, {"code": "B"}, {"code": "C"}]})


def test_value_set_imports_union(index: ContentIndex) -> None:
    union = vs("union", {"valueSet": [VS + "a"]}, {"valueSet": [VS + "b"]})
    got = expanded(index, union, VS_A, VS_B)
    assert sorted(got) == sorted(["A", "A1", "A11", "A12", "A2", "A21", "B", "C"])
    assert len(got) == len(set(got))
    assert member(index, union, "C", CS, VS_A, VS_B).result is True
    assert member(index, union, "A21", CS, VS_A, VS_B).result is True
    assert member(index, union, "B1", CS, VS_A, VS_B).result is False


def test_value_set_imports_intersection(index: ContentIndex) -> None:
    both = vs("both", {"valueSet": [VS + "a", VS + "b"]})
    assert sorted(expanded(index, both, VS_A, VS_B)) == ["A1", "A11"]
    assert member(index, both, "A11", CS, VS_A, VS_B).result is True
    assert member(index, both, "A2", CS, VS_A, VS_B).result is False
    assert member(index, both, "C", CS, VS_A, VS_B).result is False


def test_system_and_value_set_in_one_include_intersect(index: ContentIndex) -> None:
    mixed = vs("mixed", {"system": CS, "concept": [{"code": "A11"}, {"code": "B"}, {"code": "B1"}], "valueSet": [VS + "a"]})
    assert expanded(index, mixed, VS_A) == ["A11"]
    assert member(index, mixed, "A11", CS, VS_A).result is True
    assert member(index, mixed, "B", CS, VS_A).result is False


def test_import_with_version(index: ContentIndex) -> None:
    versioned_vs = {**VS_B, "version": "7"}
    imp = vs("impv", {"valueSet": [VS + "b|7"]})
    assert sorted(expanded(index, imp, versioned_vs)) == ["A1", "A11", "B", "C"]


def test_two_systems_in_one_value_set(index: ContentIndex) -> None:
    two = vs("two", {"system": CS, "concept": [{"code": "A"}]}, {"system": VCS, "version": "1", "concept": [{"code": "Y"}]})
    items = expand(chain(index, two), two).items
    assert [(i.system, i.code) for i in items] == [(CS, "A"), (VCS, "Y")]
    assert member(index, two, "A", CS).result is True
    assert member(index, two, "Y", VCS, version="1").result is True
    assert member(index, two, "Y", CS).result is False  # right code, wrong system
    assert member(index, two, "A", VCS, version="1").result is False


# -- versions ------------------------------------------------------------------------------


def test_version_pins(index: ContentIndex) -> None:
    v1 = vs("v1", {"system": VCS, "version": "1"})
    v2 = vs("v2", {"system": VCS, "version": "2"})
    assert expanded(index, v1) == ["X", "Y"]
    assert expanded(index, v2) == ["X", "Z"]
    items = expand(chain(index, v1), v1).items
    assert {i.version for i in items} == {"1"}
    assert items[0].display == "X (v1)"
    assert member(index, v1, "Y", VCS, version="1").result is True
    assert member(index, v1, "Z", VCS, version="2").result is False
    assert member(index, v2, "Z", VCS, version="2").result is True
    assert member(index, v2, "Y", VCS, version="1").result is False


def test_pinned_unknown_version_cannot_expand(index: ContentIndex) -> None:
    v9 = vs("v9", {"system": VCS, "version": "9"})
    with pytest.raises(ComposeError) as caught:
        expand(chain(index, v9), v9)
    assert caught.value.issue.code == "not-found"


def test_coding_version_selects_code_system(index: ContentIndex) -> None:
    sources = chain(index)
    assert validate_code(sources, [Coding(system=VCS, code="Y", version="1")]).result is True
    assert validate_code(sources, [Coding(system=VCS, code="Y", version="2")]).result is False
    assert validate_code(sources, [Coding(system=VCS, code="Z", version="2")]).result is True
    r = validate_code(sources, [Coding(system=VCS, code="X", version="3")])
    assert r.result is False and r.unknown_systems


# -- errors --------------------------------------------------------------------------------


def test_circular_import(index: ContentIndex) -> None:
    a = vs("circle-a", {"valueSet": [VS + "circle-b"]})
    b = vs("circle-b", {"valueSet": [VS + "circle-a"]}, {"system": CS, "concept": [{"code": "A"}]})
    sources = chain(index, a, b)
    with pytest.raises(ComposeError) as caught:
        expand(sources, a)
    assert "ircular" in str(caught.value)
    with pytest.raises(ComposeError) as refused:
        validate_code(sources, [Coding(system=CS, code="A")], value_set=a)
    assert refused.value.invalid and "ircular" in str(refused.value)


def test_self_import(index: ContentIndex) -> None:
    selfish = vs("self", {"valueSet": [VS + "self"]})
    with pytest.raises(ComposeError):
        expand(chain(index, selfish), selfish)
    with pytest.raises(ComposeError) as refused:
        member(index, selfish, "A")
    assert refused.value.invalid


def test_unknown_imported_value_set(index: ContentIndex) -> None:
    valueset = vs("dangling", {"valueSet": [VS + "nowhere"]})
    with pytest.raises(ComposeError) as caught:
        expand(chain(index, valueset), valueset)
    assert caught.value.issue.code == "not-found"
    assert VS + "nowhere" in caught.value.issue.text
    r = member(index, valueset, "A")
    assert r.result is False
    assert any(i.code == "not-found" for i in r.issues)


def test_unknown_system_cannot_expand(index: ContentIndex) -> None:
    valueset = vs("nosys", {"system": "http://example.org/none"})
    with pytest.raises(ComposeError) as caught:
        expand(chain(index, valueset), valueset)
    assert caught.value.issue.code == "not-found"


def test_expansion_too_costly(index: ContentIndex) -> None:
    valueset = vs("big", {"system": CS})
    with pytest.raises(ComposeError) as caught:
        expand(chain(index, valueset), valueset, max_items=3)
    assert caught.value.issue.code == "too-costly"
    assert len(expanded(index, valueset, max_items=len(ALL))) == len(ALL)


# -- fragments -----------------------------------------------------------------------------


def test_unknown_code_in_fragment_is_a_warning(index: ContentIndex) -> None:
    sources = chain(index, frag("fragment"))
    r = validate_code(sources, [Coding(system=FRAG, code="F9")])
    assert r.result is True
    assert [i.severity for i in r.issues] == [WARNING]
    assert "fragment" in r.issues[0].text
    valueset = vs("frag", {"system": FRAG})
    r = validate_code(chain(index, frag("fragment"), valueset), [Coding(system=FRAG, code="F9")], value_set=valueset)
    assert r.result is True
    assert not errors(r)


def test_unknown_code_in_complete_system_is_an_error(index: ContentIndex) -> None:
    sources = chain(index, frag("complete"))
    r = validate_code(sources, [Coding(system=FRAG, code="F9")])
    assert r.result is False
    assert errors(r)
    assert "F9" in errors(r)[0]
    valueset = vs("frag", {"system": FRAG})
    r = validate_code(chain(index, frag("complete"), valueset), [Coding(system=FRAG, code="F9")], value_set=valueset)
    assert r.result is False


def test_known_code_in_fragment_is_valid(index: ContentIndex) -> None:
    r = validate_code(chain(index, frag("fragment")), [Coding(system=FRAG, code="F1", display="Eff one")])
    assert r.result is True and r.issues == []


# -- generic validate-code details ---------------------------------------------------------


def test_generic_wrong_display_is_an_error(index: ContentIndex) -> None:
    r = validate_code(chain(index), [Coding(system=CS, code="A", display="Not alpha")])
    assert r.result is False
    assert any("Not alpha" in t for t in errors(r))
    assert validate_code(chain(index), [Coding(system=CS, code="A", display="ALPHA")]).result is True


def test_generic_code_is_case_sensitive(index: ContentIndex) -> None:
    r = validate_code(chain(index), [Coding(system=CS, code="a1")])
    assert r.result is False


def test_request_resources_shadow_nothing_of_the_index(index: ContentIndex) -> None:
    sources = chain(index)
    assert sources.code_system(CS) is not None
    assert sources.value_set("https://ipg-validator.org/fhir/ValueSet/ipg672-procedures") is not None
    assert index.code_system(CS) is None


def test_codeable_concept(index: ContentIndex) -> None:
    valueset = vs("cc", {"system": CS, "concept": [{"code": "C"}]})
    sources = chain(index, valueset)
    r = validate_code(sources, [Coding(system=CS, code="A"), Coding(system=CS, code="C")], value_set=valueset, codeable_concept=True)
    assert r.result is True
    assert r.code == "C"
    r = validate_code(sources, [Coding(system=CS, code="A"), Coding(system=CS, code="B")], value_set=valueset, codeable_concept=True)
    assert r.result is False
