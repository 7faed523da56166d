# `make serve` and `make test` each create .venv and install what they need on first use.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: serve test proto install clean

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

install: $(BIN)/.installed

serve: install
	$(BIN)/authz serve

test: install
	$(BIN)/pytest

proto: install
	$(BIN)/python tools/gen_proto.py

clean:
	rm -rf $(VENV) .pytest_cache
