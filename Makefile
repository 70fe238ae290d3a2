# Every target sets up .venv itself, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
SERVICE := $(VENV)/.installed-service
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: demo serve test test-store lint lock lock-check bench bench-patrol bench-sweep bounds browser clean

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

# The planning service on the sample district (or AREA=path/to/area.toml), on loopback.
serve: $(SERVICE)
	$(BIN)/pingan serve --host $(HOST) --port $(PORT) $(if $(AREA),--area $(AREA))

# The storage suite runs on both backends: .ci/postgis starts a throw-away PostGIS on
# loopback (installing it from Debian's packages where we are root) and stops it after
# the tests, even when they fail; where it cannot, the PostGIS tests skip and say why.
# A PINGAN_TEST_DATABASE_URL already set, or a PostGIS .ci/postgis already runs, is used
# (and left running) instead.
test: lint lock-check browser $(SERVICE) $(VENV)/.installed-dask
	@$(WITH_POSTGIS) $(BIN)/python -m pytest -q

# Only the storage tests (both backends, the crash test): a quick check of service/store.
test-store: $(SERVICE)
	@$(WITH_POSTGIS) $(BIN)/python -m pytest -q tests/test_store.py tests/test_store_crash.py

WITH_POSTGIS = run() { \
	url=$${PINGAN_TEST_DATABASE_URL:-}; started=; \
	if [ -z "$$url" ]; then \
		if url=$$(bash .ci/postgis url); then :; \
		elif url=$$(bash .ci/postgis start); then started=1; \
		else url=; echo "no PostGIS here: the PostGIS storage tests skip"; fi; \
	fi; \
	PINGAN_TEST_DATABASE_URL=$$url "$$@"; rc=$$?; \
	[ -z "$$started" ] || bash .ci/postgis stop; return $$rc; }; run

# uv.lock must agree with pyproject.toml, and pip's exports with uv.lock.
lock-check: $(STAMP)
	UV=$(BIN)/uv .ci/lock --check

# After editing the dependencies in pyproject.toml: re-lock and re-export.
lock: $(STAMP)
	UV=$(BIN)/uv .ci/lock

# The map tests open the pages in Debian's headless Chromium, driven by Playwright (in
# the dev set), with a Chinese font so the pages show Chinese, and read printed PDFs
# with poppler. What is missing is installed from Debian's packages where we can (CI
# runs as root); elsewhere those tests skip, and tests/browser.py says why.
BROWSER_DEBS := chromium poppler-utils
browser: $(STAMP)
	@debs=""; for p in $(BROWSER_DEBS); do dpkg -s $$p >/dev/null 2>&1 || debs="$$debs $$p"; done; \
	font=""; [ -n "$$(fc-list :lang=zh 2>/dev/null)" ] || font=" a Chinese font"; \
	if [ -z "$$debs$$font" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing$$debs$$font from Debian packages for the browser tests"; \
		apt-get update -qq || echo "apt-get update failed: installing from the old package lists"; \
		apt="env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq"; \
		[ -z "$$debs" ] || $$apt $$debs >/dev/null || echo "installing$$debs failed"; \
		[ -z "$$font" ] || $$apt fonts-wqy-zenhei >/dev/null 2>&1 || $$apt fonts-noto-cjk >/dev/null \
			|| echo "no Chinese font could be installed: the font test will skip"; \
	else echo "cannot install$$debs$$font here (needs root and apt-get): tests needing them skip"; fi
	@$(BIN)/python tests/browser.py || true

bench: $(STAMP)
	$(BIN)/python benchmarks/network.py
	$(BIN)/python benchmarks/engine.py
	$(BIN)/python -m benchmarks.engine_cch
	$(BIN)/python benchmarks/hotspots.py
	$(BIN)/python benchmarks/teams.py

# The patrol planner against the Team Orienteering best-known scores and Chao et al.'s
# results (about 25 minutes), and against OR-Tools on road instances (about 3 minutes).
bench-patrol: $(STAMP)
	$(BIN)/python benchmarks/patrol_roads.py
	$(BIN)/python benchmarks/patrol_top.py

# A province sweep (100 scenarios, 10 districts) on 2 Dask workers against the same
# sweep run serially (about 15 minutes the first time: the province is written and its
# networks cached in out/bench).
bench-sweep: $(STAMP) $(VENV)/.installed-dask
	$(BIN)/python -m benchmarks.sweep

# Whole commands on a 180k-node area against issue 9's time and memory bounds (~20 min).
bounds: $(STAMP)
	$(BIN)/python benchmarks/bounds.py

clean:
	rm -rf out .pytest_cache .mypy_cache .ruff_cache
