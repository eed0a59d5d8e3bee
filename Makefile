# Two commands matter on a fresh machine: `make demo` and `make test` (see README).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_WS ?= demo-workspace
DEMO_ARGS ?=

.PHONY: install demo test test-fast check web-assets browser clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[all,test]'
	touch $(STAMP)

install: $(STAMP) web-assets

# Front-end libraries (Cytoscape.js) come from the npm registry; skipped when npm is absent.
web-assets:
	@if [ -f package.json ] && command -v npm >/dev/null 2>&1; then \
	  [ -d node_modules ] || npm install --no-audit --no-fund --silent; \
	  [ -x scripts/copy-web-assets.sh ] && scripts/copy-web-assets.sh || true; \
	fi

# Debian's chromium for the browser tests (root on CI and dev machines; skipped if present).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "warning: could not install chromium; browser tests will be skipped"; }

demo: install
	$(BIN)/filiere demo --workspace $(DEMO_WS) $(DEMO_ARGS)

test: install browser
	$(BIN)/python -m pytest --runslow -q

test-fast: install
	$(BIN)/python -m pytest -q

check: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) node_modules $(DEMO_WS) .pytest_cache .mypy_cache .ruff_cache
