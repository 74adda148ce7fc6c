# ipg-validator: `make run` serves the validator, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test bench venv clean conformance

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

bench: venv
	PYTHONPATH=. $(BIN)/python -m bench

clean:
	rm -rf $(VENV) build dist .pytest_cache

# HL7 terminology ecosystem suites (TX_ECOSYSTEM_TESTS, default ../shared/tx-ecosystem/tests): passed/failed per suite
conformance: venv
	$(BIN)/python -m ipg_validator.conformance
