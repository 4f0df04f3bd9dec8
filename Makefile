# Two commands on a fresh machine (Python 3.11+, no network beyond the package index):
#   make serve  install calmline into .venv and run the service and web UI on 127.0.0.1:8000
#   make test   install with test extras and run lint, types, layer contracts and every test
# (make demo plays the built-in difficult conversation in the terminal instead.)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: serve demo test install install-test lint chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python chromium
	$(BIN)/pip install --quiet -e ".[test]"

# The web UI's browser tests drive Debian's chromium (Playwright downloads no browser). It is
# installed with apt-get when missing and root or password-less sudo is at hand; otherwise the
# browser tests are skipped with a reason (and fail when CI is set).
chromium:
	@command -v chromium >/dev/null 2>&1 && exit 0; \
	if ! command -v apt-get >/dev/null 2>&1; then \
		echo "chromium is missing and there is no apt-get here: install Chromium at /usr/bin/chromium for the browser tests (tests/web)"; exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	else echo "chromium is missing: run 'sudo apt-get install -y chromium' for the browser tests (tests/web); they are skipped until then"; exit 0; fi; \
	echo "installing Debian's chromium for the browser tests"; \
	export DEBIAN_FRONTEND=noninteractive; \
	$$sudo apt-get install -y chromium || ($$sudo apt-get update && $$sudo apt-get install -y chromium)

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
