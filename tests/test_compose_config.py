"""docker-compose.yml passes `docker-compose config`; HAPI's application.yaml uses only keys HAPI reads.

No Docker engine runs here, so the images are not built: `config` checks the file's schema,
references and profiles. Without docker-compose the test is skipped locally, and fails in CI
(CI=true), where .ci/run installs it.

The accepted HAPI keys below come from hapi-fhir-jpaserver-starter: `AppProperties.java`
(`@ConfigurationProperties(prefix = "hapi.fhir")`: fhir_version, server_address, validation
{requests_enabled, responses_enabled}, tester.<name>{name, server_address,
refuse_to_fetch_third_party_urls, fhir_version}, and in the 8.x starter
remote_terminology_service.<name>{system, url}) and its src/main/resources/application.yaml
(the spring.* keys). Read from the starter's source for this change, not from a running v8.4.0-1.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
HAPI_CONFIG = ROOT / "deploy" / "hapi" / "application.yaml"
OPCS4 = "http://fhir.hl7.org.uk/CodeSystem/OPCS-4"
ICD10_UK = "http://hl7.org/fhir/sid/icd-10-uk"

# Leaf keys HAPI (AppProperties, prefix hapi.fhir) and Spring Boot read; `*` is a map key of our choosing.
ACCEPTED = {
    "spring.datasource.url", "spring.datasource.username", "spring.datasource.password", "spring.datasource.driverClassName",
    "spring.jpa.properties.hibernate.dialect", "spring.jpa.properties.hibernate.search.enabled",
    "hapi.fhir.fhir_version", "hapi.fhir.server_address",
    "hapi.fhir.validation.requests_enabled", "hapi.fhir.validation.responses_enabled",
    "hapi.fhir.remote_terminology_service.*.system", "hapi.fhir.remote_terminology_service.*.url",
    "hapi.fhir.tester.*.name", "hapi.fhir.tester.*.server_address",
    "hapi.fhir.tester.*.refuse_to_fetch_third_party_urls", "hapi.fhir.tester.*.fhir_version",
}


def docker_compose() -> str:
    found = shutil.which("docker-compose") or ("/usr/bin/docker-compose" if Path("/usr/bin/docker-compose").exists() else None)
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("docker-compose is not installed, and CI must check docker-compose.yml (apt-get install docker-compose)")
        pytest.skip("docker-compose is not installed (CI installs it and runs this check)")
    return found


def test_compose_config() -> None:
    exe = docker_compose()
    run = subprocess.run([exe, "-f", str(COMPOSE), "config"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert run.returncode == 0, run.stderr
    services = subprocess.run([exe, "-f", str(COMPOSE), "config", "--services"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert set(services.stdout.split()) == {"ipg-validator", "hapi", "prometheus"}
    profiles = subprocess.run([exe, "-f", str(COMPOSE), "config", "--profiles"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert profiles.stdout.split() == ["monitoring"]
    text = run.stdout
    assert re.search(r"image: hapiproject/hapi:v\d+\.\d+\.\d+(-\d+)?\n", text), "HAPI is pinned to a release tag"
    assert "/app/config/application.yaml:ro" in text and "dockerfile: Dockerfile" in text


def test_dockerfile() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert text.startswith("#") and "FROM python:3.11-slim" in text
    assert re.search(r"^USER (?!root|0\b)\S+", text, re.M)
    assert "HEALTHCHECK" in text and "/readyz" in text and "curl" not in text
    assert 'ENTRYPOINT ["ipg-validator", "serve"]' in text
    wheel = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["hatch"]["build"]["targets"]["wheel"]
    for shipped in (*wheel["force-include"], "plugin", "pyproject.toml"):  # what `pip install .` needs in the image
        assert f"COPY {shipped}" in text or f" {shipped} " in text, shipped


def parse_yaml_subset(text: str) -> dict[str, Any]:
    """Block mappings of scalars (the subset deploy/hapi/application.yaml keeps to; no PyYAML here)."""
    root: dict[str, Any] = {}
    stack: list[tuple[int, dict[str, Any]]] = [(-1, root)]
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        assert "\t" not in line[:indent] and not line.lstrip().startswith("- "), f"outside the subset: {raw!r}"
        key, sep, value = line.strip().partition(":")
        assert sep, f"not a mapping line: {raw!r}"
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        assert key not in parent, f"duplicate key {key}"
        value = value.strip()
        if value:
            parent[key] = value.strip('"')
        else:
            parent[key] = {}
            stack.append((indent, parent[key]))
    return root


def leaves(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(leaves(value, path + "."))
        else:
            out[path] = value
    return out


def naming_system_aliases() -> set[str]:
    """The alias URIs (uniqueId of type uri, not preferred) of the shipped NamingSystems."""
    found: set[str] = set()
    for path in sorted((ROOT / "valuesets").glob("NamingSystem-*.json")):
        for unique in json.loads(path.read_text(encoding="utf-8")).get("uniqueId", []):
            if unique.get("type") == "uri" and not unique.get("preferred"):
                found.add(unique["value"])
    return found


def test_hapi_configuration_keys() -> None:
    config = leaves(parse_yaml_subset(HAPI_CONFIG.read_text(encoding="utf-8")))
    patterns = [re.compile(re.escape(a).replace(r"\*", r"[A-Za-z0-9_-]+") + "$") for a in ACCEPTED]
    unknown = [key for key in config if not any(p.match(key) for p in patterns)]
    assert not unknown, f"keys HAPI does not read: {unknown}"
    assert config["hapi.fhir.validation.requests_enabled"] == "true"
    assert config["hapi.fhir.fhir_version"] == "R4"
    remote = {v for k, v in config.items() if k.startswith("hapi.fhir.remote_terminology_service.") and k.endswith(".system")}
    assert remote == {OPCS4, ICD10_UK} | naming_system_aliases()  # every alias too, or HAPI calls it unknown
    urls = {v for k, v in config.items() if k.startswith("hapi.fhir.remote_terminology_service.") and k.endswith(".url")}
    assert urls == {"http://ipg-validator:8080/fhir"}  # the compose service name and the container port


def test_prometheus_scrapes_the_service() -> None:
    text = (ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text(encoding="utf-8")
    assert "metrics_path: /metrics" in text and "ipg-validator:8080" in text
