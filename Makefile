# Fengyan developer entry points. `make demo` and `make test` work on a fresh machine:
# they create ./.venv once, install the project into it, and reuse it afterwards.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit docs bench clean install browser bench-tools

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The risk-event model trains once from the CCKS 2019 data beside the project (docs/text.md);
# without that data the text stage falls back to the keyword tagger and says so.
EVENT_MODEL := var/models/events-hybrid-v2.joblib
CCKS        := ../shared/data/ccks2019-fin-events/train.csv

demo: $(STAMP)
	test -f $(EVENT_MODEL) || ! test -f $(CCKS) || $(BIN)/python -m fengyan.text build --out $(EVENT_MODEL)
	$(BIN)/fengyan demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

# Generated docs must match the committed ones (docs cannot drift).
docs: $(STAMP)
	$(BIN)/fengyan docs --out docs

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_simulate.py

# Debian's chromium and a CJK font for the end-to-end web tests (Playwright's own browser download does not
# work on closed networks). Needs root; skipped when the browser is already there.
browser:
	test -x /usr/bin/chromium && fc-list :lang=zh | grep -q . || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei)

# wrk, the compiled HTTP load generator of benchmarks/bench_web.py (a Python generator on the
# same cores measures itself more than the server). Needs root; skipped when already there.
bench-tools:
	command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
