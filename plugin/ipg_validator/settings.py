"""Every `IPG_*` environment variable in one place: name, default, meaning; read by the CLI and the server.

`ipg-validator serve` turns its flags into these variables (a flag wins over the environment)
and passes them on, so uvicorn worker processes build the same application from the
environment alone (`server.app.app_from_environment`). docs/deploying.md shows `SETTINGS` as a table.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .core.limits import ORJSON_MAX_DEPTH, Limits


class SettingsError(ValueError):
    """A setting with a value that cannot be used; names the variable (`var`), the value and the `problem`."""

    def __init__(self, var: str, value: str, problem: str) -> None:
        super().__init__(f"{var}={value}: {problem}")
        self.var, self.value, self.problem = var, value, problem


@dataclass(frozen=True)
class Setting:
    env: str
    flag: str | None
    default: str
    help: str


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


CONTENT_ENV = "IPG_CONTENT"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
_LIMIT_VARS = {
    "IPG_MAX_BODY_BYTES": "max_body_bytes",
    "IPG_MAX_JSON_DEPTH": "max_json_depth",
    "IPG_MAX_BUNDLE_ENTRIES": "max_bundle_entries",
    "IPG_MAX_TX_RESOURCES": "max_tx_resources",
    "IPG_MAX_TX_RESOURCE_BYTES": "max_tx_resource_bytes",
    "IPG_MAX_EXPANSION": "max_expansion",
}


@dataclass(frozen=True)
class Settings:
    """The server's configuration; `from_env` reads it, `to_env` writes it for worker processes."""

    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = field(default_factory=_cores)
    log_level: str = "info"
    content: tuple[Path, ...] = ()
    limits: Limits = Limits()
    time_budget: float = 30.0
    graceful_timeout: float = 30.0
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    api_keys_file: Path | None = None
    cors_origins: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from `IPG_*` variables (unset or empty: the default); a bad value is a SettingsError."""
        env = {k: v for k, v in (os.environ if environ is None else environ).items() if k.startswith("IPG_") and v.strip()}
        limits = Limits()
        for var, name in _LIMIT_VARS.items():
            if var in env:
                limits = replace(limits, **{name: _integer(env, var, minimum=1)})
        if limits.max_json_depth > ORJSON_MAX_DEPTH:
            raise SettingsError("IPG_MAX_JSON_DEPTH", str(limits.max_json_depth), f"at most {ORJSON_MAX_DEPTH} (the JSON parser's own limit)")
        default = cls()
        level = env.get("IPG_LOG_LEVEL", default.log_level).strip().lower()
        if level not in LOG_LEVELS:
            raise SettingsError("IPG_LOG_LEVEL", repr(level), f"use one of {', '.join(LOG_LEVELS)}")
        keys_file = Path(env["IPG_API_KEYS_FILE"]) if "IPG_API_KEYS_FILE" in env else None
        keys = _split(env.get("IPG_API_KEYS", "")) + (_read_keys(keys_file) if keys_file else ())
        return cls(
            host=env.get("IPG_HOST", default.host).strip(),
            port=_integer(env, "IPG_PORT", minimum=0, maximum=65535) if "IPG_PORT" in env else default.port,
            workers=_integer(env, "IPG_WORKERS", minimum=1) if "IPG_WORKERS" in env else default.workers,
            log_level=level,
            content=content_from_env(env),
            limits=limits,
            time_budget=_seconds(env, "IPG_TIME_BUDGET", default.time_budget),
            graceful_timeout=_seconds(env, "IPG_GRACEFUL_TIMEOUT", default.graceful_timeout),
            api_keys=tuple(dict.fromkeys(keys)),
            api_keys_file=keys_file,
            cors_origins=_split(env.get("IPG_CORS_ORIGINS", "")),
        )

    def to_env(self) -> dict[str, str]:
        """The variables that give these settings back through `from_env` (keys stay in their variable or file)."""
        out = {
            "IPG_HOST": self.host,
            "IPG_PORT": str(self.port),
            "IPG_WORKERS": str(self.workers),
            "IPG_LOG_LEVEL": self.log_level,
            CONTENT_ENV: os.pathsep.join(str(p.resolve()) for p in self.content),
            "IPG_TIME_BUDGET": repr(self.time_budget),
            "IPG_GRACEFUL_TIMEOUT": repr(self.graceful_timeout),
            "IPG_CORS_ORIGINS": ",".join(self.cors_origins),
        }
        out.update({var: str(getattr(self.limits, name)) for var, name in _LIMIT_VARS.items()})
        if self.api_keys_file is not None:
            out["IPG_API_KEYS_FILE"] = str(self.api_keys_file.resolve())
        return out


_DEFAULTS = Settings()  # the table below shows the dataclass's own defaults

SETTINGS: tuple[Setting, ...] = (
    Setting("IPG_HOST", "--host", _DEFAULTS.host, "Interface to listen on (the container image sets 0.0.0.0)."),
    Setting("IPG_PORT", "--port", str(_DEFAULTS.port), "Port to listen on."),
    Setting("IPG_WORKERS", "--workers", "number of cores", "Worker processes; each loads the content and answers requests."),
    Setting("IPG_LOG_LEVEL", "--log-level", _DEFAULTS.log_level, "critical, error, warning, info, debug or trace; `info` logs one JSON line per request."),
    Setting(CONTENT_ENV, "--content", "(none)", f"Extra content folders (e.g. a TRUD import), `{os.pathsep}`-separated; the shipped content is always loaded."),
    Setting("IPG_MAX_BODY_BYTES", "--max-body-bytes", str(_DEFAULTS.limits.max_body_bytes), "Largest request body (413)."),
    Setting("IPG_MAX_JSON_DEPTH", "--max-json-depth", str(_DEFAULTS.limits.max_json_depth), f"Deepest JSON nesting of a body (413); at most {ORJSON_MAX_DEPTH}."),
    Setting("IPG_MAX_BUNDLE_ENTRIES", "--max-bundle-entries", str(_DEFAULTS.limits.max_bundle_entries), "Most entries in a Bundle sent to $validate (413)."),
    Setting("IPG_MAX_TX_RESOURCES", "--max-tx-resources", str(_DEFAULTS.limits.max_tx_resources), "Most `tx-resource` parameters in one request (413)."),
    Setting("IPG_MAX_TX_RESOURCE_BYTES", "--max-tx-resource-bytes", str(_DEFAULTS.limits.max_tx_resource_bytes), "Largest total size of the `tx-resource` parameters (413)."),
    Setting("IPG_MAX_EXPANSION", "--max-expansion", str(_DEFAULTS.limits.max_expansion), "Most codes in one $expand (422)."),
    Setting("IPG_TIME_BUDGET", "--time-budget", f"{_DEFAULTS.time_budget:g}", "Seconds a /fhir request may take before it is answered 503 (0: no budget)."),
    Setting("IPG_GRACEFUL_TIMEOUT", "--graceful-timeout", f"{_DEFAULTS.graceful_timeout:g}", "Seconds requests in flight get to finish on shutdown (SIGTERM)."),
    Setting("IPG_API_KEYS", None, "(none)", "Comma-separated bearer tokens; when any is set, /fhir requires one (401)."),
    Setting("IPG_API_KEYS_FILE", "--api-keys-file", "(none)", "File of bearer tokens, one per line (`#` comments); added to IPG_API_KEYS."),
    Setting("IPG_CORS_ORIGINS", "--cors-origin", "(none)", "Comma-separated origins allowed to call the API from a browser (`*` for any)."),
)


def content_from_env(environ: Mapping[str, str]) -> tuple[Path, ...]:
    """The extra content folders named in IPG_CONTENT (`os.pathsep`-separated; empty parts skipped)."""
    return tuple(Path(p) for p in environ.get(CONTENT_ENV, "").split(os.pathsep) if p.strip())


METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def worker_environment(settings: Settings) -> Iterator[None]:
    """While inside: these settings as `IPG_*` variables (what each worker builds its app from) and
    `PROMETHEUS_MULTIPROC_DIR` naming an empty folder (made here and removed after, unless the
    operator set it, in which case its old samples are cleared). Set before prometheus_client is
    first imported: it chooses its multi-process mode at import. The environment is restored after."""
    saved = dict(os.environ)
    os.environ.update(settings.to_env())
    made = None
    given = os.environ.get(METRICS_ENV)
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
    else:
        made = Path(tempfile.mkdtemp(prefix="ipg-validator-metrics-"))
        os.environ[METRICS_ENV] = str(made)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


def flag_overrides(**flags: Any) -> dict[str, str]:
    """Command-line flags (None: not given) as the `IPG_*` variables they override."""
    by_flag = {s.flag.lstrip("-").replace("-", "_"): s.env for s in SETTINGS if s.flag}
    out: dict[str, str] = {}
    for name, value in flags.items():
        if value is None or (isinstance(value, (list, tuple)) and not value):
            continue
        var = by_flag[name]
        if isinstance(value, (list, tuple)):
            out[var] = (os.pathsep if var == CONTENT_ENV else ",").join(str(v) for v in value)
        else:
            out[var] = str(value)
    return out


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _read_keys(path: Path) -> tuple[str, ...]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SettingsError("IPG_API_KEYS_FILE", str(path), f"cannot be read ({exc.strerror or exc})") from None
    keys = tuple(line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#"))
    if not keys:
        raise SettingsError("IPG_API_KEYS_FILE", str(path), "holds no keys (one per line)")
    return keys


def _integer(env: Mapping[str, str], var: str, *, minimum: int, maximum: int | None = None) -> int:
    text = env[var].strip().replace("_", "")
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(var, repr(env[var]), "not a whole number") from None
    if value < minimum or (maximum is not None and value > maximum):
        raise SettingsError(var, str(value), f"must be {minimum} or more" + (f" and {maximum} or less" if maximum is not None else ""))
    return value


def _seconds(env: Mapping[str, str], var: str, default: float) -> float:
    if var not in env:
        return default
    try:
        value = float(env[var])
    except ValueError:
        raise SettingsError(var, repr(env[var]), "not a number of seconds") from None
    if value < 0 or value != value:
        raise SettingsError(var, repr(env[var]), "must be 0 or more")
    return value
