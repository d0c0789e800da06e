# Tanhui: two entry points. `make run` serves the embedded default; `make test` runs every check CI runs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# 1: compile the ledger's hot modules with mypyc (ledger/native.py says which and why); 0: plain Python.
TANHUI_COMPILE ?= 1
STAMP  := $(VENV)/.installed-compile-$(TANHUI_COMPILE)

.PHONY: install run test lint typecheck migrations-check bench clean i18n

# The dependencies first (mypyc type-checks against them), then the compiled build in place, without
# build isolation so that it sees them. A stale build is removed first: Python would import it before
# the edited source.
$(STAMP): pyproject.toml setup.py $(wildcard ledger/*.py)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	rm -f ledger/*.so ledger/native-sources.json
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	if [ "$(TANHUI_COMPILE)" = 1 ]; then \
	    $(BIN)/python -m pip install --quiet 'setuptools>=69' wheel && \
	    TANHUI_COMPILE=1 $(BIN)/python -m pip install --quiet --no-build-isolation --no-deps -e . ; \
	fi
	rm -f $(VENV)/.installed*
	touch $(STAMP)

install: $(STAMP)

## run: set up, migrate, load demo data into an empty ledger, serve on http://127.0.0.1:5000 (and the
## demo witness that cosigns its checkpoints on 127.0.0.1:5100)
run: install
	BIN=$(BIN) scripts/run-demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check ledger

typecheck: install
	$(BIN)/mypy

## migrations-check: an empty SQLite database upgrades to head and the models match the migrations
migrations-check: install
	rm -rf build/migrations-check && mkdir -p build/migrations-check
	TANHUI_INSTANCE_PATH=build/migrations-check $(BIN)/tanhui db upgrade
	TANHUI_INSTANCE_PATH=build/migrations-check $(BIN)/tanhui db check

## test: lint, types, migrations, then pytest (PostgreSQL tests run when TANHUI_PG_URL is set)
test: lint typecheck migrations-check
	scripts/ensure-browser || echo "make test: no headless chromium; the browser tests will be skipped (not under CI)"
	$(BIN)/python -m pytest
	@# The ledger's tests once more on its plain-Python source, which TANHUI_COMPILE=0 installs run, and
	@# in the registry's own time zone (UTC+8), so that a local time taken for UTC anywhere fails a test.
	if [ "$(TANHUI_COMPILE)" = 1 ]; then \
	    TZ=Asia/Shanghai $(BIN)/python -m pytest -q -p tests.pure_ledger tests/unit/ledger tests/integration/ledger ; \
	fi

## i18n: after changing a page's text, re-extract the Chinese messages, merge them into the English
## catalogue (translate what is new in web/translations/en/LC_MESSAGES/messages.po), then compile it.
## The compiled messages.mo is committed next to its .po (a test checks they agree), so a fresh clone
## serves English without this step.
i18n: install
	mkdir -p build
	$(BIN)/pybabel extract -F babel.cfg -k _ --no-location --omit-header --sort-output -o build/messages.pot .
	$(BIN)/pybabel update -i build/messages.pot -d web/translations -D messages --width 110
	$(BIN)/pybabel compile -d web/translations -D messages --statistics

bench: install
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/ledger_bench.py

clean:
	rm -rf $(VENV) build instance .pytest_cache .ruff_cache .mypy_cache .hypothesis
	rm -f ledger/*.so ledger/native-sources.json
