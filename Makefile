# Quick start: `make run` (example evaluation) and `make test` (the whole test suite).
# Each creates .venv when absent and installs the project with every extra, torch first:
# torch==2.13.0 is a CPU build; letting a dependency pick torch would pull a multi-GB CUDA build.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.rageval-installed
OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
# Bytecode is cached even where the environment turns it off: each CLI process would otherwise
# compile rageval anew (0.1 s a process; the tests start hundreds).
export PYTHONDONTWRITEBYTECODE :=
RUN_CONFIG ?= configs/rag.yaml

.PHONY: run test lint format clean install

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

PLUGINS := plugins/rageval-textstats plugins/rageval-checks

$(STAMP): pyproject.toml $(addsuffix /pyproject.toml,$(PLUGINS)) | $(BIN)/python
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[all]'
	$(BIN)/python -m pip install --quiet $(addprefix -e ,$(PLUGINS))
	touch $(STAMP)

run: $(STAMP)
	$(OFFLINE) $(BIN)/rageval run $(RUN_CONFIG) --overwrite

test: $(STAMP)
	$(OFFLINE) $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache

# Speed against direct library calls and peers (lexical and embedding metrics), the model cache,
# and memory on a million rows (benchmarks/README.md). BENCH_ARGS=--quick runs in under a minute.
BENCH_ARGS ?=
.PHONY: bench
bench: $(STAMP)
	$(OFFLINE) $(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)
