"""Run the server under uvicorn: one process, or worker processes sharing the metrics.

With one worker the app is built here, from the content already loaded and checked. With more,
uvicorn starts each worker from the import string `ipg_validator.server.app:app_from_environment`
(an app factory reading the `IPG_*` variables the CLI has set), and Prometheus runs in
multi-process mode: `PROMETHEUS_MULTIPROC_DIR` names a folder (made here and removed on exit
unless the operator set it, in which case its old samples are cleared first), so /metrics adds
up the samples of every worker, whichever one answers the scrape.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..content.index import ContentIndex
from ..settings import Settings
from .observability import MULTIPROC_ENV, log_config

if TYPE_CHECKING:
    import uvicorn

FACTORY = "ipg_validator.server.app:app_from_environment"


def run(settings: Settings, index: ContentIndex, load_seconds: float) -> None:
    """Serve until SIGINT/SIGTERM; requests in flight get `settings.graceful_timeout` seconds to finish."""
    import uvicorn

    common = dict(
        host=settings.host, port=settings.port, log_level=settings.log_level, log_config=log_config(settings.log_level),
        access_log=False, timeout_graceful_shutdown=max(1, round(settings.graceful_timeout)) if settings.graceful_timeout else None,
        server_header=False,
    )
    if settings.workers == 1:
        from .app import create_app

        app = create_app(index, settings=settings, load_seconds=load_seconds)
        uvicorn.run(app, **common)
        return
    saved = dict(os.environ)
    os.environ.update(settings.to_env())  # what each worker builds its app from
    made = _metrics_folder()
    try:
        _run_workers(uvicorn.Config(FACTORY, factory=True, workers=settings.workers, **common))
    finally:
        os.environ.clear()
        os.environ.update(saved)
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


def _run_workers(config: uvicorn.Config) -> None:
    """What `uvicorn.run` does for workers > 1, with a listening socket whose connections get TCP_NODELAY.

    uvicorn binds the shared socket with `proto` 0; accepted connections inherit it and asyncio
    only sets TCP_NODELAY on sockets that say IPPROTO_TCP, so every keep-alive request after the
    first waited ~40 ms for the client's delayed ACK (Nagle). Kludex/uvicorn#3149; the single
    process path (host and port handed to asyncio) is not affected.
    """
    import socket

    from uvicorn.supervisors import Multiprocess

    bound = config.bind_socket()
    sock = bound
    if bound.family in (socket.AF_INET, socket.AF_INET6) and bound.proto != socket.IPPROTO_TCP:
        sock = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())
        sock.set_inheritable(True)
    try:
        Multiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:  # pragma: no cover  (as uvicorn.run)
        pass


def _metrics_folder() -> Path | None:
    """Point PROMETHEUS_MULTIPROC_DIR at an empty folder; returns the folder when made here."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
        return None
    folder = Path(tempfile.mkdtemp(prefix="ipg-validator-metrics-"))
    os.environ[MULTIPROC_ENV] = str(folder)
    return folder
