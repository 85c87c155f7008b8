# The two commands a newcomer needs: `make demo` and `make test`.
CARGO       ?= cargo
WASM_TARGET := wasm32-wasip2
WASM_DIR    := target/$(WASM_TARGET)/release
PLUGIN      := $(WASM_DIR)/cloudflare_connector.wasm

.PHONY: all build plugin harness demo test mcp-client-test lint clean wasm-target

all: build

# rust-toolchain.toml names the target too; this covers a rustup that does not install it.
wasm-target:
	@rustup target list --installed | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)

# The plugin, and the hostile component the sandbox tests load in its place.
plugin: wasm-target
	$(CARGO) build --release --target $(WASM_TARGET) -p plugin -p hostile-plugin

# cf-harness and the fake Cloudflare used by the demo.
harness:
	$(CARGO) build -p host-harness -p connector-tests --bins

build: plugin harness

demo: build
	@bash scripts/demo.sh

test: plugin
	@CARGO=$(CARGO) bash scripts/test.sh

# cf-harness mcp driven by the official Python MCP SDK (a virtualenv in target/mcp-client-venv).
mcp-client-test: plugin harness
	@bash scripts/mcp-client-test.sh

lint: wasm-target
	$(CARGO) fmt --all --check
	$(CARGO) clippy -p host-harness -p connector-tests --all-targets -- -D warnings
	$(CARGO) clippy -p plugin --lib --tests -- -D warnings
	$(CARGO) clippy -p plugin -p hostile-plugin --target $(WASM_TARGET) -- -D warnings

clean:
	$(CARGO) clean
