#!/usr/bin/env bash
# Fuzz smoke run: builds every cargo-fuzz target in fuzz/ and runs each for
# SECONDS (default 60), starting from the committed seeds in
# fuzz/corpus/<target>/seed-*. Fails on any crash, leak, timeout or
# out-of-memory; the failing input is kept in fuzz/artifacts/<target>/.
#
# Uses nightly with AddressSanitizer when a nightly toolchain is installed,
# otherwise stable without a sanitizer (`-s none`). Installs cargo-fuzz if
# it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-60}"

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "fuzz-smoke: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  toolchain=(+nightly)
  sanitizer=(-s address)
else
  toolchain=()
  sanitizer=(-s none)
fi

cd fuzz
echo "fuzz-smoke: building targets (${toolchain[*]:-stable} ${sanitizer[*]})"
cargo "${toolchain[@]}" fuzz build "${sanitizer[@]}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

failed=()
for target in $(cargo "${toolchain[@]}" fuzz list); do
  seeds="corpus/$target"
  mkdir -p "$seeds" "$work/$target"
  echo "fuzz-smoke: $target for ${secs}s ($(find "$seeds" -name 'seed-*' | wc -l) seeds)"
  # New inputs go to the scratch corpus (first directory); the seeds are
  # read only. The RSS limit turns unbounded memory use into a failure.
  if ! cargo "${toolchain[@]}" fuzz run "${sanitizer[@]}" "$target" "$work/$target" "$seeds" -- \
      -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
      >"$work/$target.log" 2>&1; then
    tail -n 60 "$work/$target.log"
    failed+=("$target")
  else
    grep -E 'stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs' "$work/$target.log" | sed "s/^/  /" || true
  fi
done

if [ "${#failed[@]}" -ne 0 ]; then
  echo "fuzz-smoke: FAILED: ${failed[*]} (inputs in fuzz/artifacts/)"
  exit 1
fi
echo "fuzz-smoke: all targets ran ${secs}s without a crash"
