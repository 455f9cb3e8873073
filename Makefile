PYTHON ?= python3
PIP = $(PYTHON) -m pip

.PHONY: install install-test demo test bench

install:
	$(PIP) install -q -e .

# torch is pinned to the CPU build this machine's pip serves; any other version pulls CUDA.
install-test:
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[all,test]"

demo: install
	$(PYTHON) -m nncells demo

test: install-test
	$(PYTHON) -m pytest tests

bench: install-test
	$(PYTHON) benchmarks/run_benchmarks.py
