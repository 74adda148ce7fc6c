"""Start-up time to /readyz and resident memory of `ipg-validator serve --workers 2`: shipped fragments, then
full-size generated OPCS-4 and ICD-10 releases (about 12,000 codes each) given with --content."""

from __future__ import annotations

import importlib.util
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ipg_validator.content.trud import import_trud

from .server import Server
from .timing import Timing

RUNS = 3
WORKERS = 2
TRUDGEN = Path(__file__).resolve().parent.parent / "tests" / "support" / "trudgen.py"


@dataclass
class Startup:
    ready: Timing  # seconds to the first 200 from /readyz
    all_workers: Timing  # seconds until every worker has loaded and warmed its content
    rss_total: Timing  # MB, every process of the server (supervisor, workers, resource tracker)
    rss_worker: Timing  # MB, the largest worker
    pss_total: Timing  # MB, proportional set size summed over every process (shared pages counted once)
    codes: int  # OPCS-4 + ICD-10 concepts loaded


def run() -> dict[str, Startup]:
    out = {"shipped fragments": _measure([])}
    with tempfile.TemporaryDirectory(prefix="ipg-bench-trud-") as tmp:
        out["full OPCS-4 + ICD-10 releases"] = _measure([_full_releases(Path(tmp))])
    return out


def _measure(content: list[Path]) -> Startup:
    ready, every, total, worker, pss = [], [], [], [], []
    codes = 0
    for _ in range(RUNS):
        with Server(workers=WORKERS, content=content) as server:
            ready.append(server.wait_ready())
            every.append(server.wait_workers())
            rss = server.rss_mb()
            total.append(sum(rss.values()))
            worker.append(max(rss.get(pid, 0.0) for pid in server.worker_pids()))
            pss.append(sum(server.pss_mb().values()))
            codes = _codes(server)
    return Startup(_timing(ready), _timing(every), _timing(total), _timing(worker), _timing(pss), codes)


def _codes(server: Server) -> int:
    import httpx

    body = httpx.get(server.base + "/readyz").json()
    return sum(int(cs.get("concepts") or 0) for cs in body.get("codeSystems", []) if isinstance(cs, dict))


def _timing(values: list[float]) -> Timing:
    return Timing(statistics.median(values), min(values), max(values))


def _full_releases(folder: Path) -> Path:
    """Full-size synthetic TRUD files written and imported as a user would (`ipg-validator import-trud`)."""
    spec = importlib.util.spec_from_file_location("bench_trudgen", TRUDGEN)
    assert spec is not None and spec.loader is not None
    trudgen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(trudgen)
    opcs = trudgen.write_opcs4_file(folder / trudgen.OPCS411_FILE_NAME, trudgen.full_size_opcs4_rows())
    icd10 = trudgen.write_icd10_file(folder / trudgen.ICD10_FILE_NAME, trudgen.full_size_icd10_rows())
    out = folder / "content"
    import_trud(opcs, icd10, out)
    return out
