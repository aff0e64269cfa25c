# envpolicy: `make demo` runs the function on the example overlays; `make test` runs everything.
CARGO ?= cargo
BIN := target/release/envpolicy
EXAMPLES := functions/envpolicy/examples

.PHONY: all build test lint unit demo golden install uninstall clean

all: build

build:
	$(CARGO) build --release --locked

## Every test: formatting, lints, unit, golden, property, fidelity and end-to-end (kubectl, kpt).
test: lint unit

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

clean:
	$(CARGO) clean

-include bench/Makefile.inc
