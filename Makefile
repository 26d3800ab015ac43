# sandbox: build, test, benchmark. `make help` lists the targets.
GO      ?= go
PREFIX  ?= $(HOME)/.local
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BIN     := bin/sandbox
export CGO_ENABLED := 0
# Any Go from 1.21 on fetches the toolchain go.mod names; scripts/go-env.sh
# says what to install when go is missing or older.
export GOTOOLCHAIN ?= auto

.PHONY: build test bench lint install shell help

build: ## build bin/sandbox and its slim init bin/sandbox-init (static, no cgo)
	@scripts/go-env.sh
	scripts/build.sh bin $(VERSION)

test: ## run every test; as root, namespace tests run as the user sandbox-test
	scripts/test.sh

bench: build ## print start-up medians against bwrap and unshare
	scripts/bench.sh

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$out" ] || { echo "gofmt needed: $$out"; exit 1; }
	$(GO) vet ./...

install: build ## install to $(PREFIX)/bin
	install -D -m 0755 bin/sandbox-init $(PREFIX)/bin/sandbox-init
	install -D -m 0755 $(BIN) $(PREFIX)/bin/sandbox

shell: ## install what is missing, build, and open a sandbox shell here
	scripts/quickstart.sh

help:
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'
