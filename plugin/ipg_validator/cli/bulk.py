"""`ipg-validator bulk PATH`: a FHIR Bulk Data export (folder or $export manifest) validated encounter
by encounter, as `Bundle/$validate` validates the same encounter in a Bundle. NDJSON out (one
OperationOutcome per encounter, per resource outside any, per unreadable line), a summary table,
optional JUnit. Exit codes as `validate`: 0 clean, 1 findings at or above --fail-on, 2 an unreadable
line or a usage problem.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import output as show
from ..bulk.export import ExportError
from ..bulk.run import Options, Summary, run_export
from .common import ContentOpt, load_index
from .inputs import Input
from .validate import FailOn, Result, junit_report
from ..core.outcome import operation_outcome
from ..core.results import SEVERITY_ORDER, Issue

JUNIT_KEEP = 10_000  # failing encounters listed one by one in JUnit; the rest are counted in one test case


def bulk(
    path: Annotated[Path, typer.Argument(metavar="PATH", help="A FHIR Bulk Data export: its folder of *.ndjson / *.ndjson.gz files, or its $export manifest (output[].url as local files).", show_default=False)],
    output: Annotated[Optional[Path], typer.Option("--output", metavar="FILE", help="Write the NDJSON OperationOutcomes to FILE (default: stdout, the summary then goes to stderr).")] = None,
    junit: Annotated[Optional[Path], typer.Option("--junit", metavar="FILE", help="Also write JUnit XML: one test case per failing encounter.")] = None,
    fail_on: Annotated[FailOn, typer.Option("--fail-on", help="Exit 1 when an encounter has a finding of this severity or worse.", case_sensitive=False)] = FailOn.error,
    profile: Annotated[Optional[str], typer.Option("--profile", metavar="URL", help="Validate each encounter against this profile (e.g. ipg672-encounter-bundle forces the IPG672 rules).")] = None,
    structure: Annotated[bool, typer.Option("--structure", help="Also run the FHIR R4B structure pass on every resource (much slower).")] = False,
    memory_limit: Annotated[str, typer.Option("--memory-limit", help="Memory DuckDB may use before it spills to disk.")] = "512MB",
    workers: Annotated[Optional[int], typer.Option("--workers", min=1, help="Validation processes (default: the number of cores for large exports).")] = None,
    temp_dir: Annotated[Optional[Path], typer.Option("--temp-dir", metavar="DIR", help="Where DuckDB keeps the export while grouping it (default: the system temp folder).")] = None,
    content: ContentOpt = None,
) -> None:
    """Validate a FHIR Bulk Data export, encounter by encounter. Exit 0 clean, 1 findings at or above --fail-on, 2 unreadable lines or usage problem."""
    index = load_index(content)
    threshold = SEVERITY_ORDER[fail_on.value]
    options = Options(structure=structure, profile=profile, threshold=threshold, memory_limit=memory_limit, workers=workers, workdir=temp_dir)
    report = show.console(stderr=output is None)
    with ExitStack() as stack:
        out = _open(output, stack)
        progress = stack.enter_context(_Progress()) if sys.stderr.isatty() else None
        try:
            summary = run_export(path, out, index, options, keep_failing=JUNIT_KEEP if junit else 0, progress=progress)
        except ExportError as exc:
            show.error(str(exc))
            raise typer.Exit(2) from None
    _render(summary, report)
    if junit is not None:
        try:
            junit.write_bytes(junit_report(_junit_results(summary), threshold))
        except OSError as exc:
            show.error(f"cannot write {junit}: {exc.strerror or exc}")
            raise typer.Exit(2) from None
    raise typer.Exit(2 if summary.unreadable else 1 if summary.failing else 0)


def _open(output: Path | None, stack: ExitStack) -> IO[bytes]:
    if output is None:
        return typer.get_binary_stream("stdout")
    try:
        return stack.enter_context(output.open("wb"))
    except OSError as exc:
        show.error(f"cannot write {output}: {exc.strerror or exc}")
        raise typer.Exit(2) from None


class _Progress:
    """A rich progress bar on stderr: lines read, then groups validated."""

    def __enter__(self) -> _Progress:
        from rich.progress import Progress

        self.bar = Progress(console=Console(stderr=True), transient=True)
        self.bar.__enter__()
        self.tasks: dict[str, Any] = {}
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bar.__exit__(*exc)

    def __call__(self, stage: str, advance: int, total: int | None) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(f"{stage} lines" if stage == "reading" else "validating encounters", total=total)
        self.bar.advance(self.tasks[stage], advance)


def _render(summary: Summary, out: Console) -> None:
    loaded = summary.loaded
    table = Table(title="Bulk export", title_justify="left", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("count", justify="right")
    rows = [
        ("files", len(summary.files)), ("lines read", loaded.lines), ("blank lines", loaded.blank),
        *[(f"{kind} resources", n) for kind, n in loaded.kinds.items()],
        ("encounters validated", summary.encounters), (f"encounters the {summary.guidance or 'guidance'} rules applied to", summary.sirt),
        ("resources in no encounter (validated alone)", summary.alone),
        ("references to an encounter not in the export", loaded.dangling),
        ("unreadable lines (not JSON, no or unknown resourceType)", summary.unreadable),
        ("OperationOutcomes written", summary.outcomes), ("failing (at or above --fail-on)", summary.failing),
    ]
    for what, n in rows:
        table.add_row(what, f"{n:,}")
    out.print(table)
    for note in loaded.mismatched:
        out.print(Text.assemble(("note: ", "yellow"), note))
    findings = Table("rule", "severity", "findings", title="Findings by rule", title_justify="left")
    for (rule, severity), n in sorted(summary.findings.items(), key=lambda kv: (SEVERITY_ORDER.get(kv[0][1], 9), -kv[1], kv[0][0])):
        findings.add_row(rule, Text(severity, style=show.SEVERITY_STYLE.get(severity, "")), f"{n:,}")
    out.print(findings)


def _junit_results(summary: Summary) -> list[Result]:
    results = [Result(Input(name, name), outcome) for name, outcome in summary.worst]
    rest = summary.failing - len(summary.worst)
    if rest > 0:
        text = f"{rest:,} more failing encounters: see the NDJSON output"
        results.append(Result(Input("more failing encounters", "more"), operation_outcome([Issue("error", "informational", "process-note", text)])))
    passed = summary.outcomes - summary.failing
    text = f"{passed:,} encounters and resources with no finding at or above --fail-on"
    results.append(Result(Input("passing encounters", "passing"), operation_outcome([Issue("information", "informational", "process-note", text)])))
    return results
