# coldaisle build. Every binary is static (CGO_ENABLED=0) so one file can be flashed onto a board.
GO        ?= go
PKG       := github.com/coldaisle/coldaisle
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
GOBUILD   := CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)'
# Board builds leave out the PNG plotter (gonum/plot and its fonts): half the binary, no use on a board.
BOARDTAGS ?= noplot
BIN       := bin
RUNFLAGS  ?= --plot $(BIN)/coldaisle-sim.png

.PHONY: help build arm arm64 run test soak test-host test-arm test-fuzz test-peers deps vet fmt clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## build bin/coldaisle for this machine
	$(GOBUILD) -o $(BIN)/coldaisle ./cmd/coldaisle

arm: ## build bin/coldaisle-linux-armv7 (GOARM=7, no plotter)
	GOOS=linux GOARCH=arm GOARM=7 $(GOBUILD) -tags '$(BOARDTAGS)' -o $(BIN)/coldaisle-linux-armv7 ./cmd/coldaisle

arm64: ## build bin/coldaisle-linux-arm64 (no plotter)
	GOOS=linux GOARCH=arm64 $(GOBUILD) -tags '$(BOARDTAGS)' -o $(BIN)/coldaisle-linux-arm64 ./cmd/coldaisle

run: build ## the main job: the controller driving the embedded simulated room
	$(BIN)/coldaisle sim $(RUNFLAGS)

vet: ## go vet and gofmt check
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

deps: ## install the test peers (socat, mbpoll, pymodbus, qemu-user-static) if missing
	bash scripts/deps.sh

test: deps ## all tests: vet, host tests with -race, fuzz smoke, ARM unit tests under qemu, ARM smoke run
	bash scripts/test.sh

soak: ## the long 2N pair runs: a 60 s peer-link cut, 5 min of flapping, 20 kill -9 takeovers measured
	COLDAISLE_SOAK=1 $(GO) test -count=1 -timeout 30m -run '^TestPair' -v ./cmd/coldaisle
	$(GO) test -count=1 -timeout 30m -run '^$$' -bench '^BenchmarkPairTakeover$$' -benchtime 1x ./cmd/coldaisle

clean: ## remove build output
	rm -rf $(BIN)
