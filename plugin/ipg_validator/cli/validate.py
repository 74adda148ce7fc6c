"""`ipg-validator validate PATH...`: encounter Bundles from files, folders, NDJSON or stdin, checked
locally (the same code path as `POST /fhir/Bundle/$validate`) or by a FHIR server (`--server`).

Every input is reported, none skipped silently: a file that cannot be read, is not UTF-8, is
empty, is not JSON or has a property twice in one object is an input with an error (exit 2).
Exit codes: 0 clean, 1 findings at or above --fail-on, 2 an unreadable input or a usage
problem (2 wins over 1).
"""

from __future__ import annotations

import enum
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Annotated, Any, Optional, cast

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import output as show
from .common import ContentOpt, load_index
from .inputs import STDIN, Input, Unreadable, collect_inputs
from ..core.jsonio import FHIR_JSON, dump_json
from ..core.outcome import operation_outcome
from ..fhir.validate_op import validate_operation
from ..core.results import SEVERITY_ORDER, Issue

PROGRESS_THRESHOLD = 20
SERVER_TIMEOUT = 60.0
JUNIT_CLASSNAME = "ipg-validator"


class OutputFormat(str, enum.Enum):
    table = "table"
    json = "json"
    junit = "junit"


class FailOn(str, enum.Enum):
    error = "error"
    warning = "warning"


