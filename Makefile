# Every target sets up .venv itself, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: demo test lint lock lock-check bench bench-patrol bounds browser clean

# Each set installs from the lock (uv.lock; .ci/locks/*.txt for pip), once per change
# of the lock; `.ci/install` says what it is doing.
$(VENV)/.installed-%: pyproject.toml uv.lock .ci/locks/%.txt .ci/install
	PYTHON=$(PYTHON) VENV=$(VENV) .ci/install $*
	touch $@

demo: $(VENV)/.installed-core
	$(BIN)/pingan demo --out out

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint lock-check browser
	$(BIN)/python -m pytest -q

# uv.lock must agree with pyproject.toml, and pip's exports with uv.lock.
lock-check: $(STAMP)
	UV=$(BIN)/uv .ci/lock --check

# After editing the dependencies in pyproject.toml: re-lock and re-export.
lock: $(STAMP)
	UV=$(BIN)/uv .ci/lock

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
	$(BIN)/python benchmarks/teams.py

# The patrol planner against the Team Orienteering best-known scores and Chao et al.'s
# results (about 25 minutes), and against OR-Tools on road instances (about 3 minutes).
bench-patrol: $(STAMP)
	$(BIN)/python benchmarks/patrol_roads.py
	$(BIN)/python benchmarks/patrol_top.py

# Whole commands on a 180k-node area against issue 9's time and memory bounds (~20 min).
bounds: $(STAMP)
	$(BIN)/python benchmarks/bounds.py

clean:
	rm -rf out .pytest_cache .mypy_cache .ruff_cache
