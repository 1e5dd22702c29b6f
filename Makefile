VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install test lint bench bench-migrate example golden codex clean

# The real Codex CLI for the end-to-end tests (tests/codex_cli.py): a pinned npm package installed into a
# project-local, git-ignored folder.  Without npm this does nothing and those tests skip, saying why.
CODEX_VERSION := 0.171.0
CODEX_DIR := .codex-cli
NPM := $(shell command -v npm 2>/dev/null)

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

install: $(PY)
	$(PY) -m pip install -q -e ".[dev]"

test: install $(if $(NPM),codex)
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check translator tests benchmarks
	$(VENV)/bin/mypy

bench: install
	$(PY) benchmarks/bench.py

bench-migrate: install
	$(PY) benchmarks/migrate_bench.py --records 100000 --jobs 1 2

example: install
	$(PY) -m translator translate --from chat --to responses --request examples/chat_text_and_tool_calls.request.json examples/chat_text_and_tool_calls.sse

golden: install
	$(PY) -m pytest -q tests/test_golden.py tests/test_responses_to_chat_corpus.py -k golden --snapshot-update

codex:
ifeq ($(NPM),)
	@echo "codex: npm not found, the Codex CLI is not installed (its tests will skip)"
else
	@if grep -qs '"version": "$(CODEX_VERSION)"' $(CODEX_DIR)/node_modules/@openai/codex/package.json \
	    && ls $(CODEX_DIR)/node_modules/@openai/codex-*/vendor/*/bin/codex >/dev/null 2>&1; then \
	  echo "codex: @openai/codex@$(CODEX_VERSION) already in $(CODEX_DIR)"; \
	else \
	  echo "codex: installing @openai/codex@$(CODEX_VERSION) into $(CODEX_DIR)"; \
	  mkdir -p $(CODEX_DIR) && npm install --prefix $(CODEX_DIR) --save-exact --no-audit --no-fund \
	    --no-update-notifier --loglevel=error @openai/codex@$(CODEX_VERSION); \
	fi
endif

clean:
	rm -rf $(VENV) $(CODEX_DIR) .pytest_cache .mypy_cache .ruff_cache
