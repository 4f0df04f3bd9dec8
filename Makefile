# Two commands on a fresh machine (Python 3.11+, no network beyond the package index):
#   make serve  install calmline into .venv and run the service and web UI on 127.0.0.1:8000
#   make test   install with test extras and run lint, types, layer contracts and every test
# (make demo plays the built-in difficult conversation in the terminal instead.)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: serve demo test install install-test lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"

serve: install
	$(BIN)/calmline serve

demo: install
	$(BIN)/calmline demo

lint: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest
