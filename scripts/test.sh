#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it. Budget: under 20 minutes on 2 cores.
#   1. go vet and gofmt
#   2. every package on this machine, with the race detector (real ptys, real peers, real processes)
#   3. each fuzz target for a fixed number of executions
#   4. every package's unit tests (-short) for armv7 and arm64 under qemu user emulation
#   5. the ARM binaries themselves under qemu: version, and a short headless sim
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
# A count, not a duration: with -fuzztime=8s Go 1.26's fuzz coordinator can report a bare
# "context deadline exceeded" at the deadline on a loaded machine (golang/go#75804, fixed in
# Go 1.27). A count sets no deadline, so a slow machine only runs longer. The seed corpora
# run deterministically in step 2 either way; this step is exploration.
FUZZTIME=${FUZZTIME:-5000x}
export CGO_ENABLED=${CGO_ENABLED:-1}   # -race needs cgo on the host; board builds stay static (Makefile)
step() { printf '\n=== %s (%ds)\n' "$*" "$SECONDS"; }

step "vet"
$GO vet ./...
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
if [ -n "$unformatted" ]; then echo "gofmt needed:"; echo "$unformatted"; exit 1; fi

step "host tests (-race)"
$GO test -race -count=1 -timeout 12m ./...

step "fuzz smoke (-fuzztime=$FUZZTIME each)"
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
