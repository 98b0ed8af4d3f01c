#!/usr/bin/env bash
# Benchmark: prints figures, asserts nothing. Later work is held to these budgets.
#  1. Transfer size of the release join web app: wasm + JS + CSS, raw and brotli (-q 11).
#  2. Wall time of a join, split by dsreg phase: median of N scripted joins (host-bridge join
#     --timings) against the bundled emulator, keys in swtpm, each on a fresh machine store.
# Usage: e2e/scripts/bench.sh [N]   (default N=5)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/stack.sh"
RUNS="${1:-5}"
cd "$ROOT"

bash "$ROOT/e2e/scripts/install.sh" >/dev/null
step "Building the release app and the native binaries"
trunk build --release >/dev/null 2>&1 || trunk build --release
cargo build -q -p tenant-emulator -p host-bridge

step "Transfer size of the release app (dist/)"
total_raw=0; total_br=0
printf '    %-44s %10s %10s\n' file raw brotli
for f in dist/*.wasm dist/*.js dist/*.css; do
  [ -f "$f" ] || continue
  raw=$(stat -c %s "$f"); br=$(brotli -q 11 -c "$f" | wc -c)
  total_raw=$((total_raw + raw)); total_br=$((total_br + br))
  printf '    %-44s %10d %10d\n' "$(basename "$f")" "$raw" "$br"
done
printf '    %-44s %10d %10d   (%d KiB brotli)\n' TOTAL "$total_raw" "$total_br" $((total_br / 1024))

step "Join wall time by phase: $RUNS scripted joins, keys in swtpm (debug build of bridge and emulator)"
trap stop_stack EXIT
start_stack "$ROOT/e2e/.state/bench"
timings="$STACK_DIR/timings.txt"; : > "$timings"
for i in $(seq 1 "$RUNS"); do
  printf '    run %d/%d\n' "$i" "$RUNS"
  echo "Correct-Horse-42" | RUST_LOG=warn "$ROOT/target/debug/host-bridge" join --authority "$AUTHORITY" --ca-file "$CA_FILE" \
    --username adele.vance@contoso.com --password-stdin --state-dir "$STACK_DIR/run-$i" \
    --device-name "BENCH-$i" --key-protection tpm --tpm-tcti "$TPM_TCTI" --timings | grep '^timing ' >> "$timings"
done
python3 - "$timings" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    _, phase, ms = line.split()[:3]
    rows.setdefault(phase, []).append(float(ms))
print(f"    {'phase':<26}{'median ms':>10}{'min':>9}{'max':>9}")
for phase, values in rows.items():
    print(f"    {phase:<26}{statistics.median(values):>10.1f}{min(values):>9.1f}{max(values):>9.1f}")
PY
