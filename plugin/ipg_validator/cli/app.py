"""The `ipg-validator` command: its Typer app and the commands that look up, validate and expand codes,
import TRUD releases, serve and package; `validate` and `bulk` come from their own modules."""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version as package_version
from pathlib import Path
from typing import Annotated, Any, Optional

import orjson
import typer

from . import output as show
from .bulk import bulk as bulk_command
from .common import ContentOpt, JsonOpt, fail, fhir_failure, infer_system, load_index, resolve_system, resolve_value_set
from .validate import validate as validate_command
from ..content.trud import TrudFormatError, import_trud
from ..core.errors import FhirError
from ..core.outcome import operation_outcome
from ..fhir.parameters import Params
from ..fhir.terminology_ops import expand_op, lookup_answer, validate_code_op
from ..settings import CONTENT_ENV, SETTINGS, Settings, SettingsError, flag_overrides
from ..terminology.sources import split_canonical
from ..terminology import messages
from ..terminology.formats import format_for

app = typer.Typer(
    name="ipg-validator",
    help="FHIR R4 terminology validation for NICE IPG672 clinical coding (OPCS-4 and ICD-10 UK).",
    no_args_is_help=True,
    add_completion=False,
)

def _version_callback(value: bool) -> None:
    if value:
        try:
            typer.echo(f"ipg-validator {package_version('ipg-validator')}")
        except PackageNotFoundError:
            typer.echo("ipg-validator (version unknown: not installed)")
        raise typer.Exit(0)


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Show the version and exit.")] = False,
) -> None:
    """FHIR R4 terminology validation for NICE IPG672 clinical coding (OPCS-4 and ICD-10 UK)."""


@app.command()
def lookup(
    system: Annotated[str, typer.Argument(help="Code system URL, or opcs4 / icd10.")],
    code: Annotated[str, typer.Argument(help="The code (FHIR or NHS format).")],
    version: Annotated[Optional[str], typer.Option("--version", help="Code system version.")] = None,
    json_out: JsonOpt = False,
    content: ContentOpt = None,
) -> None:
    """Describe a code: display, hierarchy, notSelectable. Exit 0 found, 1 not found, 2 problem."""
    index = load_index(content)
    items = [("system", resolve_system(system)), ("code", code)] + ([("version", version)] if version else [])
    try:
        result, issues = lookup_answer(index, Params(items))
    except FhirError as exc:
        not_found = any(i.message_id == messages.CODE_NOT_FOUND for i in exc.issues)
        if not json_out:
            show.error(f"{code} was not found in {resolve_system(system)}" if not_found else "lookup failed")
        fhir_failure(exc, json_out, 1 if not_found else 2)
    if json_out:
        show.write_json(result)
    else:
        show.show_lookup(result, operation_outcome(issues))


@app.command("validate-code")
def validate_code(
    code: Annotated[str, typer.Argument(help="The code to validate (FHIR or NHS format).")],
    valueset: Annotated[str, typer.Option("--valueset", help="Value set canonical URL, or a short id such as ipg672-procedures.")],
    system: Annotated[Optional[str], typer.Option("--system", help="Code system URL or opcs4 / icd10; default: the value set's only code system.")] = None,
    display: Annotated[Optional[str], typer.Option("--display", help="Display to check.")] = None,
    version: Annotated[Optional[str], typer.Option("--version", help="Code system version.")] = None,
    json_out: JsonOpt = False,
    content: ContentOpt = None,
) -> None:
    """Is CODE in the value set? Exit 0 valid, 1 invalid, 2 usage or input problem."""
    index = load_index(content)
    url = resolve_value_set(index, valueset)
    if system is None:
        system = infer_system(index, url)
        show.note(f"system {system} ({fmt.name if (fmt := format_for(system)) else 'not an NHS classification'}) inferred from the value set", stderr=json_out)
    else:
        system = resolve_system(system)
    items = [("url", url), ("system", system), ("code", code)]
    items += [(name, value) for name, value in (("display", display), ("version", version)) if value is not None]
    try:
        result = validate_code_op(index, Params(items), resource_type="ValueSet")
    except FhirError as exc:
        fhir_failure(exc, json_out)
    if json_out:
        show.write_json(result)
    else:
        show.show_validation(result, code)
    valid = show.param_values(result).get("result") is True
    raise typer.Exit(0 if valid else 1)


