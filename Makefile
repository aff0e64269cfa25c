# envpolicy: `make demo` runs the function on the example overlays; `make test` runs everything.
CARGO ?= cargo
BIN := target/release/envpolicy
EXAMPLES := functions/envpolicy/examples

.PHONY: all build test lint unit docs demo golden install uninstall image image-check fuzz fuzz-smoke clean

all: build

build:
	$(CARGO) build --release --locked

## Every test: formatting, lints, unit, golden, property, fidelity and end-to-end (kubectl, kpt).
test: lint unit bench-smoke fuzz-smoke

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --locked -- -D warnings

unit:
	@command -v kubectl >/dev/null || { echo "kubectl is required by the end-to-end tests"; exit 1; }
	@command -v kpt >/dev/null || { echo "kpt is required by the end-to-end tests"; exit 1; }
	$(CARGO) test --all-targets --locked

## Builds the example prod overlay through kubectl's legacy plugin path with envpolicy, and shows
## what the policy changed against the dev overlay.
demo: build
	@home=$$(mktemp -d) && trap 'rm -rf $$home' EXIT && \
	  plugin=$$home/envpolicy.dev/v1alpha1/environmentpolicy && mkdir -p $$plugin && \
	  cp $(BIN) $$plugin/EnvironmentPolicy && \
	  for env in dev prod; do \
	    KUSTOMIZE_PLUGIN_HOME=$$home kubectl kustomize --enable-alpha-plugins \
	      $(EXAMPLES)/kustomize/overlays/$$env > $$home/$$env.yaml || exit 1; \
	  done && \
	  echo "### kubectl kustomize --enable-alpha-plugins $(EXAMPLES)/kustomize/overlays/prod" && \
	  cat $$home/prod.yaml && \
	  echo && echo "### dev -> prod, as envpolicy wrote them (diff -u dev.yaml prod.yaml)" && \
	  (cd $$home && diff -u dev.yaml prod.yaml; true)

## Runs every shell command in the READMEs (tests/docs.rs); `make test` runs it too, in `unit`.
docs:
	$(CARGO) test --locked --test docs

## Rewrites testdata/*/expected.yaml from the current binary; review with `git diff testdata`.
golden:
	UPDATE_GOLDEN=1 $(CARGO) test --locked --test golden

PREFIX ?= $(HOME)/.local
PLUGIN_HOME ?= $(or $(KUSTOMIZE_PLUGIN_HOME),$(or $(XDG_CONFIG_HOME),$(HOME)/.config)/kustomize/plugin)
PLUGIN := $(PLUGIN_HOME)/envpolicy.dev/v1alpha1/environmentpolicy/EnvironmentPolicy

## Puts the binary on PATH ($(PREFIX)/bin) and in the kustomize plugin home.
install: build
	install -D -m 0755 $(BIN) $(PREFIX)/bin/envpolicy
	install -D -m 0755 $(BIN) $(PLUGIN)
	@echo "installed $(PREFIX)/bin/envpolicy and $(PLUGIN)"

uninstall:
	rm -f $(PREFIX)/bin/envpolicy $(PLUGIN)

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
## The image functions/envpolicy/metadata.yaml names; tests/docs.rs checks they agree.
IMAGE ?= ghcr.io/envpolicy/envpolicy:v$(VERSION)

## The container KRM function (needs a Docker engine). Multi-arch: see functions/envpolicy/Dockerfile.
image:
	docker build -f functions/envpolicy/Dockerfile -t $(IMAGE) .

## Without Docker: runs the Dockerfile's build stage on the host (target/image-check) and checks
## the binary is static, answers --help and works as a KRM function as nobody without network.
image-check:
	bash tests/image-check.sh

## Fuzzes the YAML layer and the whole function for FUZZ_SECONDS per target (default 600);
## installs cargo-fuzz from crates.io if missing. Crashes land in fuzz/artifacts/<target>/.
fuzz:
	bash fuzz/run.sh $(or $(FUZZ_SECONDS),600)

## CI smoke run: 20 s per target, non-zero on a crash.
fuzz-smoke:
	bash fuzz/run.sh 20

clean:
	$(CARGO) clean

-include bench/Makefile.inc
