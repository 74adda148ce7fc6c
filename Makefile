# ipg-validator: `make run` serves the validator, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test bench venv clean conformance fuzz soak interop interop-build bench-bulk

$(BIN)/ipg-validator: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

venv: $(BIN)/ipg-validator

run: venv
	$(BIN)/ipg-validator serve --host $(HOST) --port $(PORT)

# Lint (ruff) and strict type checks (mypy on plugin/) first: both are part of the suite
test: venv
	$(BIN)/ruff check plugin tests bench tools
	$(BIN)/mypy
	$(BIN)/python -m pytest

# The HTTP load comes from wrk (Debian package `wrk`), installed here when missing
bench: venv
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk >/dev/null)
	PYTHONPATH=. $(BIN)/python -m bench
	$(MAKE) bench-bulk

# `ipg-validator bulk` on generated 100,000 and 1,000,000-encounter exports, and Spark local[2] (BULK_SIZES, BULK_SPARK)
bench-bulk: venv
	PYTHONPATH=. $(BIN)/python -m bench.bulk

clean:
	rm -rf $(VENV) build dist .pytest_cache

# HL7 terminology ecosystem suites (TX_ECOSYSTEM_TESTS, default ../shared/tx-ecosystem/tests): passed/failed per suite
conformance: venv
	PYTHONPATH=tools $(BIN)/python -m conformance

# Hostile-input tests with many more examples (tests/fuzz: HYPOTHESIS_PROFILE=fuzz, x20) and the heavy cases
fuzz: venv
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q --hypothesis-show-statistics tests/test_properties_fhir.py tests/test_bundle_properties.py tests/test_hostile_bodies.py tests/test_hostile_terminology.py tests/test_schemathesis.py tests/test_concurrency.py tests/test_cli_hostile.py

# `serve --workers 2` on a free loopback port under a steady mixed load (SOAK_SECONDS, default 60): zero errors, memory flat
soak: venv
	PYTHONPATH=. $(BIN)/python -m bench.soak

# FHIR packages the HL7 validator loads beside R4 core (which PackageCache writes from a Maven artifact), from npm
FHIR_NPM_PACKAGES = hl7.terminology.r4@7.0.1 hl7.fhir.uv.extensions.r4@5.3.0-ballot-tc1 hl7.fhir.xver-extensions@0.1.0
HL7 = interop/hl7-validator/target
FHIR_HOME = $(HL7)/fhir-home

# The real FHIR clients (interop/, Maven): resolves their dependencies and builds them; needs Java 17 and Maven,
# and npm for the HL7 validator's offline package cache ($(FHIR_HOME)/.fhir/packages, made once per package list)
interop-build:
	mvn -B -q -f interop/pom.xml -DskipTests package
	@if [ "$$(cat $(FHIR_HOME)/packages.txt 2>/dev/null)" != "$(FHIR_NPM_PACKAGES)" ]; then \
	    rm -rf $(FHIR_HOME) $(HL7)/npm && mkdir -p $(HL7)/npm && \
	    (cd $(HL7)/npm && npm pack --silent $(FHIR_NPM_PACKAGES) >/dev/null) && \
	    java -cp '$(HL7)/hl7-validator.jar:$(HL7)/lib/*' org.ipgvalidator.interop.hl7.PackageCache $(FHIR_HOME)/.fhir/packages $(HL7)/npm/*.tgz && \
	    echo "$(FHIR_NPM_PACKAGES)" > $(FHIR_HOME)/packages.txt; fi

# Just the interop tests: the real clients against `ipg-validator serve` on a free loopback port
interop: venv interop-build
	$(BIN)/python -m pytest -q tests/test_interop_*.py