@app.command()
def expand(
    url: Annotated[str, typer.Argument(help="Value set canonical URL or short id.")],
    filter_text: Annotated[Optional[str], typer.Option("--filter", help="Only codes whose code or display matches this text.")] = None,
    offset: Annotated[Optional[int], typer.Option("--offset", min=0, help="Skip this many codes.")] = None,
    count: Annotated[Optional[int], typer.Option("--count", min=0, help="Return at most this many codes.")] = None,
    json_out: JsonOpt = False,
    content: ContentOpt = None,
) -> None:
    """List the codes of a value set. Exit 0, or 2 on problems."""
    index = load_index(content)
    items: list[tuple[str, Any]] = [("url", resolve_value_set(index, url))]
    items += [(n, v) for n, v in (("filter", filter_text), ("offset", offset), ("count", count)) if v is not None]
    try:
        result = expand_op(index, Params(items))
    except FhirError as exc:
        fhir_failure(exc, json_out)
    if json_out:
        show.write_json(result)
        return
    fragments: dict[str, bool] = {}
    for param in result.get("expansion", {}).get("parameter", []):
        if param.get("name") == "used-codesystem":
            cs = index.code_system(*split_canonical(param["valueUri"]))
            fragments[param["valueUri"]] = bool(cs and cs.is_fragment)
    show.show_expansion(result, fragments)


@app.command("import-trud")
def import_trud_command(
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="Folder to write the CodeSystem resources to.")],
    opcs: Annotated[Optional[Path], typer.Option("--opcs", metavar="FILE", help="OPCS-4 CodesAndTitles file from TRUD.")] = None,
    icd10: Annotated[Optional[Path], typer.Option("--icd10", metavar="FILE", help="ICD-10 CodesAndTitlesAndMetadata file from TRUD.")] = None,
) -> None:
    """Convert your NHS TRUD OPCS-4 and/or ICD-10 files into content for --content."""
    if opcs is None and icd10 is None:
        fail("pass --opcs FILE, --icd10 FILE or both")
    for given in (opcs, icd10):
        if given is not None and not given.is_file():
            fail(f"{given}: no such file")
    try:
        written = import_trud(opcs, icd10, out)
    except TrudFormatError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{exc.filename or out}: {exc.strerror or exc}")
    console = show.console()
    for path in written:
        data = orjson.loads(path.read_bytes())
        console.print(f"wrote {path}: {data.get('title')} version {data.get('version')}, {data.get('count')} concepts", markup=False)
    console.print(f"Use it by passing --content {out} to a command (e.g. ipg-validator content --content {out}), or set {CONTENT_ENV}={out}", markup=False)


@app.command()
def content(json_out: JsonOpt = False, content: ContentOpt = None) -> None:
    """Which content is in use: code systems (fragment or complete release), value sets, counts."""
    data = show.status_data(load_index(content))
    if json_out:
        show.write_json(data)
    else:
        show.show_status(data)


def _setting_help(flag: str, meaning: str | None = None) -> str:
    """A `serve` option's help from its setting (one source with docs/deploying.md): meaning, variable, default.

    Round brackets: square ones would be read as rich markup and vanish from `--help`."""
    setting = next(s for s in SETTINGS if s.flag == flag)
    return f"{meaning or setting.help} (env {setting.env}; default {setting.default.strip('()')})"


