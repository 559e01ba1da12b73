# `make run` serves on http://127.0.0.1:8000 (demo catalog loaded once); `make test` runs the
# linters (ruff, mypy) and the whole suite (with the GraphQL-over-HTTP audit when Node is here);
# `make bench` the benchmark suite (PostgreSQL and wrk).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
PYTEST_WORKERS ?= 2
JS := tests/js

.PHONY: install js run test lint schema bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/.installed

# The Node packages of the tests/js clients: the GraphQL-over-HTTP audit, GraphiQL's websocket
# client and its page in Chromium, Apollo Client's persisted queries link (pinned by tests/js/package-lock.json). Without npm their
# tests are skipped, saying why (and fail under CI=true).
$(JS)/node_modules/.installed: $(JS)/package.json $(JS)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		cd $(JS) && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	else \
		echo "npm not found: the tests of the tests/js clients will be skipped"; \
	fi

js: $(JS)/node_modules/.installed

run: install
	$(BIN)/cartograph migrate
	$(BIN)/cartograph seed --demo
	$(BIN)/cartograph apikey create --name dev-admin --permissions '*:*' --if-absent
	$(BIN)/cartograph serve

lint: install
	$(BIN)/ruff check app tests alembic bench
	$(BIN)/mypy

test: lint js
	$(BIN)/pytest -n $(PYTEST_WORKERS)

# The benchmark suite (bench/suite.py, bench/README.md): builds its PostgreSQL data set once
# (kept between runs), drives each scenario with wrk and adds a dated section to
# bench/RESULTS.md named by BENCH_LABEL, e.g. `make bench BENCH_LABEL=after`.
BENCH_LABEL ?= run
BENCH_ARGS ?=
bench: install
	@command -v wrk >/dev/null 2>&1 || { \
		echo "make bench needs wrk, the load generator: sudo apt-get install -y wrk"; exit 2; }
	$(BIN)/python -m bench.suite --reuse --label "$(BENCH_LABEL)" $(BENCH_ARGS)

schema: install
	$(BIN)/cartograph export-schema schema.graphql

clean:
	rm -rf $(VENV) $(JS)/node_modules var/*.db var/*.db-*
