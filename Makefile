# The two commands a newcomer needs: `make demo` and `make test`.
CARGO       ?= cargo
WASM_TARGET := wasm32-wasip2
WASM_DIR    := target/$(WASM_TARGET)/release
PLUGIN      := $(WASM_DIR)/cloudflare_connector.wasm

.PHONY: all build plugin harness demo test mcp-client-test lint clean wasm-target bench
.PHONY: fuzz scale-test size-report

all: build

# rust-toolchain.toml names the target too; this covers a rustup that does not install it.
wasm-target:
	@rustup target list --installed | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)

# How the component is built, beyond Cargo.toml's profile for the plugin crate: with LTO, set
# here because LTO is per profile and the harness's release build would pay for it too. (Every
# dependency at opt-level "z" as well was measured: 41 KB less, verify about 7 % slower; not
# taken, docs/performance.md.)
PLUGIN_BUILD := CARGO_PROFILE_RELEASE_LTO=true $(CARGO) build --release --target $(WASM_TARGET)

# The plugin, and the test components loaded in its place: the hostile one (sandbox tests) and
# one that imports wasi:sockets and wasi:filesystem (refused at load).
plugin: wasm-target
	$(PLUGIN_BUILD) -p plugin -p hostile-plugin -p ungranted-plugin

# cf-harness and the fake Cloudflare used by the demo.
harness:
	$(CARGO) build -p host-harness -p connector-tests --bins

build: plugin harness

demo: build
	@bash scripts/demo.sh

test: plugin
	@CARGO=$(CARGO) bash scripts/test.sh

# Performance, offline against the fake Cloudflare (bench/; about half a minute, not part of
# `make test`): component size, load (compiled, and from the compile cache), instantiate, verify
# in the sandbox against the same requests from a native client, cf-harness verify as a process,
# 5 MiB GraphQL answers (time, peak memory) and verify calls per second. Prints the medians
# against their targets and writes target/bench.json. BENCH_ARGS=--quick for fewer runs.
BENCH_ARGS ?=

bench: plugin
	$(CARGO) build --release -p host-harness -p cf-bench
	target/release/cf-bench $(BENCH_ARGS)

# Where the component's bytes go, by crate and by function: the plugin built unstripped (its
# name section kept) into target/size-report, read by bench's `component-size`.
size-report: wasm-target
	$(PLUGIN_BUILD) -p plugin --target-dir target/size-report \
	  --config 'profile.release.package.plugin.strip=false'
	$(CARGO) run --release -q -p cf-bench --bin component-size -- \
	  target/size-report/$(WASM_TARGET)/release/cloudflare_connector.wasm $(SIZE_ARGS)

# cf-harness mcp (stdio) and cf-harness serve (Streamable HTTP) driven by the official MCP SDKs:
# Python 1.x and 2.x (virtualenvs in target/) and TypeScript (tests/mcp-client-ts/node_modules).
mcp-client-test: plugin harness
	@bash scripts/mcp-client-test.sh

# Three `cf-harness serve` replicas behind HAProxy (installed with apt-get when missing, which the
# script says), 50 concurrent sessions of two tenants through the official Python SDK, one
# replica killed mid-run (scripts/scale-test.sh; not part of `make test`).
scale-test: build
	@bash scripts/scale-test.sh

lint: wasm-target
	$(CARGO) fmt --all --check
	$(CARGO) clippy -p host-harness -p connector-tests -p cf-bench --all-targets -- -D warnings
	$(CARGO) clippy -p plugin --lib --tests -p graphql-bounds -- -D warnings
	$(CARGO) clippy -p tool-output --all-targets --features schema -- -D warnings
	$(CARGO) clippy -p plugin -p hostile-plugin -p ungranted-plugin --target $(WASM_TARGET) -- -D warnings

clean:
	$(CARGO) clean

# Fuzzing (fuzz/, cargo-fuzz on the nightly toolchain; not part of `make test`): each target runs
# FUZZ_SECONDS on fuzz/corpus/<target> (seeded from tests/fixtures) plus the kept inputs of
# fuzz/regressions/<target>, which `make test` replays. Inputs are cut to FUZZ_MAX_LEN bytes
# (whole docs pages are slow to mutate; unit tests cover large inputs). A crash stops the run and
# is written to fuzz/artifacts/<target>/.
FUZZ_SECONDS ?= 30
FUZZ_MAX_LEN ?= 8192
FUZZ_TARGETS := envelope graphql_response graphql_document docs_index docs_markdown docs_target tool_arguments mcp_message redact

fuzz:
	@command -v cargo-fuzz >/dev/null || { echo "make fuzz needs cargo-fuzz: cargo install cargo-fuzz --locked"; exit 1; }
	@bash fuzz/seed.sh
	cd fuzz && cargo +nightly fuzz build
	@cd fuzz && for t in $(FUZZ_TARGETS); do \
		echo "== fuzz $$t for $(FUZZ_SECONDS) s"; \
		cargo +nightly fuzz run $$t corpus/$$t regressions/$$t -- \
			-max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAX_LEN) -timeout=10 \
			-print_final_stats=1 || exit 1; \
	done
