"""The terminology operations share one source chain per loaded index, so its memo serves every request
that brings nothing of its own; what a request brings (tx-resource, an inline valueSet, version
parameters) is worked out in a chain of that request alone and never reaches the shared memo."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ipg_validator.content.index import ContentIndex
from ipg_validator.fhir.terminology_ops import shared_sources
from ipg_validator.server.app import create_app
from ipg_validator.terminology.compose import Compose

from conftest import OPCS4, PROCEDURES


@pytest.fixture()
def counted(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every (system, code) whose membership is worked out (not answered from a memo)."""
    calls: list[tuple[str, str]] = []
    member = Compose.member

    def counting(self: Compose, vs: Any, system: str, code: str, *args: Any, **kwargs: Any) -> Any:
        calls.append((system, code))
        return member(self, vs, system, code, *args, **kwargs)

    monkeypatch.setattr(Compose, "member", counting)
    return calls


@pytest.fixture()
def fresh() -> Iterator[tuple[TestClient, ContentIndex]]:
    """An app over an index of its own, so the shared chain starts empty."""
    app = create_app(warm_up=False)
    with TestClient(app) as client:
        yield client, app.state.index


def validate(client: TestClient, code: str, **extra: str) -> dict[str, Any]:
    answer = client.get("/fhir/ValueSet/$validate-code", params={"url": PROCEDURES, "system": OPCS4, "code": code, **extra})
    assert answer.status_code == 200, answer.text
    return {p["name"]: next(v for k, v in p.items() if k.startswith("value")) for p in answer.json()["parameter"] if p["name"] == "result"}


def test_the_same_question_is_worked_out_once(fresh: tuple[TestClient, ContentIndex], counted: list[tuple[str, str]]) -> None:
    client, index = fresh
    counted.clear()  # the lifespan's warm-up requests
    assert validate(client, "J12.3") == {"result": True}
    first = len(counted)  # the set and the sets it includes, each worked out once
    assert first >= 1 and set(counted) == {(OPCS4, "J12.3")}
    for _ in range(2):
        assert validate(client, "J12.3") == {"result": True}
    assert len(counted) == first  # three identical requests, the work of one (it was three times the work)
    assert validate(client, "J12.4") == {"result": False}
    assert (OPCS4, "J12.4") in counted
    assert shared_sources(index) is shared_sources(index)


def test_what_a_request_brings_stays_out_of_the_shared_memo(fresh: tuple[TestClient, ContentIndex], counted: list[tuple[str, str]]) -> None:
    client, index = fresh
    validate(client, "J12.3")
    memo = dict(shared_sources(index)._memo)
    narrowed = {"resourceType": "ValueSet", "url": PROCEDURES, "version": "9.9.9", "status": "active",
                "compose": {"include": [{"system": OPCS4, "concept": [{"code": "X65.3"}]}]}}
    answer = client.post("/fhir/ValueSet/$validate-code", json={"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": PROCEDURES}, {"name": "valueSetVersion", "valueString": "9.9.9"},
        {"name": "system", "valueUri": OPCS4}, {"name": "code", "valueCode": "J12.3"}, {"name": "tx-resource", "resource": narrowed}]})
    assert answer.status_code == 200
    assert next(p["valueBoolean"] for p in answer.json()["parameter"] if p["name"] == "result") is False  # the supplied set's answer
    assert validate(client, "Y36.4", **{"system-version": f"{OPCS4}|4.11"}) == {"result": True}
    assert shared_sources(index)._memo == memo  # neither request touched it
    counted.clear()
    assert validate(client, "J12.3") == {"result": True}  # the shipped set's answer, from the shared memo
    assert counted == []
