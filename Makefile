# Thin wrapper: every target works on a fresh machine (it installs what it needs).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: all install lint format typecheck imports test unit demo demo-down demo-local bench crds golden clean

all: test

# The virtual environment, installed editable with pinned versions (constraints.txt).
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MAKE) typecheck imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/mypy -p driftwarden.detectors -p driftwarden.operator

imports: $(STAMP)
	$(BIN)/lint-imports

# Lint, types, import layers, then the whole test suite. PostgreSQL is installed when
# missing; the cluster tests build the control plane on first use (cached afterwards).
test: lint
	bash tests/install-postgres.sh
	bash tests/install-monitoring.sh
	$(BIN)/pytest

unit: $(STAMP)
	$(BIN)/pytest tests/unit

# The real product on real data (US census employment, Massachusetts): a cluster (the
# current kubeconfig's with DEMO_IMAGE and DEMO_DATABASE_URL, else the local test control
# plane), Postgres, `helm install`, the operator, a monitor run. `make demo-down` stops it all.
demo: $(STAMP)
	bash tests/install-postgres.sh
	$(BIN)/python examples/demo/demo.py up

demo-down: $(STAMP)
	$(BIN)/python examples/demo/demo.py down

# The same data without a cluster: `driftwarden detect` on 2015 against 2018.
demo-local: $(STAMP)
	$(BIN)/python examples/demo/census.py files examples/data
	$(BIN)/driftwarden detect --baseline examples/data/census-2015.parquet \
		--current examples/data/census-2018.parquet --config examples/demo/census-detect.yaml

# CRDs and the API reference page from the pydantic models (the one generator).
crds: $(STAMP)
	$(BIN)/python -m driftwarden.operator.api.generate
	$(BIN)/python -m driftwarden.operator.k8s.chartrules

# Re-render the golden manifests of the planner tests after an intended change (review the diff).
golden: $(STAMP)
	UPDATE_GOLDEN=1 $(BIN)/pytest -q tests/unit

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_e2e.py
	$(BIN)/python benchmarks/bench_speed.py
	$(BIN)/python benchmarks/bench_sql_read.py
	$(BIN)/python benchmarks/bench_decision.py
	$(BIN)/python benchmarks/bench_storage.py
	$(BIN)/python benchmarks/bench_metrics.py

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
