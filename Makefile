# Developer and CI entry points. See docs/ and /work/shared/DESIGN.md ("make run", "make test").
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv run test test-fast browser check fmt bench clean distclean

help:
	@echo "targets: venv run test test-fast browser check fmt bench clean distclean"
	@echo "  make test PYTEST_ARGS='-k captcha -x'"
	@echo "  make test-fast: unit and web tests on SQLite only (no PostgreSQL, no browser), under a minute"

# --- environment ----------------------------------------------------------------------------------------------
venv: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install only when pyproject.toml is newer than the stamp (order-only on the interpreter: its mtime is moot).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[dev]'
	touch $(STAMP)

# Chromium for the browser tests. In CI (as root) it is installed when missing; elsewhere only reported.
browser:
	@if [ -x /usr/bin/chromium ]; then \
		echo "browser: chromium found at /usr/bin/chromium"; \
	elif [ "$${CI:-}" = "true" ] && [ "$$(id -u)" = "0" ]; then \
		echo "browser: /usr/bin/chromium missing, installing it (CI)"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	elif command -v chromium >/dev/null 2>&1; then \
		echo "browser: chromium found at $$(command -v chromium)"; \
	else \
		echo "browser: chromium not found; browser tests will be skipped"; \
	fi

# --- running ----------------------------------------------------------------------------------------------------
run: venv
	$(BIN)/python -m service migrate && $(BIN)/python -m service seed && $(BIN)/python -m service serve

# pytest exits 5 when no test was collected: not a failure here.
define pytest
@status=0; $(BIN)/python -m pytest $(1) || status=$$?; \
if [ "$$status" -eq 5 ]; then echo "pytest: no tests collected (exit 5), treated as success"; status=0; fi; \
exit $$status
endef

test: venv browser
	$(call pytest,$(PYTEST_ARGS))

# The quick loop while editing: pure and HTTP tests on SQLite; `make test` remains the whole suite.
test-fast: venv
	$(call pytest,-m "not postgres and not browser" tests/unit tests/web $(PYTEST_ARGS))

check: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: venv
	$(BIN)/ruff check --select I --fix .
	$(BIN)/ruff format .

bench: venv
	@if [ -f bench/__main__.py ]; then \
		$(BIN)/python -m bench; \
	else \
		found=0; \
		for f in bench/*.py; do \
			[ -e "$$f" ] || continue; \
			[ "$$(basename "$$f")" = "__init__.py" ] && continue; \
			found=1; echo "== $$f"; \
			$(BIN)/python "$$f" || exit $$?; \
		done; \
		[ "$$found" -eq 1 ] || echo "bench: nothing to run"; \
	fi

# --- cleaning ---------------------------------------------------------------------------------------------------
# clean keeps the virtualenv and the development data (var/: database and generated key); distclean drops both.
clean:
	rm -rf build dist test-artifacts .pytest_cache .mypy_cache .ruff_cache .hypothesis
	rm -rf *.egg-info
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) var
