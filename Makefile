# ipg-validator: `make run` serves the validator, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test bench venv clean

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