@dataclass
class Result:
    """An input and the OperationOutcome it got."""

    input: Input
    outcome: dict[str, Any]
    unreadable: bool = False
    counts: dict[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# the command


def validate(
    paths: Annotated[list[str], typer.Argument(metavar="PATH...", help="Bundle files (.json; .ndjson: one Bundle per line; .xml: FHIR XML), folders (searched recursively for *.json, *.ndjson and *.xml), or - for stdin.", show_default=False)],
    output_format: Annotated[OutputFormat, typer.Option("--format", help="table for people; json: the OperationOutcome (a collection Bundle of them for several inputs); junit: JUnit XML for CI.", case_sensitive=False)] = OutputFormat.table,
    fail_on: Annotated[FailOn, typer.Option("--fail-on", help="Exit 1 when an input has a finding of this severity or worse.", case_sensitive=False)] = FailOn.error,
    profile: Annotated[Optional[str], typer.Option("--profile", metavar="URL", help="Validate against this profile (e.g. the ipg672-encounter-bundle profile forces the IPG672 rules).")] = None,
    no_structure: Annotated[bool, typer.Option("--no-structure", help="Skip the FHIR R4B structure pass (codes and IPG672 rules only).")] = False,
    exclude: Annotated[Optional[list[str]], typer.Option("--exclude", metavar="GLOB", help="Leave out files found in folders whose name or path matches GLOB (repeatable), e.g. --exclude '*.expected.json'.")] = None,
    server: Annotated[Optional[str], typer.Option("--server", metavar="URL", help="FHIR base URL: POST each input to URL/Bundle/$validate instead of validating here.")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", metavar="FILE", help="Write the report to FILE instead of stdout.")] = None,
    content: ContentOpt = None,
) -> None:
    """Validate encounter Bundles against the IPG672 coding rules. Exit 0 clean, 1 findings at or above --fail-on, 2 unreadable input or usage problem."""
    if server and no_structure:
        show.error("--no-structure only applies to local validation: a server always runs its own structure checks")
        raise typer.Exit(2)
    if paths.count(STDIN) > 1:
        show.error("- (stdin) can be given only once")
        raise typer.Exit(2)
    found = list(collect_inputs(paths, exclude or []))
    skipped = [item for item in found if item.skipped]
    for item in skipped:
        show.note(f"skipped {item.name}: {item.skipped}", stderr=True)
    inputs = [item for item in found if not item.skipped]
    if not inputs:
        also = f"; {len(skipped)} skipped as not FHIR resources" if skipped else ""
        show.error(f"no inputs: the folders given hold no FHIR *.json, *.ndjson or *.xml files (after --exclude){also}")
        raise typer.Exit(2)
    check = _remote(server, profile) if server else _local(load_index(content), profile, not no_structure)
    results = [_result(item, check) for item in _progress(inputs)]
    threshold = SEVERITY_ORDER[fail_on.value]
    for result in results:
        result.counts = severity_counts(result.outcome)
    failed = [r for r in results if not r.unreadable and _fails(r, threshold)]
    if output_format is OutputFormat.table:
        _write_table(results, threshold, output, len(skipped))
    elif output_format is OutputFormat.json:
        _write_bytes(dump_json(json_report(results), pretty=True) + b"\n", output)
    else:
        _write_bytes(junit_report(results, threshold, skipped), output)
    raise typer.Exit(2 if any(r.unreadable for r in results) else 1 if failed else 0)


# ---------------------------------------------------------------------------------------------
# inputs


def _local(index: Any, profile: str | None, structure: bool) -> Any:
    def check(item: Input) -> dict[str, Any]:
        return validate_operation(index, item.body, "Bundle", profile=profile, structure=structure)

    return check


def _remote(base: str, profile: str | None) -> Any:
    import requests

    url = base.rstrip("/") + "/Bundle/$validate"
    session = requests.Session()
    headers = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON}
    params = {"profile": profile} if profile else None

    def check(item: Input) -> dict[str, Any]:
        try:
            sent = {**headers, "Content-Type": item.media_type}  # the bytes as read, JSON or XML
            response = session.post(url, data=item.raw, headers=sent, params=params, timeout=SERVER_TIMEOUT)
        except requests.RequestException as exc:
            raise Unreadable(f"cannot reach {url}: {exc}") from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or answer.get("resourceType") != "OperationOutcome" or not isinstance(answer.get("issue"), list):
            kind = response.headers.get("content-type", "no content type")
            raise Unreadable(f"{url} answered HTTP {response.status_code} ({kind}) without an OperationOutcome")
        if response.status_code >= 500:
            texts = "; ".join(str((i.get("details") or {}).get("text") or i.get("diagnostics") or "") for i in answer["issue"] if isinstance(i, dict))
            raise Unreadable(f"{url} failed with HTTP {response.status_code}: {texts}")
        return answer

    return check


def _result(item: Input, check: Any) -> Result:
    if item.problem is not None:
        return Result(item, _problem_outcome(item.problem, item.problem_code), unreadable=True)
    try:
        return Result(item, check(item))
    except Unreadable as exc:
        return Result(item, _problem_outcome(str(exc), "exception"), unreadable=True)


def _problem_outcome(text: str, code: str) -> dict[str, Any]:
    return operation_outcome([Issue("fatal", code, "invalid-data", text)])


def _progress(inputs: list[Input]) -> Iterator[Input]:
    if len(inputs) <= PROGRESS_THRESHOLD or not sys.stderr.isatty():
        yield from inputs
        return
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("validating", total=len(inputs))
        for item in inputs:
            yield item
            progress.advance(task)


def issues_of(outcome: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in outcome.get("issue", []) if isinstance(i, dict)]


def severity_counts(outcome: dict[str, Any]) -> dict[str, int]:
    counts = {"fatal": 0, "error": 0, "warning": 0, "information": 0}
    for issue in issues_of(outcome):
        severity = issue.get("severity")
        counts[severity if severity in counts else "error"] += 1
    return counts


def _rank(severity: Any) -> int:
    return SEVERITY_ORDER.get(severity, SEVERITY_ORDER["error"])


def _fails(result: Result, threshold: int) -> bool:
    return any(_rank(i.get("severity")) <= threshold for i in issues_of(result.outcome))


def _text_of(issue: dict[str, Any]) -> str:
    return str((issue.get("details") or {}).get("text") or issue.get("diagnostics") or "")


def _where(issue: dict[str, Any]) -> str:
    return ", ".join(str(e) for e in (issue.get("expression") or issue.get("location") or []))


# ---------------------------------------------------------------------------------------------
# reports


def json_report(results: list[Result]) -> dict[str, Any]:
    """One input: its OperationOutcome. Several: a collection Bundle of them, by input."""
    if len(results) == 1:
        return results[0].outcome
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": r.input.url, "resource": r.outcome} for r in results],
    }


