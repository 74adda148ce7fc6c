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

test: venv
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
	$(BIN)/python -m ipg_validator.conformance

# Hostile-input tests with many more examples (tests/fuzz: HYPOTHESIS_PROFILE=fuzz, x20) and the heavy cases
fuzz: venv
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q --hypothesis-show-statistics tests/test_properties_fhir.py tests/test_bundle_properties.py tests/test_hostile_bodies.py tests/test_hostile_terminology.py tests/test_schemathesis.py tests/test_concurrency.py tests/test_cli_hostile.py

# `serve --workers 2` on a free loopback port under a steady mixed load (SOAK_SECONDS, default 60): zero errors, memory flat
soak: venv
	PYTHONPATH=. $(BIN)/python -m bench.soak

# The real FHIR clients (interop/, Maven): resolves their dependencies and builds them; needs Java 17 and Maven
interop-build:
	mvn -B -q -f interop/pom.xml -DskipTests package

# Just the interop tests: the real clients against `ipg-validator serve` on a free loopback port
interop: venv interop-build
	$(BIN)/python -m pytest -q tests/test_interop_*.py
