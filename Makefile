VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install test lint bench example golden clean

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

install: $(PY)
	$(PY) -m pip install -q -e ".[dev]"

test: install
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check translator tests benchmarks
	$(VENV)/bin/mypy

bench: install
	$(PY) benchmarks/bench.py

example: install
	$(PY) -m translator translate --from chat --to responses --request examples/chat_text_and_tool_calls.request.json examples/chat_text_and_tool_calls.sse

golden: install
	$(PY) -m pytest -q tests/test_golden.py tests/test_responses_to_chat_corpus.py -k golden --snapshot-update

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
