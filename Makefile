# accel-data — `make help` lists the targets.
PREFIX  ?= /usr/local
DESTDIR ?=
BIN     := bin
GO      ?= go
GOFLAGS ?=
CMDS    := warmupd swarmup slurm-prolog jfs-dedup warmup-sim accel-agent
TESTCMDS:= fakejuicefs
# The build's version, printed by every tool's --version and /v1/health; a
# plain `go build` falls back to the VCS revision Go records.
VERSION ?= $(shell git describe --always --dirty 2>/dev/null)
LDFLAGS := $(if $(VERSION),-X github.com/accel-data/accel-data/internal/version.Version=$(VERSION))
export VERSION

.PHONY: all build deps lint test bench bench-dedup man install clean help

all: build ## same as build

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

deps: ## install Debian packages and Go modules needed to build and test (idempotent)
	./scripts/deps.sh

build: ## build the Go binaries into bin/ and the SPANK plugin spank/accel_data.so
	@mkdir -p $(BIN)
	@for c in $(CMDS); do [ -d cmd/$$c ] && ls cmd/$$c/*.go >/dev/null 2>&1 && $(GO) build $(GOFLAGS) -ldflags '$(LDFLAGS)' -o $(BIN)/$$c ./cmd/$$c || exit 1; done
	$(GO) build -o $(BIN)/fakejuicefs ./test/fakejuicefs
	@if [ -f spank/Makefile ]; then $(MAKE) -C spank; fi

# staticcheck's version is pinned; `go run` fetches it through the module proxy.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: ## gofmt, go vet and staticcheck (all must be clean)
	@unformatted=$$(gofmt -l cmd internal pkg test bench docs); if [ -n "$$unformatted" ]; then echo "gofmt needed (run gofmt -w): $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

test: deps build lint ## everything CI runs: deps, build, lint, Go tests (race, shuffled), C tests, end-to-end tests
	@if [ -f spank/Makefile ]; then $(MAKE) -C spank test; fi
	$(GO) test -race -shuffle=on -count=1 -timeout 25m ./...

bench: build ## run the benchmarks and print the figures
	./scripts/bench.sh

bench-dedup: build ## compare jfs-dedup with rmlint, jdupes, rdfind, fdupes (installs them; ARGS=--quick for a small tree)
	./bench/dedup/run.sh $(ARGS)

man: ## regenerate the man pages in man/ from the commands' flag definitions (a test fails when they differ)
	ACCEL_UPDATE_MAN=1 $(GO) test -count=1 -run '^TestManPage$$' ./cmd/warmupd ./cmd/slurm-prolog ./cmd/accel-agent ./cmd/swarmup ./cmd/jfs-dedup

install: build ## install binaries, plugin, man pages and config examples under $(DESTDIR)$(PREFIX)
	./scripts/install.sh "$(DESTDIR)" "$(PREFIX)"

clean: ## remove build output
	rm -rf $(BIN)
	@if [ -f spank/Makefile ]; then $(MAKE) -C spank clean; fi
