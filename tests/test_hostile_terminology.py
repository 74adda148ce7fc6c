"""Request-supplied content (`tx-resource`, inline `valueSet`): regular expressions built for
catastrophic backtracking, circular and self imports, huge composes, and the tx-resource limits.

Two tests pin work that once grew faster than the request (diamond imports, repeated
includes): the compose evaluation memoises each value set it imports, skips repeated
includes, and counts the codes it handles against the expansion limit.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from ipg_validator.content.index import ContentIndex
from ipg_validator.core.limits import Limits
from ipg_validator.server import create_app

from fuzz import client_for, error_outcome, fhir_answer, issue_texts

OPCS4 = "http://fhir.hl7.org.uk/CodeSystem/OPCS-4"
FHIR = {"content-type": "application/fhir+json"}
EVIL = "(a+)+$"  # exponential on a backtracking engine for 'aaaa...!'
LONG = "a" * 5000 + "!"


@pytest.fixture(scope="module")
def client(index: ContentIndex) -> Iterator[Any]:
    with client_for(create_app(index, warm_up=False)) as c:
        yield c


def P(*params: dict[str, Any]) -> bytes:
    return orjson.dumps({"resourceType": "Parameters", "parameter": list(params)})


def tx(resource: dict[str, Any]) -> dict[str, Any]:
    return {"name": "tx-resource", "resource": resource}


def code_system(url: str, codes: list[str]) -> dict[str, Any]:
    return {"resourceType": "CodeSystem", "url": url, "version": "1", "status": "active", "content": "complete", "concept": [{"code": c} for c in codes]}


def value_set(url: str, *includes: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "ValueSet", "url": url, "status": "active", "compose": {"include": list(includes)}}


def timed(client: Any, path: str, body: bytes) -> tuple[Any, float]:
    started = time.monotonic()
    response = client.post(path, content=body, headers=FHIR)
    return response, time.monotonic() - started


def result(parameters: dict[str, Any]) -> bool:
    return next(p["valueBoolean"] for p in parameters["parameter"] if p["name"] == "result")


# -- regular expressions: RE2, linear time ------------------------------------------------------

CS = code_system("http://example.org/cs", ["a" * 40 + "!", "a" * 40, "b"] + [f"a{n}" for n in range(200)])
REGEX_VS = value_set("http://example.org/vs-evil", {"system": "http://example.org/cs", "filter": [{"property": "code", "op": "regex", "value": EVIL}]})


def test_catastrophic_regex_expand_is_quick_and_right(client: Any) -> None:
    response, seconds = timed(client, "/fhir/ValueSet/$expand", P({"name": "url", "valueUri": "http://example.org/vs-evil"}, tx(CS), tx(REGEX_VS)))
    expansion = fhir_answer(response, 200, "ValueSet")["expansion"]
    assert seconds < 1
    assert sorted(c["code"] for c in expansion.get("contains", [])) == ["a" * 40]  # fullmatch: 'aaa...!' is out


@pytest.mark.parametrize("code,expected", [("a" * 40, True), ("a" * 40 + "!", False)])
def test_catastrophic_regex_validate_code_is_quick_and_right(client: Any, code: str, expected: bool) -> None:
    body = P({"name": "url", "valueUri": "http://example.org/vs-evil"}, {"name": "system", "valueUri": "http://example.org/cs"},
             {"name": "code", "valueCode": code}, tx(CS), tx(REGEX_VS))
    response, seconds = timed(client, "/fhir/ValueSet/$validate-code", body)
    assert result(fhir_answer(response, 200, "Parameters")) is expected
    assert seconds < 1


def test_catastrophic_regex_on_a_long_code_of_a_fragment(client: Any) -> None:
    """A code absent from the OPCS-4 fragment is matched against the regex from its string alone."""
    vs = value_set("http://example.org/vs-opcs-evil", {"system": OPCS4, "filter": [{"property": "code", "op": "regex", "value": EVIL}]})
    body = P({"name": "valueSet", "resource": vs}, {"name": "system", "valueUri": OPCS4}, {"name": "code", "valueCode": LONG})
    response, seconds = timed(client, "/fhir/ValueSet/$validate-code", body)
    assert result(fhir_answer(response, 200, "Parameters")) is False
    assert seconds < 1
    nested = value_set("http://example.org/vs-nested", {"system": OPCS4, "filter": [{"property": "code", "op": "regex", "value": "((a*)*)*(b+)+$"}]})
    response, seconds = timed(client, "/fhir/ValueSet/$validate-code", P({"name": "valueSet", "resource": nested}, {"name": "system", "valueUri": OPCS4}, {"name": "code", "valueCode": LONG}))
    fhir_answer(response, 200, "Parameters")
    assert seconds < 1


@pytest.mark.parametrize("pattern", ["(?<=a)b", "(a)\\1", "(", "[z-a]", "a{100000}", "(?P<n>a)(?P=n)"])
def test_regex_re2_cannot_run_is_a_clear_400(client: Any, pattern: str) -> None:
    vs = value_set("http://example.org/vs-bad", {"system": "http://example.org/cs", "filter": [{"property": "code", "op": "regex", "value": pattern}]})
    response, seconds = timed(client, "/fhir/ValueSet/$expand", P({"name": "url", "valueUri": "http://example.org/vs-bad"}, tx(CS), tx(vs)))
    outcome = error_outcome(response, 400)
    assert "regex" in issue_texts(outcome)[0]
    assert seconds < 1


# -- imports: circular, self ------------------------------------------------------------------

SELF = {"resourceType": "ValueSet", "url": "http://example.org/self", "status": "active", "compose": {"include": [{"valueSet": ["http://example.org/self"]}]}}
A = {"resourceType": "ValueSet", "url": "http://example.org/a", "status": "active", "compose": {"include": [{"valueSet": ["http://example.org/b"]}]}}
B = {"resourceType": "ValueSet", "url": "http://example.org/b", "status": "active", "compose": {"include": [{"system": OPCS4, "concept": [{"code": "X65.3"}]}, {"valueSet": ["http://example.org/c"]}]}}
C = {"resourceType": "ValueSet", "url": "http://example.org/c", "status": "active", "compose": {"include": [{"valueSet": ["http://example.org/a"]}]}}


@pytest.mark.parametrize("url,resources,cycle", [
    ("http://example.org/self", [SELF], "http://example.org/self -> http://example.org/self"),
    ("http://example.org/a", [A, B, C], "http://example.org/a -> http://example.org/b -> http://example.org/c -> http://example.org/a"),
])
def test_circular_imports_expand_is_a_clear_error(client: Any, url: str, resources: list[dict[str, Any]], cycle: str) -> None:
    response, seconds = timed(client, "/fhir/ValueSet/$expand", P({"name": "url", "valueUri": url}, *map(tx, resources)))
    outcome = error_outcome(response, 400)
    assert "Circular reference" in issue_texts(outcome)[0] and cycle in issue_texts(outcome)[0]
    assert seconds < 1


@pytest.mark.parametrize("url,resources", [("http://example.org/self", [SELF]), ("http://example.org/a", [A, B, C])])
def test_circular_imports_validate_code_says_so(client: Any, url: str, resources: list[dict[str, Any]]) -> None:
    body = P({"name": "url", "valueUri": url}, {"name": "system", "valueUri": OPCS4}, {"name": "code", "valueCode": "J12.3"}, *map(tx, resources))
    response, _ = timed(client, "/fhir/ValueSet/$validate-code", body)
    assert "Circular reference" in issue_texts(error_outcome(response, 400))[0]


def test_contained_self_import_is_a_clear_error(client: Any) -> None:
    vs = {"resourceType": "ValueSet", "status": "active", "compose": {"include": [{"valueSet": ["#x"]}]},
          "contained": [{"resourceType": "ValueSet", "id": "x", "status": "active", "compose": {"include": [{"valueSet": ["#x"]}]}}]}
    response, _ = timed(client, "/fhir/ValueSet/$expand", P({"name": "valueSet", "resource": vs}))
    assert "Circular reference" in issue_texts(error_outcome(response, 400))[0]


def test_unknown_import_is_a_clear_error(client: Any) -> None:
    vs = value_set("http://example.org/lost", {"valueSet": ["http://example.org/nowhere"]})
    response, _ = timed(client, "/fhir/ValueSet/$expand", P({"name": "valueSet", "resource": vs}))
    outcome = fhir_answer(response)
    assert response.status_code in (400, 404, 422) and "http://example.org/nowhere" in " ".join(issue_texts(outcome))


# -- huge composes: the expansion limit --------------------------------------------------------

BIG = code_system("http://example.org/big", [f"c{n}" for n in range(30_000)])


@pytest.mark.parametrize("include", [
    {"system": "http://example.org/big"},
    {"system": "http://example.org/big", "concept": [{"code": f"c{n}"} for n in range(30_000)]},
    {"system": "http://example.org/big", "filter": [{"property": "code", "op": "regex", "value": "c[0-9]+"}]},
])
def test_huge_compose_is_cut_by_the_expansion_limit(client: Any, include: dict[str, Any]) -> None:
    vs = value_set("http://example.org/huge", include)
    for extra in ([], [{"name": "count", "valueInteger": 5}]):
        response, seconds = timed(client, "/fhir/ValueSet/$expand", P({"name": "url", "valueUri": "http://example.org/huge"}, tx(BIG), tx(vs), *extra))
        outcome = error_outcome(response, 422, "too-costly")
        assert ">10000" in issue_texts(outcome)[0]
        assert seconds < 5


def test_expansion_limit_is_a_setting(index: ContentIndex) -> None:
    with client_for(create_app(index, limits=Limits(max_expansion=50), warm_up=False)) as small:
        vs = value_set("http://example.org/sixty", {"system": "http://example.org/big", "concept": [{"code": f"c{n}"} for n in range(60)]})
        response = small.post("/fhir/ValueSet/$expand", content=P({"name": "valueSet", "resource": vs}, tx(BIG)), headers=FHIR)
        assert ">50" in issue_texts(error_outcome(response, 422, "too-costly"))[0]


def test_tx_resource_count_and_size_limits(index: ContentIndex) -> None:
    with client_for(create_app(index, limits=Limits(max_tx_resources=3, max_tx_resource_bytes=10_000), warm_up=False)) as small:
        many = P({"name": "url", "valueUri": "http://example.org/vs"}, *[tx(code_system(f"http://example.org/cs{n}", ["a"])) for n in range(4)])
        error_outcome(small.post("/fhir/ValueSet/$expand", content=many, headers=FHIR), 413, "too-costly")
        large = P({"name": "url", "valueUri": "http://example.org/vs"}, tx(code_system("http://example.org/cs", [f"code-{n}" for n in range(2000)])))
        error_outcome(small.post("/fhir/ValueSet/$expand", content=large, headers=FHIR), 413, "too-costly")


def test_tx_resources_are_not_kept(client: Any) -> None:
    """A tx-resource serves the request that carries it, and no later one."""
    vs = value_set("http://example.org/once", {"system": OPCS4, "concept": [{"code": "X65.3"}]})
    with_it = client.post("/fhir/ValueSet/$expand", content=P({"name": "url", "valueUri": "http://example.org/once"}, tx(vs)), headers=FHIR)
    fhir_answer(with_it, 200, "ValueSet")
    without = client.post("/fhir/ValueSet/$expand", content=P({"name": "url", "valueUri": "http://example.org/once"}), headers=FHIR)
    error_outcome(without, 404)
    assert client.get("/fhir/ValueSet", params={"url": "http://example.org/once"}).json().get("total", 0) == 0


# -- work that grows faster than the request (reported: terminology/compose.py) ----------------


def diamond(depth: int) -> list[dict[str, Any]]:
    """d0 imports d1 twice, d1 imports d2 twice, ...: 2**depth evaluations without memoising; ~100 bytes a level."""
    sets = [{"resourceType": "ValueSet", "url": f"http://example.org/d{k}", "status": "active",
             "compose": {"include": [{"valueSet": [f"http://example.org/d{k + 1}"]}, {"valueSet": [f"http://example.org/d{k + 1}"]}]}} for k in range(depth)]
    sets.append(value_set(f"http://example.org/d{depth}", {"system": OPCS4, "concept": [{"code": "X65.3"}]}))
    return [tx(v) for v in sets]


def test_diamond_imports_are_not_exponential(client: Any) -> None:
    depth = 40  # 2**40 evaluations without memoising: this would not answer in a lifetime
    for code, member in (("X65.2", False), ("X65.3", True)):
        body = P({"name": "url", "valueUri": "http://example.org/d0"}, {"name": "system", "valueUri": OPCS4}, {"name": "code", "valueCode": code}, *diamond(depth))
        response, seconds = timed(client, "/fhir/ValueSet/$validate-code", body)
        answer = fhir_answer(response)
        assert next(p["valueBoolean"] for p in answer["parameter"] if p["name"] == "result") is member
        assert seconds < 5


def test_repeated_includes_are_bounded(client: Any) -> None:
    cs = code_system("http://example.org/cs9k", [f"c{n}" for n in range(9000)])
    vs = {**value_set("http://example.org/rep"), "compose": {"include": [{"system": "http://example.org/cs9k"}] * 300}}
    response, seconds = timed(client, "/fhir/ValueSet/$expand", P({"name": "url", "valueUri": "http://example.org/rep"}, {"name": "count", "valueInteger": 1}, tx(cs), tx(vs)))
    answer = fhir_answer(response)
    assert answer["expansion"]["total"] == 9000  # 300 copies of one include hold its 9,000 codes once
    assert seconds < 5  # 11.8 s when every copy was expanded again
