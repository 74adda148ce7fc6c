# ipg-validator: the FHIR terminology validation service for NHS clinical coding of NICE guidance (IPG672).
# Checked with `docker-compose config` only (no Docker engine in CI): see docs/deploying.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# The wheel carries the shipped content: valuesets/, profiles/, fhir-core/ and the guidance packs (guidance/, examples included).
COPY pyproject.toml README.md ./
COPY plugin ./plugin
COPY valuesets ./valuesets
COPY profiles ./profiles
COPY fhir-core ./fhir-core
COPY guidance ./guidance
RUN pip install . && rm -rf /src

RUN useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin ipg
USER 10001
WORKDIR /tmp

ENV IPG_HOST=0.0.0.0 \
    IPG_PORT=8080 \
    IPG_WORKERS=2
EXPOSE 8080

HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('IPG_PORT', '8080'), timeout=4).status == 200 else 1)"]

ENTRYPOINT ["ipg-validator", "serve"]
