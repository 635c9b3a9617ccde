# The two commands that do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export SOM_FLOW_DATABASE_URL ?=
# pytest-xdist workers for `make test` (each starts its own PostgreSQL cluster and Chromium); a file's tests stay
# on one worker, in order (test_api_fuzz checks at its end that its earlier tests called every operation)
TEST_WORKERS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: run test lint install browser clean bench assets wheel-check i18n catalogs

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP) catalogs

run: $(STAMP) assets catalogs
	$(BIN)/som-flow init
	$(BIN)/som-flow demo
	@echo "som_flow: open http://127.0.0.1:5000/ and log in with a demo login above"
	$(BIN)/som-flow serve --host 127.0.0.1 --port 5000

# The BPMN diagram viewer and modeler (bpmn-js) come prebuilt from the npm registry into static/. The built files
# are committed, so this only runs (and only needs npm and the network) when they are missing.
BPMN_JS_VERSION := 18.31.1
BPMN_JS := som_flow/web/static/vendor/bpmn-js
$(BPMN_JS)/bpmn-viewer.production.min.js $(BPMN_JS)/bpmn-modeler.production.min.js:
	tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent bpmn-js@$(BPMN_JS_VERSION) >/dev/null && tar xzf bpmn-js-*.tgz) \
	  && mkdir -p $(BPMN_JS) \
	  && cp $$tmp/package/dist/bpmn-viewer.production.min.js $$tmp/package/dist/bpmn-modeler.production.min.js \
	        $$tmp/package/dist/assets/bpmn-js.css $$tmp/package/dist/assets/diagram-js.css \
	        $$tmp/package/dist/assets/bpmn-font/css/bpmn-embedded.css $$tmp/package/LICENSE $(BPMN_JS)/ \
	  && echo $(BPMN_JS_VERSION) > $(BPMN_JS)/VERSION; status=$$?; rm -rf $$tmp; exit $$status

# The modeler page's bundle (bpmn-js, its properties panel and our som.* properties group) is built from
# assets/modeler/ (pinned in its package.json and lock) with esbuild; committed too, so this only runs when missing.
SOM_MODELER := som_flow/web/static/vendor/som-modeler
$(SOM_MODELER)/som-modeler.min.js:
	cd assets/modeler && npm ci --no-audit --no-fund && npm run build

assets: $(BPMN_JS)/bpmn-viewer.production.min.js $(BPMN_JS)/bpmn-modeler.production.min.js $(SOM_MODELER)/som-modeler.min.js

# Translations (Flask-Babel): som_flow/translations/<lang>/LC_MESSAGES/messages.po are the committed sources; the
# compiled .mo files are built from them here (by run, test, install and wheel-check) and never committed.
# `make i18n` is the translators' command: extract every marked text into messages.pot, merge it into each
# messages.po (new texts arrive with an empty msgstr), compile. Another venv's tools: make i18n BIN=/path/bin
CATALOGS := som_flow/translations
PO_FILES := $(wildcard $(CATALOGS)/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)
# no source locations, sorted by text: a catalog merges entry by entry when several people add texts at once
EXTRACT_OPTIONS := --no-location --sort-output --no-wrap -k lazy_gettext -k lazy_ngettext:1,2 -k N_ \
	--project=som_flow --copyright-holder="som_flow" --msgid-bugs-address=""

$(CATALOGS)/%/LC_MESSAGES/messages.mo: $(CATALOGS)/%/LC_MESSAGES/messages.po | $(STAMP)
	$(BIN)/pybabel compile -d $(CATALOGS) -l $* -D messages

catalogs: $(MO_FILES)

i18n:
	$(BIN)/pybabel extract -F babel.cfg $(EXTRACT_OPTIONS) -o $(CATALOGS)/messages.pot som_flow
	$(BIN)/pybabel update -i $(CATALOGS)/messages.pot -d $(CATALOGS) -D messages --no-wrap --no-fuzzy-matching \
	  --ignore-obsolete
	@# the dates pybabel stamps would make every merge of two people's catalogs conflict on the header
	sed -i -e '/^"POT-Creation-Date: /d' -e '/^"PO-Revision-Date: /d' -e '/^"Generated-By: /d' $(PO_FILES)
	$(BIN)/pybabel compile -d $(CATALOGS) -D messages --statistics

# Chromium for the browser tests comes from Debian, never a downloaded browser build.
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "could not install chromium"; \
	  else echo "chromium missing: apt-get install chromium"; fi; }

test: $(STAMP) browser catalogs
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# the built wheel in a clean venv: `som-flow init` must install the three shipped kinds (CI runs this)
wheel-check: $(STAMP) catalogs
	PYTHON=$(PYTHON) .ci/wheel-check

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python bench/engine_moves.py
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/forecast.py
	$(BIN)/python bench/reminders.py

clean:
	rm -rf $(VENV) instance .pytest_cache
