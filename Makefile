VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install test test-core test-gateway lint docs bench bench-migrate bench-gateway bench-websocket soak example golden codex vercel-ai screenshots clean

# The real Codex CLI for the end-to-end tests (tests/support/codex_cli.py): a pinned npm package installed into a
# project-local, git-ignored folder.  Without npm this does nothing and those tests skip, saying why.
CODEX_VERSION := 0.171.0
CODEX_DIR := .codex-cli
NPM := $(shell command -v npm 2>/dev/null)
# The Vercel AI SDK for the gateway's item_reference tests (tests/support/vercel_ai.py), the same way.
AI_VERSION := 6.0.333
AI_OPENAI_VERSION := 3.0.141
ZOD_VERSION := 4.1.12
VERCEL_AI_DIR := .vercel-ai

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

install: $(PY)
	$(PY) -m pip install -q -e ".[dev]"

# Most of the suite waits on servers, sockets and timeouts rather than computing, so two worker processes
# (pytest-xdist) halve its time on two cores; TEST_WORKERS=0 runs it in this process alone.
TEST_WORKERS ?= 2

test: install $(if $(NPM),codex vercel-ai)
	$(PY) -m pytest -q -n $(TEST_WORKERS)

# The fast loop: the core without the gateway's tests (tests/gateway/, marked `gateway` by its conftest.py:
# servers on loopback, processes, Redis, the Codex CLI).  `make test-gateway` runs those alone.
test-core: install
	$(PY) -m pytest -q -n $(TEST_WORKERS) -m "not gateway and not soak"

test-gateway: install $(if $(NPM),codex vercel-ai)
	$(PY) -m pytest -q -n $(TEST_WORKERS) -m "gateway and not soak"

lint: install
	$(VENV)/bin/ruff check translator tests benchmarks
	$(VENV)/bin/mypy

# The documentation site (mkdocs.yml, docs/) into the git-ignored site/.  --strict turns every warning (a broken
# link or anchor, a page missing from the nav) into a failure.  mkdocs and mkdocs-material are pinned in the
# `docs` extra of pyproject.toml, which `dev` includes, so `make install` brings them.  Nothing is fetched.
# (NO_MKDOCS_2_WARNING: mkdocs-material's banner about its successor, printed on every build.)
docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

bench: install
	$(PY) benchmarks/bench.py

bench-migrate: install
	$(PY) benchmarks/migrate_bench.py --records 100000 --jobs 1 2 --halves --rounds 3

# The Responses WebSocket: uvicorn's implementations side by side, a 20-turn agent loop socket vs HTTP.
bench-websocket: install
	$(PY) benchmarks/bench_websocket.py $(ARGS)

# The gateway side by side with LiteLLM's proxy (benchmarks/bench_gateway.py, a few minutes).  LiteLLM,
# psutil and matplotlib go into their own git-ignored virtualenv, never into the project's.
# LiteLLM 1.100.5 is the newest release whose [proxy] extra installs on Python 3.11 from the index here.
BENCH_VENV := .bench/venv
LITELLM_VERSION := 1.100.5
BENCH_PACKAGES := 'litellm[proxy]==$(LITELLM_VERSION)' psutil==7.2.2 matplotlib==3.11.2 uvloop==0.23.0

$(BENCH_VENV)/.installed: Makefile
	python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install -q $(BENCH_PACKAGES)
	touch $@

# open-responses-server, the second peer doing the same bridge, in a virtualenv of its own (its pins
# differ from LiteLLM's).  0.4.1 is the newest release the index here has.
ORS_VENV := .bench/ors-venv
ORS_VERSION := 0.4.1

$(ORS_VENV)/.installed: Makefile
	python3 -m venv $(ORS_VENV)
	$(ORS_VENV)/bin/python -m pip install -q --upgrade pip
	$(ORS_VENV)/bin/python -m pip install -q open-responses-server==$(ORS_VERSION)
	touch $@

bench-gateway: install $(BENCH_VENV)/.installed $(ORS_VENV)/.installed
	$(PY) benchmarks/bench_upstream_client.py
	$(BENCH_VENV)/bin/python benchmarks/bench_gateway.py $(ARGS)

# Longer runs of the gateway's load and fault tests (tests/gateway/test_gateway_load.py, marked soak).
soak: install
	$(PY) -m pytest -q -m soak tests/gateway/test_gateway_load.py

# The status page's screenshot on docs/gateway/operations.md, retaken by its test in a real headless Chromium.
screenshots: install
	TRANSLATOR_SCREENSHOTS=1 $(PY) -m pytest -q tests/gateway/test_status_page.py

example: install
	$(PY) -m translator translate --from chat --to responses --request examples/chat_text_and_tool_calls.request.json examples/chat_text_and_tool_calls.sse

golden: install
	$(PY) -m pytest -q tests/streams/test_chat_to_responses_corpus.py tests/streams/test_responses_to_chat_corpus.py -m golden --snapshot-update

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
	rm -rf $(VENV) $(CODEX_DIR) $(VERCEL_AI_DIR) .bench site .pytest_cache .mypy_cache .ruff_cache

vercel-ai:
ifeq ($(NPM),)
	@echo "vercel-ai: npm not found, the Vercel AI SDK is not installed (its tests will skip)"
else
	@if grep -qs '"version": "$(AI_VERSION)"' $(VERCEL_AI_DIR)/node_modules/ai/package.json \
	    && grep -qs '"version": "$(AI_OPENAI_VERSION)"' $(VERCEL_AI_DIR)/node_modules/@ai-sdk/openai/package.json; then \
	  echo "vercel-ai: ai@$(AI_VERSION) and @ai-sdk/openai@$(AI_OPENAI_VERSION) already in $(VERCEL_AI_DIR)"; \
	else \
	  echo "vercel-ai: installing ai@$(AI_VERSION) @ai-sdk/openai@$(AI_OPENAI_VERSION) into $(VERCEL_AI_DIR)"; \
	  mkdir -p $(VERCEL_AI_DIR) && npm install --prefix $(VERCEL_AI_DIR) --save-exact --no-audit --no-fund \
	    --no-update-notifier --loglevel=error ai@$(AI_VERSION) @ai-sdk/openai@$(AI_OPENAI_VERSION) zod@$(ZOD_VERSION); \
	fi
endif
