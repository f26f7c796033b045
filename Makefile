# seglab: `make help` lists the targets. The first call creates .venv and installs the project.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PARAMS ?= params/demo.yaml
ROWS ?= 50000
DATA := data/customers.parquet
TINY_DATA := tests/data/tiny_customers.parquet
NBVAL := --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

.PHONY: help setup data run test test-fast test-gpu bench bench-gpu bench-sweep bench-assign bench-corpus bench-spread bench-ablation bench-agreement bench-umap references lint clean \
	notebooks lab

## help: list the targets
help:
	@grep -E '^## ' $(MAKEFILE_LIST) | sed -e 's/^## /  /' -e 's/: /\t/' | expand -t 20

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## setup: create .venv and install seglab with the dev extra (again whenever pyproject.toml changes)
setup: $(STAMP)

## data: generate the default synthetic customer table (ROWS=50000)
data: $(DATA)

$(DATA): | $(STAMP)
	$(BIN)/seglab data synth --rows $(ROWS) --seed 0 --out $(DATA)

## run: one tracked pipeline run on the synthetic demo table (PARAMS=params/demo.yaml)
run: $(STAMP) $(DATA)
	$(BIN)/seglab run --params $(PARAMS)

## test: the whole test suite: unit, CLI, end to end and the nbval notebook references
test: $(STAMP)
	$(BIN)/pytest tests tests/reference $(NBVAL)

## test-fast: the suite without the slow quality and end-to-end tests
test-fast: $(STAMP)
	$(BIN)/pytest tests -m "not slow and not gpu and not aws"

## test-gpu: GPU-vs-CPU parity tests (on a GPU instance with RAPIDS)
test-gpu: $(STAMP)
	$(BIN)/pytest -m gpu tests/gpu

## bench-gpu: time each stage on the GPU at 1M and 10M rows, check parity
bench-gpu: $(STAMP)
	$(BIN)/python bench/gpu_smoke.py --out bench/results/gpu_smoke.json

## bench: seglab vs the naive baseline (200k) and seglab run at 1M/5M into bench/README.md; BENCH_QUICK=1: 2,000 rows
bench: $(STAMP)
	$(BIN)/python -m bench $(if $(filter 1,$(BENCH_QUICK)),--quick)

## bench-sweep: 100-trial eps x min_samples sweep on 1M rows, 2 Dask workers, cached vs uncached
bench-sweep: $(STAMP)
	$(BIN)/python -m bench.sweep_bench --rows 1000000 --table /tmp/c1m.parquet --out bench/results/sweep_1m.json --summary bench/SWEEP.md

## bench-assign: seglab assign of 10M customers with a model fitted on 1M, here and on 2 Dask workers: rows/s, peak RSS (ASSIGN_FIT=, ASSIGN_ROWS= to scale down)
ASSIGN_FIT ?= 1000000
ASSIGN_ROWS ?= 10000000
bench-assign: $(STAMP)
	TQDM_DISABLE=1 $(BIN)/python -m bench.assign_bench --fit-rows $(ASSIGN_FIT) --assign-rows $(ASSIGN_ROWS) \
		--workers 2 --out bench/results/assign-$(ASSIGN_ROWS)-from-$(ASSIGN_FIT).json

## bench-corpus: seglab's default run on every corpus table vs KMeans/GMM/UMAP+DBSCAN/UMAP+HDBSCAN into bench/CORPUS.md (~10 min)
bench-corpus: $(STAMP)
	$(BIN)/python -m bench.corpus_bench --out bench/results/corpus.json --summary bench/CORPUS.md \
		--reuse-yardsticks bench/results/corpus_before.json

## bench-ablation: each feature transform switched against its default on 14 corpus tables into bench/ABLATION.md (~35 min)
bench-ablation: $(STAMP)
	TQDM_DISABLE=1 $(BIN)/python -m bench.ablation --out bench/results/ablation.json --summary bench/ABLATION.md

## bench-spread: ARI over seeds and row orders of the quality-gate tables, the floors' evidence, into bench/results/spread.json (~25 min)
bench-spread: $(STAMP)
	TQDM_DISABLE=1 $(BIN)/python -m bench.spread digits breast_cancer synth_s1 rfm_groups two_features baskets_6

## bench-agreement: DBSCAN by density-tree cut vs the exact `dbscan` package on 200k and 1M embeddings into bench/AGREEMENT.md (~30 min)
bench-agreement: $(STAMP)
	TQDM_DISABLE=1 $(BIN)/python -m bench.agreement --rows 200000 1000000 --out bench/results/agreement.json \
		--summary bench/AGREEMENT.md

## bench-umap: UMAP fit settings (epochs x fit sample) on the 200k generator and 4 labelled corpus tables: seconds vs ARI/trustworthiness into bench/UMAP.md (~25 min)
bench-umap: $(STAMP)
	TQDM_DISABLE=1 $(BIN)/python -m bench.umap_frontier --out bench/results/umap_frontier.json --summary bench/UMAP.md

## notebooks: write the paired notebooks/NN_*.ipynb from the .py sources (jupytext; for papermill)
notebooks: $(STAMP)
	$(BIN)/jupytext --sync notebooks/[0-9][0-9]_*.py

$(VENV)/.lab-stamp: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,lab]'
	$(BIN)/python -m ipykernel install --sys-prefix --name seglab --display-name "Python (seglab, .venv)" >/dev/null
	@touch $@

## lab: JupyterLab with jupytext (the lab extra) and kernel seglab = .venv; open notebooks/*.py as notebooks
lab: $(VENV)/.lab-stamp
	$(BIN)/jupyter lab notebooks

## references: re-execute the notebooks on params/tiny.yaml into tests/reference (nbval goldens)
references: $(STAMP)
	$(BIN)/python tests/make_references.py

## lint: ruff on the package, tests, notebooks and benchmarks; lint-imports: the layers (pyproject.toml)
lint: $(STAMP)
	$(BIN)/ruff check lib tests notebooks bench
	$(BIN)/lint-imports --no-cache

## image: build the SageMaker job image with docker (IMAGE=seglab:cpu; GPU: BASE=rapidsai/base:26.10-cuda12-py3.12 RUN_AS=rapids)
IMAGE ?= seglab:cpu
BASE ?= python:3.12-slim
RUN_AS ?= 0
.PHONY: image
image:
	@command -v docker > /dev/null || { echo "make image needs docker: https://docs.docker.com/get-docker/"; exit 1; }
	docker build -f docker/Dockerfile --build-arg BASE=$(BASE) --build-arg RUN_AS=$(RUN_AS) -t $(IMAGE) .

## clean: remove runs, generated data and caches (keeps .venv)
clean:
	rm -rf runs data .pytest_cache .ruff_cache
