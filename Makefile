# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# constraints.txt pins torch to the CPU build on this project's machines. With a CUDA torch of your own
# already in .venv, `make test CONSTRAINTS=` installs without the pin, so pip keeps your build (see README).
CONSTRAINTS ?= constraints.txt
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check $(if $(CONSTRAINTS),-c $(CONSTRAINTS))

.PHONY: demo test smoke bench figures clean

# A venv made by an older Python would stay and fail every install after; say which Python to use instead.
$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
		echo "gdlab needs Python 3.11 or newer; '$(PYTHON)' is $$($(PYTHON) --version 2>/dev/null || echo "not found")." \
		"Name another: make $(or $(MAKECMDGOALS),demo) PYTHON=python3.12"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# gdlab itself (what `make demo` needs)
$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP_INSTALL) -e .
	touch $@

# plus the test tools and the Ray extra (the suite runs a sweep on a local Ray instance)
$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP_INSTALL) -e '.[dev,ray]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/gdlab train configs/quickstart.yaml

# The tests, then every shipped config trained for a few steps so none can rot.
test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q -n 2 tests
	$(MAKE) --no-print-directory smoke

smoke: $(VENV)/.installed
	@for c in configs/*.yaml; do \
		$(BIN)/gdlab train "$$c" --smoke --quiet > /dev/null || { echo "smoke failed: $$c"; exit 1; }; \
		echo "smoke ok: $$c"; \
	done

# The README's benchmark tables, with the same settings (about 15 minutes on a 2-core CPU).
bench: $(VENV)/.installed
	$(BIN)/python benchmarks/train_overhead.py --steps 2000 --repeats 5
	$(BIN)/python benchmarks/sweep_speed.py --steps 300

# The README figures in docs/img/, regenerated through the real CLI (about 30 s on a laptop CPU).
figures: $(VENV)/.installed
	$(BIN)/python scripts/make_figures.py

clean:
	rm -rf $(VENV) *.egg-info
