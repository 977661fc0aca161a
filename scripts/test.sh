#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it. Budget: under 20 minutes on 2 cores.
#   1. go vet and gofmt
#   2. every package on this machine, with the race detector (real ptys, real peers, real processes)
#   3. each fuzz target for a few seconds
#   4. every package's unit tests (-short) for armv7 and arm64 under qemu user emulation
#   5. the ARM binaries themselves under qemu: version, and a short headless sim
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-8s}
export CGO_ENABLED=${CGO_ENABLED:-1}   # -race needs cgo on the host; board builds stay static (Makefile)
step() { printf '\n=== %s (%ds)\n' "$*" "$SECONDS"; }

step "vet"
$GO vet ./...
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
if [ -n "$unformatted" ]; then echo "gofmt needed:"; echo "$unformatted"; exit 1; fi

step "host tests (-race)"
$GO test -race -count=1 -timeout 12m ./...

step "fuzz smoke ($FUZZTIME each)"
while IFS= read -r file; do
  dir=$(dirname "$file")
  for fn in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
    echo "fuzz $dir $fn"
    $GO test -run='^$' -fuzz="^${fn}\$" -fuzztime="$FUZZTIME" "./$dir" >/tmp/coldaisle-fuzz.log 2>&1 || { cat /tmp/coldaisle-fuzz.log; exit 1; }
  done
done < <(grep -rlE '^func Fuzz' --include='*_test.go' . | sort)

step "armv7 unit tests under qemu-arm-static"
CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $GO test -short -count=1 -timeout 10m -exec qemu-arm-static ./...

step "arm64 unit tests under qemu-aarch64-static"
CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $GO test -short -count=1 -timeout 10m -exec qemu-aarch64-static ./...

step "ARM binaries under qemu"
bash scripts/arm-smoke.sh

step "done"
echo "all tests passed in ${SECONDS}s"
