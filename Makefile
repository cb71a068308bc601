# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# constraints.txt pins torch to the CPU build on this project's machines; see README for GPUs.
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: demo test smoke bench figures clean

$(BIN)/gdlab: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -e '.[dev]'
	touch $@

demo: $(BIN)/gdlab
	$(BIN)/gdlab train configs/quickstart.yaml

# The tests, then every shipped config trained for a few steps so none can rot.
test: $(BIN)/gdlab
	$(BIN)/python -m pytest -q -n 2 tests
	$(MAKE) --no-print-directory smoke

smoke: $(BIN)/gdlab
	@for c in configs/*.yaml; do \
		$(BIN)/gdlab train "$$c" --smoke --quiet > /dev/null || { echo "smoke failed: $$c"; exit 1; }; \
		echo "smoke ok: $$c"; \
	done

bench: $(BIN)/gdlab
	$(BIN)/python benchmarks/train_overhead.py

clean:
	rm -rf $(VENV) *.egg-info
