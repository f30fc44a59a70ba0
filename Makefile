# Cangliu quick start: `make run` (demo server on http://127.0.0.1:8000) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint serve i18n clean sbom

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/cangliu demo
	$(BIN)/cangliu serve

serve: $(BIN)/.installed
	$(BIN)/cangliu serve

# Three workers on two cores: many tests spend their time waiting on PostgreSQL, a server thread
# or the browser rather than computing.
test: $(BIN)/.installed
	$(BIN)/pytest -n 3 --durations=15

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# The software bill of materials of a server install: dist/sbom.cdx.json (CycloneDX).
sbom: $(BIN)/.installed
	.ci/sbom

# Messages are English msgids: gettext in templates, and the message argument of domain errors.
I18N_KEYWORDS := -k single:2 -k FieldError:2 -k NotFound -k Conflict -k AuthenticationFailed \
  -k CsrfFailed -k Forbidden -k FieldForbidden -k NotAllowed -k ApprovalRefused -k LinkRefused \
  -k LinkGone -k __init__:1 -k Field:2 -k translate:2

# Refresh the message catalogue after adding UI text (translations live in the .po file).
i18n: $(BIN)/.installed
	$(BIN)/pybabel extract -F babel.cfg $(I18N_KEYWORDS) -o /tmp/cangliu.pot src/cangliu
	$(BIN)/python -c 'from cangliu.i18n import add_vocabulary; add_vocabulary("/tmp/cangliu.pot")'
	$(BIN)/pybabel update -i /tmp/cangliu.pot -d src/cangliu/web/locales -l zh_CN --no-fuzzy-matching

clean:
	rm -rf $(VENV) cangliu.db cangliu.db-wal cangliu.db-shm
