# PST Konsultasi: `make run` installs and serves; `make test` installs and runs every test.
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test install install-test web clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

install: $(BIN)/python web
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .

install-test: $(BIN)/python web
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'

web:
	cd web && npm ci --no-audit --no-fund --silent

run: install
	$(BIN)/pst serve

test: install-test
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) web/node_modules data
