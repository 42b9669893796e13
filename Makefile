# Thin wrappers; each target sets up the virtual environment first if it is missing or stale.
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
PY := $(BIN)/python
export PATH := $(BIN):$(PATH)
export DVC_NO_ANALYTICS := 1

.PHONY: setup system-packages run test test-fast ui team-server bench bench-throughput results params deps lint docs

setup: $(VENV)/.installed

# torch goes in first, pinned: it is the CPU wheel on this machine's disk, while an unpinned torch
# (asked for by any other package) would download a multi-GB CUDA build. Where pip finds no CPU
# wheel of its own, `make setup TORCH_INDEX=https://download.pytorch.org/whl/cpu` takes it from
# PyTorch's CPU index (PyPI's Linux wheel of torch is the CUDA build).
TORCH_INDEX ?=
TORCH := torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
$(VENV)/.installed: pyproject.toml
	@echo "setup: creating $(VENV) (2 to 5 minutes on a first run; later runs skip it)"
	scripts/make-venv.sh $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@echo "setup: torch (the CPU build)"
	$(PY) -m pip install -q $(TORCH)
	@echo "setup: rnnops and its dependencies (the longest step)"
	$(PY) -m pip install -q -e ".[dev]"
	@echo "setup: the C++ time loops of the LSTM kernels (about 20 s)"
	$(PY) -c "from rnnops.models.cells.kernels import native; print('native loops:', 'ready' if native.steps() else 'not available')"
	touch $@

system-packages:    ## Debian packages for tests with real services (PostgreSQL, Chromium)
	scripts/system-packages.sh

run: setup          ## the default pipeline, cached by DVC
	dvc repro

test: setup system-packages  ## every test, the end-to-end pipelines included
	$(PY) -m pytest -q -rs

test-fast: setup    ## unit tests only
	$(PY) -m pytest -q -m "not slow"

ui: setup           ## MLflow UI on http://127.0.0.1:5000
	mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlruns/mlflow.db --host 127.0.0.1 --port 5000

team-server: setup system-packages  ## PostgreSQL, an S3 store and mlflow server on loopback (Ctrl-C stops)
	$(PY) scripts/team_server.py

bench: setup
	$(PY) bench/pipeline.py

# The peer libraries get their own environment (torch pinned first, as above): they are never
# dependencies of rnnops.
BENCH_VENV := .venv-bench
$(BENCH_VENV)/.installed:
	scripts/make-venv.sh $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install -q $(TORCH)
	$(BENCH_VENV)/bin/python -m pip install -q darts neuralforecast
	touch $@

bench-throughput: setup $(BENCH_VENV)/.installed  ## trainer vs raw loop, Darts, NeuralForecast
	$(PY) bench/throughput.py --peers $(BENCH_VENV)/bin/python

results: setup      ## the published tables reproduced (hours on a CPU): docs/results.md
	cd pipelines/benchmarks && dvc repro  # its own DVC project: kept out of the default pipeline's status

params: setup       ## rewrite params.yaml from conf/ (as dvc exp run does)
	$(PY) pipelines/compose_params.py

deps: setup         ## rewrite dvc.yaml's code deps from the stages' import graph
	$(PY) pipelines/stage_deps.py --write

lint: setup
	ruff check src tests pipelines bench scripts

# --strict: a broken link, anchor or nav entry fails the build (CI runs this). Material's banner
# about MkDocs 2.0 says nothing about this site, so it is silenced.
docs: setup         ## the documentation site (mkdocs.yml, docs/) into site/
	NO_MKDOCS_2_WARNING=1 mkdocs build --strict --quiet
