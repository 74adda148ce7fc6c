"""`ipg-validator serve` as a real process: workers, endpoints, JSON logs, metrics, limits, access control.

Two servers on free loopback ports, each stopped in a finaliser:
- `open_server`: two workers (Prometheus multi-process mode), small limits given as flags;
- `locked_server`: one worker, API keys and CORS from IPG_* variables, a 0.3 s time budget.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
import requests

from support.server import free_port, log_lines

ROOT = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).with_name("ipg-validator"))
EXAMPLE = (ROOT / "guidance" / "ipg672" / "examples" / "missing-x65-3.json").read_bytes()
FHIR = {"Content-Type": "application/fhir+json"}
OPCS4 = "http://fhir.hl7.org.uk/CodeSystem/OPCS-4"
PROCEDURES = "https://ipg-validator.org/fhir/ValueSet/ipg672-procedures"
DIAGNOSES = "https://ipg-validator.org/fhir/ValueSet/ipg672-diagnoses"
KEY = "s3cret-key-for-tests"


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def lines(self) -> list[dict]:
        return log_lines(self.log)


def start(tmp: Path, name: str, args: list[str], env: dict[str, str]) -> Iterator[Server]:
    port = free_port()
    log = tmp / f"{name}.log"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("IPG_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    environ.update(env, PYTHONUNBUFFERED="1")
    with log.open("wb") as sink:
        process = subprocess.Popen([CLI, "serve", "--host", "127.0.0.1", "--port", str(port), *args],
                                   stdout=sink, stderr=subprocess.STDOUT, env=environ, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 40
        while True:
            assert process.poll() is None, f"server exited with {process.returncode}: {log.read_text()}"
            try:
                if requests.get(server.base + "/readyz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, f"server not ready: {log.read_text()}"
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start(tmp_path_factory.mktemp("open"), "open", [
        "--workers", "2", "--max-bundle-entries", "20", "--max-json-depth", "30", "--max-body-bytes", "200000",
        "--max-tx-resources", "2", "--max-expansion", "5", "--log-level", "info",
    ], {})


@pytest.fixture(scope="module")
def locked_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("locked")
    keys = tmp / "keys.txt"
    keys.write_text("# file keys\nfile-key-one\n", encoding="utf-8")
    yield from start(tmp, "locked", ["--workers", "1"], {
        "IPG_API_KEYS": f"{KEY}, other-key", "IPG_API_KEYS_FILE": str(keys),
        "IPG_CORS_ORIGINS": "https://coding.example.nhs.uk", "IPG_TIME_BUDGET": "0.3",
    })


def outcome(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["severity"] == "error"
    return body


# --- the open server: every endpoint, logs, metrics, limits -------------------------------------

def test_health_endpoints(open_server: Server) -> None:
    assert requests.get(open_server.base + "/healthz").json() == {"status": "ok"}
    ready = requests.get(open_server.base + "/readyz").json()
    assert ready["status"] == "ready"
    assert ready["counts"] == {"codeSystems": 2, "valueSets": ready["counts"]["valueSets"], "namingSystems": 2,
                               "profiles": ready["counts"]["profiles"], "rules": ready["counts"]["rules"]}
    assert ready["counts"]["valueSets"] >= 8 and ready["counts"]["profiles"] >= 3 and ready["counts"]["rules"] > 0
    assert {cs["url"] for cs in ready["codeSystems"]} >= {OPCS4, "http://hl7.org/fhir/sid/icd-10-uk"}
    assert all(cs["version"] for cs in ready["codeSystems"])
    assert ready["contentLoadSeconds"] > 0


def test_fhir_endpoints(open_server: Server) -> None:
    base = open_server.base + "/fhir"
    assert requests.get(base + "/metadata").json()["resourceType"] == "CapabilityStatement"
    vc = requests.get(base + "/ValueSet/$validate-code", params={"url": PROCEDURES, "system": OPCS4, "code": "J12.3"}).json()
    assert {p["name"]: p.get("valueBoolean") for p in vc["parameter"]}["result"] is True
    assert requests.get(base + "/CodeSystem/$lookup", params={"system": OPCS4, "code": "J12.3"}).status_code == 200
    assert requests.get(base + "/ValueSet", params={"url": PROCEDURES}).json()["resourceType"] == "Bundle"
    assert requests.get(base + "/ValueSet/ipg672-procedures").json()["url"] == PROCEDURES
    validated = requests.post(base + "/Bundle/$validate", data=EXAMPLE, headers=FHIR)
    assert validated.status_code == 200
    assert any(i["severity"] == "error" for i in validated.json()["issue"])
    assert requests.get(base + "/nothing/here/at/all").status_code == 404


def test_start_logs_the_web_page_and_fhir_base(open_server: Server) -> None:
    """Once, before the workers start: the addresses to open, each of which answers."""
    said = [line["message"] for line in open_server.lines() if line.get("message", "").startswith("Web page ")]
    base = open_server.base
    assert said == [f"Web page {base}/ (the code sets and rules: {base}/reference); FHIR base {base}/fhir"]
    for url in (f"{base}/", f"{base}/reference"):
        page = requests.get(url, timeout=10)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), url
    assert requests.get(f"{base}/fhir/metadata", timeout=10).json()["resourceType"] == "CapabilityStatement"


def test_request_log_line(open_server: Server) -> None:
    response = requests.post(open_server.base + "/fhir/Bundle/$validate", data=EXAMPLE,
                             headers={**FHIR, "X-Request-Id": "trace-log-check-1"})
    assert response.headers["X-Request-Id"] == "trace-log-check-1"
    generated = requests.get(open_server.base + "/healthz").headers["X-Request-Id"]
    assert len(generated) >= 16
    time.sleep(0.3)
    lines = [line for line in open_server.lines() if line.get("request_id") == "trace-log-check-1"]
    assert len(lines) == 1, open_server.log.read_text()
    line = lines[0]
    assert line["method"] == "POST" and line["path"] == "/fhir/Bundle/$validate"
    assert line["operation"] == "Bundle/$validate" and line["status"] == 200 and line["duration_ms"] > 0
    assert line["issues"]["error"] >= 1 and line["level"] == "info"
    text = open_server.log.read_text()
    assert "OKAFOR" not in text and "9991230009" not in text.replace("trace", "")  # no patient data from the bodies
    assert any(entry.get("request_id") == generated for entry in open_server.lines())


def test_metrics_add_up_both_workers(open_server: Server) -> None:
    def total(text: str) -> float:
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith('ipg_requests_total{operation="metadata",status="200"}'))
    requests.post(open_server.base + "/fhir/Bundle/$validate", data=EXAMPLE, headers=FHIR)
    before = total(requests.get(open_server.base + "/metrics").text)
    for _ in range(12):  # a new connection each time: the two workers share the listening socket
        requests.get(open_server.base + "/fhir/metadata", headers={"Connection": "close"})
    scrapes = [requests.get(open_server.base + "/metrics", headers={"Connection": "close"}).text for _ in range(4)]
    assert all(total(s) == before + 12 for s in scrapes), [total(s) for s in scrapes]
    text = scrapes[-1]
    assert 'ipg_request_duration_seconds_bucket{' in text and 'operation="metadata"' in text
    assert 'ipg_validation_findings_total{rule="ipg672-companion-required",severity="error"}' in text
    assert "ipg_content_load_seconds" in text
    pids = {line["pid"] for line in open_server.lines() if line.get("message") == "content loaded and warm"}
    assert len(pids) == 2  # two workers, each loaded and warmed


def test_limit_body_size(open_server: Server) -> None:
    big = orjson.dumps({"resourceType": "Bundle", "type": "collection", "id": "x" * 250_000})
    body = outcome(requests.post(open_server.base + "/fhir/Bundle/$validate", data=big, headers=FHIR), 413)
    assert "200000 bytes" in body["issue"][0]["details"]["text"]


def test_limit_json_depth(open_server: Server) -> None:
    deep = b'{"resourceType":"Bundle","type":"collection","extension":' + b"[" * 40 + b"]" * 40 + b"}"
    body = outcome(requests.post(open_server.base + "/fhir/Bundle/$validate", data=deep, headers=FHIR), 413)
    assert "nested more than 30 levels" in body["issue"][0]["details"]["text"]
    beyond_parser = b"[" * 1100 + b"]" * 1100
    outcome(requests.post(open_server.base + "/fhir/Bundle/$validate", data=beyond_parser, headers=FHIR), 413)


def test_limit_bundle_entries(open_server: Server) -> None:
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": {"resourceType": "Basic", "code": {"text": "x"}}} for _ in range(21)]}
    body = outcome(requests.post(open_server.base + "/fhir/Bundle/$validate", data=orjson.dumps(bundle), headers=FHIR), 413)
    assert "21 entries; the limit is 20" in body["issue"][0]["details"]["text"]
    wrapped = {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": bundle}]}
    outcome(requests.post(open_server.base + "/fhir/Bundle/$validate", data=orjson.dumps(wrapped), headers=FHIR), 413)


def test_limit_tx_resources_and_expansion(open_server: Server) -> None:
    vs = {"resourceType": "ValueSet", "url": "http://example.org/vs", "status": "active"}
    params = {"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": PROCEDURES}, {"name": "system", "valueUri": OPCS4}, {"name": "code", "valueCode": "J12.3"},
        *({"name": "tx-resource", "resource": {**vs, "url": f"http://example.org/vs{n}"}} for n in range(3))]}
    outcome(requests.post(open_server.base + "/fhir/ValueSet/$validate-code", data=orjson.dumps(params), headers=FHIR), 413)
    response = requests.get(open_server.base + "/fhir/ValueSet/$expand", params={"url": DIAGNOSES})
    assert response.status_code in (413, 422), response.text
    outcome(response, response.status_code)


# --- the locked server: access control, CORS, time budget ---------------------------------------

def test_bearer_tokens(locked_server: Server) -> None:
    url = locked_server.base + "/fhir/CodeSystem/$lookup"
    query = {"system": OPCS4, "code": "J12.3"}
    missing = requests.get(url, params=query)
    outcome(missing, 401)
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = requests.get(url, params=query, headers={"Authorization": "Bearer not-a-key"})
    outcome(wrong, 401)
    assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    for key in (KEY, "other-key", "file-key-one"):
        assert requests.get(url, params=query, headers={"Authorization": f"Bearer {key}"}).status_code == 200
    for open_path in ("/healthz", "/readyz", "/metrics", "/fhir/metadata"):
        assert requests.get(locked_server.base + open_path).status_code == 200, open_path


def test_cors(locked_server: Server) -> None:
    preflight = requests.options(locked_server.base + "/fhir/Bundle/$validate", headers={
        "Origin": "https://coding.example.nhs.uk", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://coding.example.nhs.uk"
    other = requests.get(locked_server.base + "/fhir/metadata", headers={"Origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in other.headers


def test_time_budget(locked_server: Server) -> None:
    sys.path.insert(0, str(ROOT))
    from bench.bundles import sirt_bundle

    started = time.monotonic()
    response = requests.post(locked_server.base + "/fhir/Bundle/$validate", data=sirt_bundle(900),
                             headers={**FHIR, "Authorization": f"Bearer {KEY}"})
    body = outcome(response, 503)
    assert body["issue"][0]["code"] == "timeout" and "0.3 seconds" in body["issue"][0]["details"]["text"]
    assert response.headers["Retry-After"] == "1"
    assert time.monotonic() - started < 5
    assert requests.get(locked_server.base + "/healthz").status_code == 200  # still answering


# --- start-up failures ---------------------------------------------------------------------------

def test_broken_content_stops_start(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{ not json", encoding="utf-8")
    run = subprocess.run([CLI, "serve", "--port", str(free_port()), "--content", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "broken.json" in run.stderr + run.stdout


def test_bad_setting_stops_start(tmp_path: Path) -> None:
    env = {**os.environ, "IPG_MAX_JSON_DEPTH": "lots"}
    run = subprocess.run([CLI, "serve", "--port", str(free_port())], capture_output=True, text=True, timeout=60, env=env)
    assert run.returncode == 2 and "IPG_MAX_JSON_DEPTH" in run.stderr + run.stdout
    missing = subprocess.run([CLI, "serve", "--api-keys-file", str(tmp_path / "none.txt")], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "none.txt" in missing.stderr + missing.stdout
