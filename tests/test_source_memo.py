"""A source chain remembers answers about its value sets: per value set object, bounded, and never
for a different object that happens to reuse an id."""

from __future__ import annotations

from ipg_validator.content.index import ContentIndex
from ipg_validator.terminology import sources as sources_module
from ipg_validator.core.results import Coding
from ipg_validator.terminology.sources import SourceChain
from ipg_validator.core.systems import OPCS4
from ipg_validator.terminology.validate import validate_code

from conftest import PROCEDURES


def test_remembered_once_per_value_set_object() -> None:
    chain = SourceChain([])
    calls: list[int] = []
    first, second = {"url": "x"}, {"url": "x"}
    for vs in (first, first, second):
        assert chain.remembered("kind", vs, "key", lambda: calls.append(1) or len(calls)) in (1, 2)
    assert len(calls) == 2  # an equal but different value set is worked out again


def test_memo_is_bounded(monkeypatch: object) -> None:
    monkeypatch.setattr(sources_module, "MEMO_LIMIT", 3)  # type: ignore[attr-defined]
    chain = SourceChain([])
    vs = {"url": "x"}
    for n in range(10):
        chain.remembered("kind", vs, n, lambda: n)
    assert len(chain._memo) <= 3


def test_repeated_validation_gives_the_same_answer(index: ContentIndex) -> None:
    chain = SourceChain([index])
    vs = index.value_set(PROCEDURES)
    for code in ("J12.3", "J12.4", "Y89.1", "J123"):
        answers = [validate_code(chain, [Coding(OPCS4, code)], value_set=vs) for _ in range(3)]
        fresh = validate_code(SourceChain([index]), [Coding(OPCS4, code)], value_set=vs)
        assert all(a == fresh for a in answers)
