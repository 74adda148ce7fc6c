"""What the commands print, as a newcomer reads it: no noise lines, whole lines when piped, wrapped
only on a terminal, and the README's value-set table the same as the content loaded."""

from __future__ import annotations

import io
import re
import shlex

import pytest
from rich.table import Table
from typer.testing import CliRunner

from ipg_validator.cli import output as cli_output
from ipg_validator.cli import app
from ipg_validator.content.index import ContentIndex
from conftest import ROOT

runner = CliRunner()


def test_expand_of_a_fragment_prints_its_message_only() -> None:
    result = runner.invoke(app, ["expand", "ipg672-diagnoses", "--filter", "colon"])
    assert result.exit_code == 0, result.output
    assert "None" not in result.stdout
    assert "extension" not in result.stdout  # the HL7 unclosed-reason wording stays in --json only
    warnings = [line for line in result.stdout.splitlines() if "WARNING" in line]
    assert warnings == ["  WARNING    The code system 'http://hl7.org/fhir/sid/icd-10-uk' version '5.0' is a fragment: "
                        "this expansion lists only the codes it holds"]
    assert "C18.8 │ Malignant neoplasm: Overlapping lesion of colon │ http://hl7.org/fhir/sid/icd-10-uk" in result.stdout


def test_nhs_wrong_display_has_no_language_note() -> None:
    result = runner.invoke(app, ["validate-code", "--valueset", "ipg672-procedures", "J12.3", "--display", "SIRT"])
    assert result.exit_code == 0, result.output
    assert ("Wrong Display Name 'SIRT' for http://fhir.hl7.org.uk/CodeSystem/OPCS-4#J12.3. Valid display is "
            "'Selective internal radiotherapy with microspheres to lesion of liver'\n") in result.stdout
    assert "language(s)" not in result.stdout


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_is_wrapped_to_its_width_and_a_pipe_is_not() -> None:
    """Tables (the validate report, expansions) fit a terminal's width; piped, each row stays one line."""
    def table() -> Table:
        t = Table("expression", "message")
        t.add_row("Bundle.entry[3].resource.code.coding[0].display", "word " * 40)
        return t

    tty = _Terminal()
    terminal = cli_output.console(file=tty)
    terminal.print(table())
    plain = re.sub(r"\x1b\[[0-9;]*m", "", tty.getvalue())  # the terminal's colour codes take no columns
    assert max(len(row) for row in plain.splitlines()) <= terminal.width < 200
    pipe = io.StringIO()
    cli_output.console(file=pipe).print(table())
    rows = [row for row in pipe.getvalue().splitlines() if "Bundle.entry" in row]
    assert len(rows) == 1 and ("word " * 40).strip() in rows[0]


def test_readme_value_set_table_lists_every_value_set(index: ContentIndex) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([a-z0-9-]+)` \|", readme, flags=re.M))
    shipped = {url.rsplit("/", 1)[1] for url in index.value_sets if url.startswith("https://ipg-validator.org/fhir/ValueSet/")}
    assert listed == shipped


README_RUN = re.compile(r"```text\n\$ (ipg-validator [^\n]+)\n(.*?)```", re.S)


def test_readme_sample_outputs_are_what_the_commands_print(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each ```text block of the README that starts with `$ ipg-validator ...`: its lines, in order, are
    lines the command prints (`...` stands for lines left out)."""
    monkeypatch.chdir(ROOT)
    samples = README_RUN.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(samples) >= 2
    for command, shown in samples:
        printed = runner.invoke(app, shlex.split(command)[1:]).output.splitlines()
        at = 0
        for line in shown.splitlines():
            if line == "...":
                continue
            assert line in printed[at:], f"{command}: {line!r} is not printed (in this order)"
            at = printed.index(line, at) + 1
