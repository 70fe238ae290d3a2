# Every target sets up .venv itself, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench bounds browser clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/pingan demo --out out

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint browser
	$(BIN)/python -m pytest -q

# The map tests open the pages in a real headless Chromium. Install it from Debian's
# packages where we can (CI runs as root); elsewhere those tests skip with a reason.
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium from Debian packages for the browser tests"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
			|| echo "chromium install failed: browser tests will skip"; \
	else echo "chromium not found and cannot be installed here: browser tests will skip"; fi

bench: $(STAMP)
	$(BIN)/python benchmarks/network.py
	$(BIN)/python benchmarks/engine.py
	$(BIN)/python benchmarks/hotspots.py

# Whole commands on a 180k-node area against issue 9's time and memory bounds (~20 min).
bounds: $(STAMP)
	$(BIN)/python benchmarks/bounds.py

clean:
	rm -rf out .pytest_cache .mypy_cache .ruff_cache