def junit_report(results: list[Result], threshold: int, skipped: Sequence[Input] = ()) -> bytes:
    """JUnit XML: one testsuite, one testcase per input; <failure> lists the findings at or above
    the threshold (its message counts every issue, as the table does), <error> says why an input
    could not be read, <skipped> why a file found in a folder was not validated."""
    failures = sum(1 for r in results if not r.unreadable and _fails(r, threshold))
    errors = sum(1 for r in results if r.unreadable)
    suite = ET.Element("testsuite", {
        "name": "ipg-validator", "tests": str(len(results) + len(skipped)), "failures": str(failures),
        "errors": str(errors), "skipped": str(len(skipped)),
    })
    for result in results:
        case = ET.SubElement(suite, "testcase", {"name": result.input.name, "classname": JUNIT_CLASSNAME})
        if result.unreadable:
            text = "; ".join(_text_of(i) for i in issues_of(result.outcome))
            ET.SubElement(case, "error", {"message": text, "type": "unreadable"}).text = text
            continue
        found = [i for i in issues_of(result.outcome) if _rank(i.get("severity")) <= threshold]
        if found:
            worst = min((_rank(i.get("severity")) for i in found))
            kind = next(k for k, v in SEVERITY_ORDER.items() if v == worst)
            failure = ET.SubElement(case, "failure", {"message": _count_words(result.counts), "type": kind})
            failure.text = "\n".join(f"{i.get('severity', '?').upper()} {_where(i) or '-'}: {_text_of(i)}" for i in found)
    for item in skipped:
        case = ET.SubElement(suite, "testcase", {"name": item.name, "classname": JUNIT_CLASSNAME})
        ET.SubElement(case, "skipped", {"message": str(item.skipped)})
    ET.indent(suite)
    return cast(bytes, ET.tostring(suite, encoding="utf-8", xml_declaration=True)) + b"\n"


def _count_words(counts: dict[str, int]) -> str:
    words = []
    for severity in ("fatal", "error", "warning", "information"):
        n = counts.get(severity, 0)
        if n or severity in ("error", "warning"):
            label = "information" if severity == "information" else f"{severity}{'s' if n != 1 else ''}"
            words.append(f"{n} {label}")
    return ", ".join(words)


def _write_table(results: list[Result], threshold: int, output: Path | None, skipped: int = 0) -> None:
    if output is None:
        _render_table(results, threshold, show.console(), skipped)
        return
    try:
        with output.open("w", encoding="utf-8") as fh:
            _render_table(results, threshold, show.console(file=fh), skipped)
    except OSError as exc:
        show.error(f"cannot write {output}: {exc.strerror or exc}")
        raise typer.Exit(2) from None


def _render_table(results: list[Result], threshold: int, out: Console, skipped: int = 0) -> None:
    for result in results:
        table = Table(title=result.input.name, title_justify="left", show_lines=False, expand=False)
        table.add_column("severity", overflow="fold", no_wrap=False)
        table.add_column("expression", overflow="fold")
        table.add_column("message", overflow="fold")
        for issue in issues_of(result.outcome):
            severity = str(issue.get("severity", "?"))
            table.add_row(Text(severity, style=show.SEVERITY_STYLE.get(severity, "")), Text(_where(issue) or "-"), Text(_text_of(issue)))
        out.print(table)
    out.print()
    for result in results:
        out.print(_summary_line(result, threshold))
    unreadable = sum(1 for r in results if r.unreadable)
    failed = sum(1 for r in results if not r.unreadable and _fails(r, threshold))
    clean = len(results) - unreadable - failed
    also = f" ({skipped} file{'s' if skipped != 1 else ''} skipped: not FHIR resources)" if skipped else ""
    out.print(Text(f"{len(results)} input{'s' if len(results) != 1 else ''}: {clean} passed, {failed} failed, {unreadable} unreadable{also}", style="bold"))


def _summary_line(result: Result, threshold: int) -> Text:
    name = result.input.name
    if result.unreadable:
        reason = "; ".join(_text_of(i) for i in issues_of(result.outcome))
        return Text.assemble(("UNREADABLE ", "bold red"), f"{name}: {reason}")
    counts = _count_words(result.counts)
    if _fails(result, threshold):
        return Text.assemble(("FAIL       ", "bold red"), f"{name}: {counts}")
    return Text.assemble(("PASS       ", "bold green"), f"{name}: {counts}")


def _write_bytes(data: bytes, output: Path | None) -> None:
    if output is None:
        stream: IO[bytes] = typer.get_binary_stream("stdout")
        stream.write(data)
        stream.flush()
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        show.error(f"cannot write {output}: {exc.strerror or exc}")
        raise typer.Exit(2) from None
