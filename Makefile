# `make run` serves on http://127.0.0.1:8000 (demo catalog loaded once); `make test` runs ruff
# and the whole suite.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
PYTEST_WORKERS ?= 2

.PHONY: install run test lint schema clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/cartograph migrate
	$(BIN)/cartograph seed --demo
	$(BIN)/cartograph apikey create --name dev-admin --permissions '*:*' --if-absent
	$(BIN)/cartograph serve

lint: install
	$(BIN)/ruff check app tests alembic bench

test: lint
	$(BIN)/pytest -n $(PYTEST_WORKERS)

schema: install
	$(BIN)/cartograph export-schema schema.graphql

clean:
	rm -rf $(VENV) var/*.db var/*.db-*
