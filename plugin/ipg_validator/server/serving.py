"""Run the server under uvicorn: one process, or worker processes sharing the metrics.

With one worker the app is built here, from the content already loaded and checked. With more,
uvicorn starts each worker from the import string `ipg_validator.server.app:app_from_environment`
(an app factory reading the `IPG_*` variables the CLI has set), and Prometheus runs in
multi-process mode: `PROMETHEUS_MULTIPROC_DIR` names a folder (`settings.worker_environment`: made, and removed on exit
unless the operator set it, in which case its old samples are cleared first), so /metrics adds
up the samples of every worker, whichever one answers the scrape.

Workers are forked from the serve process once it has loaded, checked and warmed the content
(uvicorn would spawn fresh interpreters, each importing FastAPI and the R4B models again and
loading the content again: about 0.5 s and a full copy of the index per worker). A forked
worker starts with the index, the imports and the warmed caches already in memory, shared
copy-on-write with the serve process, and then builds its app and runs the warm-up as before.
Forking is safe here because nothing has started a thread and Prometheus is first imported
after `PROMETHEUS_MULTIPROC_DIR` is set; when either does not hold (or there is no fork), the
workers are spawned as uvicorn does. uvicorn's supervisor is unchanged: it still restarts a
dead or hung worker (forked again from the same state) and stops them on SIGINT/SIGTERM.
"""

from __future__ import annotations

import gc
import importlib
import logging
import logging.config
import multiprocessing
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..content.index import ContentIndex
from ..settings import METRICS_ENV as MULTIPROC_ENV
from ..settings import Settings, worker_environment

if TYPE_CHECKING:
    import uvicorn

FACTORY = "ipg_validator.server.app:app_from_environment"
log = logging.getLogger("ipg_validator.server")


