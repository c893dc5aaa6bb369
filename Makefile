# Fresh machine: `make demo` sets up and runs the main job; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Which torch build: TORCH_SPEC is the requirement, TORCH_INDEX an extra index to take it from.
# The default line takes whatever build pip's configuration gives: the CPU build on machines
# configured for it (as here), the CUDA build from PyPI elsewhere (about 15 GPU packages).
#   make setup TORCH_INDEX=https://download.pytorch.org/whl/cpu     CPU only, anywhere
#   make setup TORCH_INDEX=https://download.pytorch.org/whl/cu128   a given CUDA build
# (after `make clean`: an existing .venv is kept as it is)
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=

.PHONY: setup demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, the build TORCH_SPEC / TORCH_INDEX choose (see above)
	$(PY) -m pip install -q "$(TORCH_SPEC)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install -q -e ".[test,eval]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/redecode demo -o out/demo

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) tools/bench_decode.py

clean:
	rm -rf $(VENV) out .pytest_cache
