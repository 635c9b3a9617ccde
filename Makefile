# The two commands that do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export SOM_FLOW_DATABASE_URL ?=

.PHONY: run test lint install browser clean bench

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/som-flow init
	$(BIN)/som-flow demo
	@echo "som_flow: open http://127.0.0.1:5000/ and log in with a demo login above"
	$(BIN)/som-flow serve --host 127.0.0.1 --port 5000

# Chromium for the browser tests comes from Debian, never a downloaded browser build.
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "could not install chromium"; \
	  else echo "chromium missing: apt-get install chromium"; fi; }

test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python bench/engine_moves.py

clean:
	rm -rf $(VENV) instance .pytest_cache
