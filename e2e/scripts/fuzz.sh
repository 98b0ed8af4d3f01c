#!/usr/bin/env bash
# fuzz.sh [SECONDS] [TARGET...]: fuzz every parser that takes bytes from outside (the fuzz/
# crate, cargo-fuzz + libFuzzer on the nightly toolchain; targets in ARCHITECTURE.md
# "Fuzzing") for SECONDS each (default 60), starting from the checked-in seeds
# (fuzz/seeds/<target>) and the corpus earlier runs grew (fuzz/corpus/<target>, not committed).
# Prints a line per target, then a table of executions, exec/s, corpus size and crashes.
# A crash (a panic counts) leaves its input in fuzz/artifacts/<target>/ and makes the exit
# status 1. test.sh runs it with 2 seconds per target as a smoke pass, built quickly: the dev
# profile and no sanitizer (CXH_FUZZ_BUILD=dev CXH_FUZZ_SANITIZER=none). That is sound for these
# targets because the parsers are safe Rust (a panic still aborts and counts as a crash);
# AddressSanitizer and the release profile, the defaults here, are for the longer runs.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

seconds="${1:-60}"; shift || true
toolchain="${CXH_FUZZ_TOOLCHAIN:-nightly}"
all_targets=($(cargo "+$toolchain" fuzz list))
targets=("${@:-${all_targets[@]}}")
sanitizer="${CXH_FUZZ_SANITIZER:-address}"
profile="${CXH_FUZZ_BUILD:-release}"
build_flags=(--sanitizer "$sanitizer"); [ "$profile" = dev ] && build_flags+=(--dev)
bin_dir="$ROOT/fuzz/target/x86_64-unknown-linux-gnu/$([ "$profile" = dev ] && echo debug || echo release)"
# As `cargo fuzz run` sets it: the bundled SQLite (through the emulator) defines a few static
# tables twice under one name, which ASan's ODR check would report before any input ran.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_odr_violation=0}"

step "Building the fuzz targets (cargo +$toolchain fuzz build ${build_flags[*]})"
build_start=$(date +%s)
cargo "+$toolchain" fuzz build "${build_flags[@]}"
note "built in $(( $(date +%s) - build_start )) s"

step "Fuzzing ${#targets[@]} targets, ${seconds} s each"
logs="$ROOT/fuzz/target/logs"; mkdir -p "$logs"
rows=(); failed=0
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  before=$(ls "fuzz/artifacts/$t" | wc -l)
  status=0
  # -timeout: an input that takes over 10 s is a hang, reported as a crash.
  "$bin_dir/$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -max_total_time="$seconds" -timeout=10 \
    -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t/" >"$logs/$t.log" 2>&1 || status=$?
  execs=$(awk '/^stat::number_of_executed_units/ {print $NF}' "$logs/$t.log")
  rate=$(awk '/^stat::average_exec_per_sec/ {print $NF}' "$logs/$t.log")
  corpus=$(ls "fuzz/corpus/$t" | wc -l)
  crashes=$(( $(ls "fuzz/artifacts/$t" | wc -l) - before ))
  if [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi
  [ "$crashes" -eq 0 ] || failed=1
  note "$t: ${execs:-?} executions (${rate:-?}/s), corpus $corpus, crashes $crashes"
  if [ "$crashes" -ne 0 ]; then
    grep -m1 -A12 -E "panicked|ERROR: (libFuzzer|AddressSanitizer)" "$logs/$t.log" | sed 's/^/      /' || true
    note "input kept in fuzz/artifacts/$t/ (reproduce: cargo +$toolchain fuzz run $t fuzz/artifacts/$t/<file>)"
  fi
  rows+=("$(printf '%-18s %12s %9s %7s %7s' "$t" "${execs:-?}" "${rate:-?}" "$corpus" "$crashes")")
done

step "Fuzzing summary (${seconds} s per target; logs in fuzz/target/logs)"
printf '%-18s %12s %9s %7s %7s\n' target executions exec/s corpus crashes
printf '%s\n' "${rows[@]}"
exit "$failed"
