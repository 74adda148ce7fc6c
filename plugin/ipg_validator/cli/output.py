"""Rendering of the command-line answers: rich tables and panels for people, plain JSON for programs."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import IO, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..content.index import ContentIndex
from ..fhir.expansion import EXPANSION_MESSAGE
from ..core.jsonio import dump_json
from ..core.results import Issue

SEVERITY_STYLE = {"fatal": "bold red", "error": "bold red", "warning": "yellow", "information": "blue"}


# Wider than any line the commands print: piped or redirected output (CI logs, files, grep) is not
# wrapped or cut at 80 columns, so FHIRPath expressions, URLs and messages stay whole on their line.
UNWRAPPED_WIDTH = 100_000


def console(stderr: bool = False, file: IO[str] | None = None) -> Console:
    """A console bound to the current stdout (or stderr, or `file`), created per use so redirection is
    honoured; wrapped to the terminal's width only when it is a terminal."""
    stream = file if file is not None else (sys.stderr if stderr else sys.stdout)
    terminal = hasattr(stream, "isatty") and stream.isatty()
    width = None if terminal else UNWRAPPED_WIDTH
    if file is not None:
        return Console(file=file, highlight=False, soft_wrap=True, width=width)
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


def error(message: str) -> None:
    """An error message on stderr."""
    console(stderr=True).print(Text.assemble(("error: ", "bold red"), message))


def note(message: str, *, stderr: bool = False) -> None:
    """An informative line (on stderr when stdout carries JSON)."""
    console(stderr=stderr).print(Text(message, style="dim" if not stderr else ""))


def write_json(resource: Any) -> None:
    """Plain pretty JSON on stdout: no markup, no wrapping."""
    sys.stdout.write(dump_json(resource, pretty=True).decode())
    sys.stdout.write("\n")
    sys.stdout.flush()


