"""The baseline of the HTTP figures: a bare FastAPI endpoint served with `ipg-validator serve`'s own settings.

`python -m bench.bare PORT WORKERS` serves `app` (one async route, `GET /healthz` answering
`{"status":"ok"}`, no middleware of ours) through `server.serving`: the same uvicorn options
(event loop, HTTP parser, no access log, no server header), the same worker supervisor and the
same listening socket, so the only difference from the service is the application itself.
"""

from __future__ import annotations

import sys

from fastapi import FastAPI

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    """The whole application: a dict, encoded by FastAPI."""
    return {"status": "ok"}


def main(argv: list[str]) -> None:
    import uvicorn

    from ipg_validator.server import serving
    from ipg_validator.settings import Settings

    port, workers = int(argv[0]), int(argv[1])
    settings = Settings(host="127.0.0.1", port=port, workers=workers)
    options = getattr(serving, "uvicorn_options", None)
    if options is not None:
        common = options(settings)
    else:  # an older tree (the "before" figures): what its `run` passed uvicorn
        from ipg_validator.server.observability import log_config

        common = dict(host=settings.host, port=port, log_level=settings.log_level, log_config=log_config(settings.log_level),
                      access_log=False, timeout_graceful_shutdown=round(settings.graceful_timeout), server_header=False)
    serving._run_workers(uvicorn.Config("bench.bare:app", workers=workers, **common))


if __name__ == "__main__":
    main(sys.argv[1:])
