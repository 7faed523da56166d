# `make serve` and `make test` each create .venv and install what they need on first use.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: serve test lint proto install clean

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

install: $(BIN)/.installed

serve: install
	$(BIN)/authz serve

# ruff over the tree and mypy over authz/ (settings in pyproject.toml); `make test` runs them first.
lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy authz

test: lint
	$(BIN)/pytest

proto: install
	$(BIN)/python tools/gen_proto.py

clean:
	rm -rf $(VENV) .pytest_cache