def outcome_issues(resource: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The issues of an OperationOutcome (or of a Parameters' `issues` part)."""
    if resource is None:
        return []
    if resource.get("resourceType") == "Parameters":
        resource = next((p.get("resource") for p in resource.get("parameter", []) if p.get("name") == "issues"), None) or {}
    return [i for i in resource.get("issue", []) if isinstance(i, dict)]


def issue_line(severity: str, text: str) -> Text:
    """One issue: the severity in colour and in words, then its text."""
    return Text.assemble(("  ", ""), (f"{severity.upper():<11}", SEVERITY_STYLE.get(severity, "")), text)


def print_issues(issues: Iterable[Mapping[str, Any]], *, out: Console | None = None) -> None:
    """Each OperationOutcome issue on its own line (informational 'no issues' notes left out)."""
    out = out or console()
    shown = [i for i in issues if (i.get("details") or {}).get("text") != "No issues detected"]
    if shown:
        out.print("Issues:")
    for issue in shown:
        out.print(issue_line(issue.get("severity", "?"), (issue.get("details") or {}).get("text", "")))


def print_plain_issues(issues: Iterable[Issue], *, stderr: bool = False) -> None:
    """Engine issues (from a FhirError) on their own lines."""
    out = console(stderr=stderr)
    for issue in issues:
        out.print(issue_line(issue.severity, issue.text))


def param_values(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """First value of each simple parameter of a Parameters resource, by name."""
    values: dict[str, Any] = {}
    for param in parameters.get("parameter", []):
        for key, value in param.items():
            if key.startswith("value"):
                values.setdefault(param["name"], value)
    return values


def lookup_properties(parameters: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The (code, value) property pairs of a $lookup answer."""
    out = []
    for param in parameters.get("parameter", []):
        if param.get("name") == "property":
            parts = {p["name"]: next((v for k, v in p.items() if k.startswith("value")), None) for p in param.get("part", [])}
            out.append((str(parts.get("code")), parts.get("value")))
    return out


def show_lookup(parameters: Mapping[str, Any], outcome: Mapping[str, Any] | None = None) -> None:
    """The $lookup answer as a table, then the issues of `outcome` (the lookup's, which $lookup's Parameters do not carry)."""
    values = param_values(parameters)
    props = lookup_properties(parameters)
    table = Table(title=f"{values.get('code')}  {values.get('display') or ''}", show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row("code", str(values.get("code")))
    table.add_row("display", str(values.get("display") or "-"))
    table.add_row("system", f"{values.get('name')}\n{values.get('system')}")
    table.add_row("version", str(values.get("version") or "-"))
    table.add_row("parent", ", ".join(str(v) for k, v in props if k == "parent") or "-")
    table.add_row("children", ", ".join(str(v) for k, v in props if k == "child") or "-")
    table.add_row("notSelectable", "true" if values.get("abstract") else "false")
    inactive = next((v for k, v in props if k == "inactive"), False)
    table.add_row("inactive", "true" if inactive else "false")
    out = console()
    out.print(table)
    print_issues(outcome_issues(outcome), out=out)


def show_validation(parameters: Mapping[str, Any], given_code: str) -> None:
    """The $validate-code answer: valid or invalid, the concept, and every issue."""
    values = param_values(parameters)
    out = console()
    if values.get("result") is True:
        out.print(Text.assemble(("✔ ", "bold green"), ("valid", "bold green")))
    else:
        out.print(Text.assemble(("✘ ", "bold red"), ("invalid", "bold red")))
    code = values.get("code") or given_code
    out.print(Text.assemble(("code:    ", "bold"), str(code), (f"  (sent as {given_code})" if code != given_code else "", "dim")))
    if values.get("display"):
        out.print(Text.assemble(("display: ", "bold"), str(values["display"])))
    if values.get("system"):
        version = f" version {values['version']}" if values.get("version") else ""
        out.print(Text.assemble(("system:  ", "bold"), f"{values['system']}{version}"))
    print_issues(outcome_issues(parameters), out=out)


def show_expansion(vs: Mapping[str, Any], fragments: Mapping[str, bool]) -> None:
    """The $expand answer: a header with the total and the code systems used, then the codes."""
    exp = vs.get("expansion", {})
    contains = exp.get("contains", [])
    out = console()
    out.print(Text(f"{vs.get('title') or vs.get('name') or vs.get('url')}", style="bold"))
    out.print(f"{vs.get('url')}|{vs.get('version')}")
    offset = exp.get("offset", 0)
    shown = f"{offset + 1}-{offset + len(contains)}" if contains else "none"
    out.print(f"total: {exp.get('total')} codes (showing {shown})")
    for used, is_fragment in fragments.items():
        kind = "a FRAGMENT (not the complete release)" if is_fragment else "a complete release"
        out.print(f"code system {used} is {kind}")
    # the expansion's messages; its other extensions (unclosed, R5 properties) are data, said above or in --json
    for ext in exp.get("extension", []):
        if ext.get("url") == EXPANSION_MESSAGE and isinstance(ext.get("valueString"), str):
            out.print(issue_line("warning", ext["valueString"]))
    table = Table("code", "display", "system")
    for item in contains:
        table.add_row(item.get("code", ""), item.get("display", ""), item.get("system", ""))
    out.print(table)


def status_data(index: ContentIndex) -> dict[str, Any]:
    """What content is loaded, as plain data (the `content --json` answer)."""
    systems = [
        {
            "url": url, "version": cs.version, "title": cs.title, "content": cs.content,
            "release": "fragment" if cs.is_fragment else "complete", "concepts": len(cs.concepts),
        }
        for url, versions in sorted(index.code_systems.items()) for cs in versions
    ]
    value_sets = [
        {"url": url, "version": vs.get("version"), "title": vs.get("title") or vs.get("name")}
        for url, versions in sorted(index.value_sets.items()) for vs in versions
    ]
    packs = [
        {"id": rules.id, "guidance": rules.guidance, "title": rules.title, "version": rules.version, "rules": len(rules.rules),
         "folder": rules.folder}
        for rules in index.rule_sets
    ]
    return {"sources": list(index.sources), "codeSystems": systems, "valueSets": value_sets, "guidancePacks": packs,
            "counts": index.counts(), "replaced": list(index.replaced)}


def show_status(data: Mapping[str, Any]) -> None:
    """The content status as tables."""
    out = console()
    out.print(Text("Content folders loaded:", style="bold"))
    for source in data["sources"]:
        out.print(f"  {source}")
    systems = Table("code system", "version", "release", "concepts", "url", title="Code systems", title_justify="left")
    for cs in data["codeSystems"]:
        style = "yellow" if cs["release"] == "fragment" else "green"
        release = "fragment" if cs["release"] == "fragment" else "complete release"
        systems.add_row(cs["title"], str(cs["version"] or "-"), Text(release, style=style), str(cs["concepts"]), cs["url"])
    out.print(systems)
    value_sets = Table("value set", "version", "url", title="Value sets", title_justify="left")
    for vs in data["valueSets"]:
        value_sets.add_row(str(vs["title"]), str(vs["version"] or "-"), vs["url"])
    out.print(value_sets)
    packs = Table("guidance pack", "id", "version", "rules", "folder", title="Guidance packs", title_justify="left")
    for pack in data["guidancePacks"]:
        packs.add_row(pack["title"], pack["id"], pack["version"] or "-", str(pack["rules"]), pack["folder"] or "-")
    out.print(packs)
    out.print("counts: " + ", ".join(f"{kind} {n}" for kind, n in data["counts"].items()))
    if data["replaced"]:
        out.print("fragments replaced by complete releases: " + ", ".join(data["replaced"]))
    else:
        out.print("fragments replaced by complete releases: none")
