"""`run_export`: an export in, one OperationOutcome per encounter (and per resource outside any) out,
with a summary; groups are judged by a pool of worker processes when the export is large."""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

import orjson

from ..content.index import ContentIndex
from ..core.results import SEVERITY_ORDER, Issue
from .engine import Loaded, Store
from .export import discover
from .judge import Finding, Judged, Line, judge, outcome, problem_text

CHUNK = 200  # groups per task sent to a worker
POOL_FROM = 5_000  # groups: below this, validating in this process beats starting workers


@dataclass
class Summary:
    """What the run saw and found, for the summary table, JUnit and the exit code."""

    files: list[str] = field(default_factory=list)
    loaded: Loaded = field(default_factory=Loaded)
    encounters: int = 0  # groups made of an Encounter
    sirt: int = 0  # encounters a guidance pack's rules applied to
    guidance: str = ""  # the loaded packs' short names ("IPG672"), as the summary table names them
    alone: int = 0  # outcomes of resources that belong to no encounter
    unreadable: int = 0  # lines that are no resource (not JSON, no or an unknown resourceType)
    outcomes: int = 0
    findings: Counter[tuple[str, str]] = field(default_factory=Counter)  # (rule id, severity) -> count
    failing: int = 0  # outcomes with a finding at or above the threshold
    worst: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (name, outcome) of failing ones, for JUnit
    keep_failing: int = 0  # how many failing outcomes to keep in `worst`


@dataclass(frozen=True)
class Options:
    structure: bool = False
    profile: str | None = None
    threshold: int = SEVERITY_ORDER["error"]
    memory_limit: str = "512MB"
    workers: int | None = None  # None: the number of cores when the export is large, else 1
    workdir: Path | None = None


def run_export(path: Path, out: IO[bytes], index: ContentIndex, options: Options = Options(), *, keep_failing: int = 0,
               on_judged: Callable[[Judged], None] | None = None, on_loaded: Callable[[Loaded], None] | None = None, progress: Callable[[str, int, int | None], None] | None = None) -> Summary:
    """Validate every encounter of the export at `path`, writing NDJSON OperationOutcomes to `out`."""
    files = discover(path)
    summary = Summary(files=[f.name for f in files], keep_failing=keep_failing, guidance=index.guidance)
    with tempfile.TemporaryDirectory(prefix="ipg-bulk-", dir=options.workdir) as work:
        pool = _pool(options, index)  # forked before DuckDB starts its threads
        store = Store(files, Path(work), memory_limit=options.memory_limit)
        try:
            summary.loaded = store.load((lambda n: progress("reading", n, None)) if progress else None)
            if on_loaded:
                on_loaded(summary.loaded)
            unknown = store.unknown_kinds(list(summary.loaded.kinds))
            for line, problem in store.problems(unknown):
                summary.unreadable += 1
                judged = _unreadable(line, problem)
                _record(summary, judged, out, options, problem=True)
                if on_judged:
                    on_judged(judged)
            total = store.count_groups()
            if pool is not None and total < POOL_FROM and options.workers is None:
                pool.terminate()
                pool = None
            for each in _judged(store.groups(), index, options, pool, full=on_judged is not None):
                _record(summary, each, out, options)
                if on_judged:
                    on_judged(cast(Judged, each))  # asked for in full: a Judged
                if progress:
                    progress("validating", 1, total)
        finally:
            store.close()
            if pool is not None:
                pool.terminate()
    return summary


@dataclass
class Brief:
    """What the writer needs of a judged group, as a worker sends it back: little to pickle."""

    group: str
    is_encounter: bool
    applies: bool
    data: bytes  # the OperationOutcome, one NDJSON line
    counts: list[tuple[str, str]]  # (rule id, severity) of each finding
    failing: bool


def brief(judged: Judged, threshold: int) -> Brief:
    """The writer's view of a judged group."""
    counts = [(f.rule or f.code, f.severity) for f in judged.findings]
    failing = any(SEVERITY_ORDER.get(severity, 0) <= threshold for _, severity in counts)
    return Brief(judged.group, judged.is_encounter, judged.applies, orjson.dumps(judged.outcome) + b"\n", counts, failing)


def _record(summary: Summary, judged: Judged | Brief, out: IO[bytes], options: Options, *, problem: bool = False) -> None:
    b = judged if isinstance(judged, Brief) else brief(judged, options.threshold)
    out.write(b.data)
    summary.outcomes += 1
    if b.is_encounter:
        summary.encounters += 1
        summary.sirt += b.applies
    elif not problem:
        summary.alone += 1
    summary.findings.update(b.counts)
    if b.failing:
        summary.failing += 1
        if len(summary.worst) < summary.keep_failing:
            summary.worst.append((b.group, orjson.loads(b.data)))


def _unreadable(line: Line, problem: str) -> Judged:
    """A line that is no resource: its own OperationOutcome, one error naming file and line."""
    text = problem_text(line.text, None if line.kind == "Resource" else line.kind) or problem
    issue = Issue("error", "structure", "invalid-data", text, (), "NOT_A_RESOURCE")
    name = f"{line.file} line {line.line}"
    finding = Finding(name, name, line.file, line.line, "error", "structure", "invalid-data", "", text)
    return Judged(name, [finding], outcome(name, None, [(issue, line)]), False, False)


def _pool(options: Options, index: ContentIndex) -> Any:
    workers = options.workers if options.workers is not None else (os.cpu_count() or 1)
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    global _INDEX, _OPTIONS
    _INDEX, _OPTIONS = index, options  # inherited by the forked workers: the content is loaded once
    return multiprocessing.get_context("fork").Pool(workers)


_INDEX: ContentIndex | None = None
_OPTIONS = Options()


def _judge_chunk(chunk: list[list[Line]], full: bool) -> list[Judged] | list[Brief]:
    assert _INDEX is not None
    judged = [judge(lines, _INDEX, structure=_OPTIONS.structure, profile=_OPTIONS.profile) for lines in chunk]
    return judged if full else [brief(j, _OPTIONS.threshold) for j in judged]


def _judged(groups: Iterator[list[Line]], index: ContentIndex, options: Options, pool: Any, full: bool) -> Iterator[Judged | Brief]:
    if pool is None:
        for lines in groups:
            yield judge(lines, index, structure=options.structure, profile=options.profile)
        return
    pending: deque[Any] = deque()
    limit = 4 * (pool._processes or 1)  # tasks in flight: the rest waits in DuckDB, so memory stays bounded
    chunk: list[list[Line]] = []
    for lines in groups:
        chunk.append(lines)
        if len(chunk) >= CHUNK:
            pending.append(pool.apply_async(_judge_chunk, (chunk, full)))
            chunk = []
            while len(pending) >= limit:
                yield from pending.popleft().get()
    if chunk:
        pending.append(pool.apply_async(_judge_chunk, (chunk, full)))
    while pending:
        yield from pending.popleft().get()

