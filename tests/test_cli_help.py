"""`--help` of every command shows each option's help in full (defaults and variables included, none
read as markup) and no value hint on plain flags; a bad `serve` flag is named as the user typed it."""

from __future__ import annotations

import re

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from ipg_validator.cli import app

runner = CliRunner()
WIDE = {"COLUMNS": "200"}
BOX = re.compile("[│╭╮╰╯─┃━]")


def _commands() -> dict[str, Any]:
    """The commands as click builds them (typer may bring its own copy of click: no isinstance here)."""
    return dict(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def _flat(text: str) -> str:
    """The help as words: box drawing removed, wrapped lines joined."""
    return " ".join(BOX.sub(" ", text).split())


def _help(*args: str) -> str:
    result = runner.invoke(app, [*args, "--help"], env=WIDE)
    assert result.exit_code == 0, result.output
    return result.output


def test_every_command_is_covered() -> None:
    assert {"validate", "validate-code", "lookup", "expand", "content", "serve", "import-trud", "package"} <= set(_commands())


@pytest.mark.parametrize("name", sorted(_commands()))
def test_each_option_help_is_shown_in_full(name: str) -> None:
    shown = _flat(_help(name))
    for param in _commands()[name].params:
        text = getattr(param, "help", None)
        if text:
            assert " ".join(text.split()) in shown, f"{name} {param.name}: help cut or read as markup"
    assert "[default: None]" not in shown


@pytest.mark.parametrize("name", sorted(_commands()))
def test_plain_flags_carry_no_value_hint(name: str) -> None:
    """`--json`, `--help`, `--no-structure` take no value: the help shows none (no `<bool>`, no BOOLEAN)."""
    lines = [BOX.sub(" ", line).split() for line in _help(name).splitlines()]
    flags = [p for p in _commands()[name].params if p.param_type_name == "option" and p.is_flag] + [None]
    for flag in flags:
        opt = "--help" if flag is None else next(o for o in flag.opts if o.startswith("--"))
        words = "Show" if flag is None else (flag.help or "").split()[0]
        row = next(line for line in lines if line and line[0] == opt)
        assert row[1] == words, f"{name} {opt}: {' '.join(row)}"
    assert "<bool>" not in _help(name) and "BOOLEAN" not in _help(name)


def test_serve_help_shows_variables_and_defaults() -> None:
    shown = _flat(_help("serve"))
    assert "(env IPG_HOST; default 127.0.0.1)" in shown
    assert "(env IPG_PORT; default 8080)" in shown
    assert "(env IPG_MAX_BODY_BYTES; default 10485760)" in shown
    assert "(env IPG_TIME_BUDGET; default 30)" in shown


def test_validate_help_names_the_argument_plainly() -> None:
    text = _help("validate")
    assert "validate [OPTIONS] PATH..." in text
    assert "{PATH" not in text and "list[str]" not in text


@pytest.mark.parametrize(("args", "said"), [
    (["--max-body-bytes", "-5"], "--max-body-bytes -5: must be 1 or more"),
    (["--port", "70000"], "--port 70000: must be 0 or more and 65535 or less"),
    (["--log-level", "loud"], "--log-level loud: use one of critical, error, warning, info, debug, trace"),
    (["--time-budget", "-1"], "--time-budget -1: must be 0 or more"),
    (["--max-json-depth", "5000"], "--max-json-depth 5000: at most 1024"),
])
def test_a_bad_serve_flag_is_named_as_typed(args: list[str], said: str) -> None:
    result = runner.invoke(app, ["serve", *args], env=WIDE)
    assert result.exit_code == 2
    assert said in result.output
    assert "IPG_" not in result.output


def test_a_bad_environment_variable_is_named_as_set() -> None:
    result = runner.invoke(app, ["serve"], env={**WIDE, "IPG_MAX_BODY_BYTES": "-5"})
    assert result.exit_code == 2
    assert "IPG_MAX_BODY_BYTES=-5: must be 1 or more" in result.output
