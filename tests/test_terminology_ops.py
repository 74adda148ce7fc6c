"""fhir.terminology_ops: how request parameters become the coding that is validated."""

from __future__ import annotations

from typing import Any

import pytest
from ipg_validator.content.index import ContentIndex
from ipg_validator.fhir.parameters import Params
from ipg_validator.fhir.terminology_ops import validate_code_op

from conftest import OPCS4, PROCEDURES

J12_3 = "Selective internal radiotherapy with microspheres to lesion of liver"


def answer(index: ContentIndex, resource_type: str, **params: str) -> dict[str, Any]:
    """The $validate-code answer's parameters by name (first value of each)."""
    out = validate_code_op(index, Params(params.items()), resource_type=resource_type)
    found: dict[str, Any] = {}
    for p in out["parameter"]:
        found.setdefault(p["name"], next((v for k, v in p.items() if k.startswith("value")), None))
    return found


@pytest.mark.parametrize(("resource_type", "target"), [("ValueSet", {"url": PROCEDURES}), ("CodeSystem", {})])
def test_system_with_pipe_version_is_split(index: ContentIndex, resource_type: str, target: dict[str, str]) -> None:
    """`system=url|version` (HAPI's remote terminology support sends it for a versioned include) is the system at that version."""
    found = answer(index, resource_type, **target, system=f"{OPCS4}|4.11", code="J12.3")
    assert found["result"] is True
    assert (found["system"], found["version"], found["display"]) == (OPCS4, "4.11", J12_3)


def test_system_with_pipe_and_a_version_not_held(index: ContentIndex) -> None:
    found = answer(index, "ValueSet", url=PROCEDURES, system=f"{OPCS4}|4.2", code="J12.3")
    assert found["result"] is False
    assert "4.2" in found["message"] and "4.11" in found["message"]


def test_explicit_system_version_wins_over_the_pipe(index: ContentIndex) -> None:
    found = answer(index, "ValueSet", url=PROCEDURES, system=f"{OPCS4}|4.11", systemVersion="4.2", code="J12.3")
    assert found["result"] is False and found["version"] == "4.2"