def server_stack() -> tuple[str, str]:
    """uvicorn's event loop and HTTP parser: uvloop and httptools where installed (the fast stack, about
    twice the requests per core), else the standard library's asyncio and h11, which work everywhere."""
    loop = "uvloop" if _importable("uvloop") else "asyncio"
    http = "httptools" if _importable("httptools") else "h11"
    return loop, http


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:  # not installed, or no build for this platform (uvloop has none on Windows)
        return False
    return True


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What `serve` passes uvicorn, whatever the number of workers (also the benchmark's bare baseline)."""
    from .observability import log_config

    loop, http = server_stack()
    return dict(
        host=settings.host, port=settings.port, log_level=settings.log_level, log_config=log_config(settings.log_level),
        access_log=False, timeout_graceful_shutdown=max(1, round(settings.graceful_timeout)) if settings.graceful_timeout else None,
        server_header=False, loop=loop, http=http, ws="none",
    )


def run(settings: Settings, index: ContentIndex, load_seconds: float) -> None:
    """Serve until SIGINT/SIGTERM; requests in flight get `settings.graceful_timeout` seconds to finish."""
    import uvicorn

    common = uvicorn_options(settings)
    announce(settings, common["log_config"])  # configures logging as uvicorn will: these lines are logged in the same form
    log.info("serving", extra={"fields": {"loop": common["loop"], "http": common["http"], "workers": settings.workers}})
    if settings.workers == 1:
        from .app import create_app

        app = create_app(index, settings=settings, load_seconds=load_seconds)
        uvicorn.run(app, **common)
        return
    with worker_environment(settings):  # `ipg-validator serve` has already entered it, before importing this package
        fork = _prepare_fork(settings, index, load_seconds)
        _run_workers(uvicorn.Config(FACTORY, factory=True, workers=settings.workers, **common), fork=fork)


def announce(settings: Settings, config: dict[str, Any]) -> None:
    """Log, before uvicorn starts, the addresses a user opens: the web page, the reference page, the FHIR base."""
    import logging.config

    logging.config.dictConfig(config)
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(settings.host, settings.host)
    base = f"http://{f'[{host}]' if ':' in host else host}:{settings.port}"
    if settings.port == 0:
        text = "Web page at /, the code sets at /reference and the FHIR base at /fhir of the address uvicorn reports below"
    else:
        text = f"Web page {base}/ (the code sets and rules: {base}/reference); FHIR base {base}/fhir"
    logging.getLogger("ipg_validator.server").info(text)


def _prepare_fork(settings: Settings, index: ContentIndex, load_seconds: float) -> bool:
    """Make this process the image workers are forked from: app modules imported, content warmed,
    the index handed to `app_from_environment`. False (workers are spawned) when forking is unsafe."""
    if not hasattr(os, "fork") or "fork" not in multiprocessing.get_all_start_methods():
        return False
    if threading.active_count() > 1 or os.environ.get(MULTIPROC_ENV) is None or not _uvicorn_can_fork():
        return False
    from . import app as app_module
    from .warm import warm
    if not _multiprocess_metrics():  # prometheus_client was imported before the folder was set
        return False
    warm(index, settings.limits)  # imports the R4B model classes the requests use and fills the caches
    app_module.preload(index, load_seconds)
    if threading.active_count() > 1:  # pragma: no cover  (nothing above starts one)
        app_module.preload(None, None)
        return False
    gc.collect()
    gc.freeze()  # keep the collector from writing to (and so copying) the shared objects in every worker
    return True


def _uvicorn_can_fork() -> bool:
    """The two uvicorn internals the fork path relies on (checked on uvicorn 0.54): without them, spawn."""
    try:
        from uvicorn._subprocess import subprocess_started  # noqa: F401
        from uvicorn.supervisors import multiprocess
    except ImportError:
        return False
    return callable(getattr(multiprocess, "get_subprocess", None))


def _multiprocess_metrics() -> bool:
    from prometheus_client import values

    return values.ValueClass is not values.MutexValue


def _forked_subprocess(config: uvicorn.Config, target: Callable[..., None], sockets: list[socket.socket]) -> multiprocessing.Process:
    """uvicorn's `get_subprocess` with the fork start method: the worker begins as a copy of this process."""
    from uvicorn._subprocess import subprocess_started

    def started(**kwargs: object) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # not the supervisor's handlers: uvicorn's own follow
            signal.signal(sig, signal.SIG_DFL if sig != signal.SIGINT else signal.default_int_handler)
        subprocess_started(**kwargs)  # type: ignore[arg-type]

    try:
        stdin_fileno: int | None = sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):
        stdin_fileno = None
    kwargs = {"config": config, "target": target, "sockets": sockets, "stdin_fileno": stdin_fileno}
    return multiprocessing.get_context("fork").Process(target=started, kwargs=kwargs)  # type: ignore[return-value]  # a Process in all but name


def _run_workers(config: uvicorn.Config, *, fork: bool = False) -> None:
    """What `uvicorn.run` does for workers > 1, with a listening socket whose connections get TCP_NODELAY.

    uvicorn binds the shared socket with `proto` 0; accepted connections inherit it and asyncio
    only sets TCP_NODELAY on sockets that say IPPROTO_TCP, so every keep-alive request after the
    first waited ~40 ms for the client's delayed ACK (Nagle). Kludex/uvicorn#3149; the single
    process path (host and port handed to asyncio) is not affected.
    """
    from uvicorn.supervisors import Multiprocess, multiprocess

    bound = config.bind_socket()
    sock = bound
    if bound.family in (socket.AF_INET, socket.AF_INET6) and bound.proto != socket.IPPROTO_TCP:
        sock = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())
        sock.set_inheritable(True)
    spawned = multiprocess.get_subprocess  # type: ignore[attr-defined]  # uvicorn's own hook, not exported
    if fork:
        multiprocess.get_subprocess = _forked_subprocess  # type: ignore[attr-defined,assignment]  # what uvicorn's Process calls to make each worker
    try:
        Multiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:  # pragma: no cover  (as uvicorn.run)
        pass
    finally:
        multiprocess.get_subprocess = spawned  # type: ignore[attr-defined]
