# Everything runs in a project virtual environment, .venv/ (ignored by git); the system
# interpreter is only used to create it. Activate it with:  . .venv/bin/activate
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
PIP = $(BIN)/python -m pip

.PHONY: venv install install-test demo test bench clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

venv: $(BIN)/python

install: venv
	$(PIP) install -q -e .

# torch is pinned to the CPU build this machine's pip serves; any other version pulls CUDA.
install-test: venv
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[all,test]"

demo: install
	$(BIN)/nncells demo

test: install-test
	$(BIN)/python -m pip list --format=freeze 2>/dev/null | grep -iE '^(numpy|scipy|highspy|pyarrow|torch|onnx|onnxruntime|onnxscript|dask|distributed|matplotlib|networkx|hypothesis|pytest)==' | tr '\n' ' '; echo
	$(BIN)/python -m pytest tests

bench: install-test
	$(BIN)/python benchmarks/run_benchmarks.py

clean-venv:
	rm -rf $(VENV)