def _serve_settings(**flags: Any) -> Settings:
    """Settings from the environment with the given flags on top; a bad value ends the command (exit 2),
    named as the user gave it: the flag as typed, or the environment variable."""
    overrides = flag_overrides(**flags)
    try:
        return Settings.from_env({**os.environ, **overrides})
    except SettingsError as exc:
        flag = next((s.flag for s in SETTINGS if s.env == exc.var), None)
        given = flags.get((flag or "").lstrip("-").replace("-", "_"))
        if flag is not None and given is not None and given != []:
            values = given if isinstance(given, list) else [given]
            shown = " ".join(f"{flag} {v:g}" if isinstance(v, float) else f"{flag} {v}" for v in values)
            fail(f"{shown}: {exc.problem}")
        fail(str(exc))


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option("--host", help=_setting_help("--host"))] = None,
    port: Annotated[Optional[int], typer.Option("--port", help=_setting_help("--port"))] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", min=1, help=_setting_help("--workers"))] = None,
    log_level: Annotated[Optional[str], typer.Option("--log-level", help=_setting_help("--log-level"))] = None,
    content: ContentOpt = None,
    max_body_bytes: Annotated[Optional[int], typer.Option("--max-body-bytes", help=_setting_help("--max-body-bytes"))] = None,
    max_json_depth: Annotated[Optional[int], typer.Option("--max-json-depth", help=_setting_help("--max-json-depth"))] = None,
    max_bundle_entries: Annotated[Optional[int], typer.Option("--max-bundle-entries", help=_setting_help("--max-bundle-entries"))] = None,
    max_tx_resources: Annotated[Optional[int], typer.Option("--max-tx-resources", help=_setting_help("--max-tx-resources"))] = None,
    max_tx_resource_bytes: Annotated[Optional[int], typer.Option("--max-tx-resource-bytes", help=_setting_help("--max-tx-resource-bytes"))] = None,
    max_expansion: Annotated[Optional[int], typer.Option("--max-expansion", help=_setting_help("--max-expansion"))] = None,
    time_budget: Annotated[Optional[float], typer.Option("--time-budget", help=_setting_help("--time-budget"))] = None,
    graceful_timeout: Annotated[Optional[float], typer.Option("--graceful-timeout", help=_setting_help("--graceful-timeout"))] = None,
    api_keys_file: Annotated[Optional[Path], typer.Option("--api-keys-file", metavar="FILE", help=_setting_help("--api-keys-file"))] = None,
    cors_origin: Annotated[Optional[list[str]], typer.Option("--cors-origin", metavar="ORIGIN", help=_setting_help("--cors-origin", "An origin allowed to call the API from a browser, `*` for any (repeatable)."))] = None,
) -> None:
    """Run the FHIR server (content is loaded and checked first; a broken file stops it, exit 2).

    Every option can also be set by its IPG_* environment variable (docs/deploying.md); an option wins.
    """
    settings = _serve_settings(
        host=host, port=port, workers=workers, log_level=log_level, content=content,
        max_body_bytes=max_body_bytes, max_json_depth=max_json_depth, max_bundle_entries=max_bundle_entries,
        max_tx_resources=max_tx_resources, max_tx_resource_bytes=max_tx_resource_bytes, max_expansion=max_expansion,
        time_budget=time_budget, graceful_timeout=graceful_timeout, api_keys_file=api_keys_file, cors_origin=cors_origin,
    )
    import contextlib
    import time

    from ..settings import worker_environment

    # With workers, the IPG_* and Prometheus variables are set before the server package is imported
    # (prometheus_client picks its multi-process mode at import), so forked workers inherit the right mode.
    with worker_environment(settings) if settings.workers > 1 else contextlib.nullcontext():
        started = time.perf_counter()
        index = load_index(list(settings.content))  # in this process first: a broken file stops the start here
        load_seconds = time.perf_counter() - started
        from ..server.serving import run

        run(settings, index, load_seconds)


@app.command()
def package(
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="Folder to write the package to (made if missing).")],
    examples: Annotated[Optional[Path], typer.Option("--examples", metavar="DIR", help="Example Bundles to include; default: each shipped guidance pack's examples/.")] = None,
    no_code_systems: Annotated[bool, typer.Option("--no-code-systems", help=(
        "Leave the OPCS-4 and ICD-10 CodeSystem fragments out, so that a validator given this server as its terminology "
        "server (HL7 validator -tx) asks it about every code: with a fragment of its own the HL7 validator checks codes "
        "itself and never reports one outside a value set."))] = False,
) -> None:
    """Write the FHIR NPM package (ValueSets, CodeSystems, NamingSystems, profiles, examples) for the HL7 validator and HAPI."""
    from ..package import PackageError, write_package

    try:
        path, listed = write_package(out, examples=examples, code_systems=not no_code_systems)
    except PackageError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{exc.filename or out}: {exc.strerror or exc}")
    show.console().print(f"wrote {path}: {listed} resources", markup=False)


app.command("validate")(validate_command)
app.command("bulk")(bulk_command)
