# The few commands people run. `make run` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test setup setup-dev lint compare

run: setup
	$(BIN)/python app.py

test: setup-dev
	$(BIN)/python -m pytest

compare: setup
	$(BIN)/python -m playground --preset offline-default

lint: setup-dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

setup: $(VENV)/.installed

setup-dev: $(VENV)/.installed-dev

$(VENV)/.installed: requirements.txt requirements-packaged.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -r requirements-packaged.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/pip install -q -r requirements-dev.txt
	bash scripts/install-chromium.sh
	touch $@
