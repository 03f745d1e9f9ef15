#!/usr/bin/env bash
# Runs every check Headroom has: format, lints, unit/integration tests, the
# no_std proofs, and a short fuzz smoke run. This is the README's test command
# and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "no_std: dsp-core for Cortex-M0+ (no FPU) and Cortex-M4F"
cargo build -p headroom-dsp-core --release --target thumbv6m-none-eabi
cargo build -p headroom-dsp-core --release --target thumbv7em-none-eabihf

step "no_std: a no_main binary links dsp-core with no std and no allocator, and runs the chain"
(cd nostd-check && cargo build --release --target thumbv7em-none-eabihf && cargo build --release --target thumbv6m-none-eabi && cargo run --release)

step "tests"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cargo test --workspace 2>&1 | tee "$log"

if [ "${HEADROOM_SKIP_PW1X:-0}" != 1 ]; then
  step "audio path against PipeWire 1.x / WirePlumber 0.5 (bookworm-backports, unpacked privately)"
  scripts/pw1x.sh 2>&1 | tee -a "$log"
fi

totals=$(grep -E '^test result:' "$log" | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\1 \2/' |
  awk '{p += $1; f += $2} END {print p, f}')

if [ "${HEADROOM_SKIP_FUZZ:-0}" != 1 ]; then
  step "fuzz smoke (${HEADROOM_FUZZ_SECONDS:-60} s per target)"
  scripts/fuzz-smoke.sh "${HEADROOM_FUZZ_SECONDS:-60}"
fi

read -r passed failed <<<"$totals"
printf '\nall checks done\n%s passed, %s failed\n' "$passed" "$failed"
