"""One Engine per loaded index owns the source chains and bounded memos that terminology requests and Bundle
validation share; every memo keeps at most its limit, oldest answer first out."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from ipg_validator import validate_bundle
from ipg_validator.bundle.validate import Judge
from ipg_validator.fhir.terminology_ops import shared_sources
from ipg_validator.server.app import create_app
from ipg_validator.terminology.engine import engine_for
from ipg_validator.terminology.memo import Memo

from conftest import OPCS4, PROCEDURES, ROOT


def test_a_memo_keeps_its_limit_oldest_first_out() -> None:
    memo: Memo[str, int] = Memo(3)
    for n, key in enumerate("abc"):
        memo[key] = n
    memo["b"] = 1  # written again: it keeps its place
    memo["d"] = 3
    assert sorted(memo) == ["b", "c", "d"] and memo.get("a") is None and len(memo) == 3
    with pytest.raises(ValueError):
        Memo(0)


def test_a_memo_shared_by_threads_stays_within_its_limit() -> None:
    memo: Memo[int, int] = Memo(100)

    def fill(offset: int) -> None:
        for n in range(5_000):
            memo[offset + n] = n
            memo.get(offset + n // 2)

    threads = [threading.Thread(target=fill, args=(k * 10_000,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(memo) == 100


def test_one_engine_per_index_serves_terminology_and_bundles() -> None:
    app = create_app(warm_up=False)
    index = app.state.index
    engine = engine_for(index)
    assert engine_for(index) is engine and shared_sources(index) is engine.sources
    first, second = Judge(index, set()), Judge(index, set())
    assert first.sources is second.sources is engine.content_sources  # not a chain per Bundle
    assert first.cases is second.cases is engine.memo("bundle.cases")
    validate_bundle((ROOT / "guidance" / "ipg672" / "examples" / "sirt-primary-present.json").read_bytes(), index)
    assert len(engine.memo("bundle.codings")) > 0 and len(engine.memo("bundle.cases")) > 0


def test_made_up_codes_leave_the_shared_memos_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from ipg_validator.terminology import sources

    app = create_app(warm_up=False)
    engine = engine_for(app.state.index)
    monkeypatch.setattr(engine.sources._memo, "limit", 500)
    with TestClient(app) as client:
        for n in range(2_000):  # four times the limit set here
            answer = client.get("/fhir/ValueSet/$validate-code", params={"url": PROCEDURES, "system": OPCS4, "code": f"Q{n:05d}"})
            assert answer.status_code == 200
    assert len(engine.sources._memo) <= 500
    assert sources.MEMO_LIMIT == 50_000  # the limit in service
