#!/usr/bin/env bash
# Benchmark of the PRT path (prints figures, asserts nothing), beside bench.sh's join figures:
#  1. The TPM operations alone, each timed on its own (median of CXH_TPM_ROUNDS, default 7) in a
#     private swtpm via `host-bridge prt bench`: the PRT request's device signature, the session
#     key's unwrap (RSA_Decrypt), its import as an HMAC object (Create), one derived key (HMAC).
#  2. The whole flows against the bundled emulator, keys in swtpm, on a device joined here
#     (scripted join): PRT acquisition (`sign-in`: nonce, device-signed request, session key
#     unwrapped and imported in the TPM), then through the D-Bus broker (private dbus-daemon,
#     `dbus-send` as the caller) a silent token cold (nonce + session-key signed request +
#     decrypted answer) and cached (no network, no TPM). Median of N rounds (default 5).
# Usage: e2e/scripts/bench-prt.sh [N]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/stack.sh"
RUNS="${1:-5}"
cd "$ROOT"

bash "$ROOT/e2e/scripts/install.sh" >/dev/null
step "Building the native binaries"
cargo build -q -p tenant-emulator -p host-bridge
bin="$ROOT/target/debug/host-bridge"

BUS_PID=""; BROKER_PID=""
cleanup() {
  [ -n "$BROKER_PID" ] && kill "$BROKER_PID" 2>/dev/null || true
  [ -n "$BUS_PID" ] && kill "$BUS_PID" 2>/dev/null || true
  stop_stack
}
trap cleanup EXIT
mkdir -p "$ROOT/e2e/.state"
start_stack "$ROOT/e2e/.state/bench-prt"

step "TPM operations of the PRT path at $TPM_TCTI (median of ${CXH_TPM_ROUNDS:-7})"
"$bin" prt bench --tpm-tcti "$TPM_TCTI" --rounds "${CXH_TPM_ROUNDS:-7}" | sed 's/^/    /'

step "A device for the flows (scripted join, keys in swtpm)"
device="$STACK_DIR/prt-device"
echo "Correct-Horse-42" | RUST_LOG=warn "$bin" join --authority "$AUTHORITY" --ca-file "$CA_FILE" --username adele.vance@contoso.com \
  --password-stdin --state-dir "$device" --device-name BENCH-PRT --key-protection tpm --tpm-tcti "$TPM_TCTI" >/dev/null

dbus-daemon --session --nofork --nopidfile --print-address=1 --address="unix:path=$STACK_DIR/bus" >"$STACK_DIR/bus.address" &
BUS_PID=$!
wait_for_file "$STACK_DIR/bus.address" 10 "dbus-daemon"
bus="$(head -1 "$STACK_DIR/bus.address")"

ms() { date +%s%N | cut -b1-13; }
call() { # call METHOD JSON
  dbus-send --bus="$bus" --print-reply=literal --dest=com.microsoft.identity.broker1 /com/microsoft/identity/broker1 \
    "com.microsoft.identity.Broker1.$1" string:0.0 string:bench "string:$2"
}
timings="$STACK_DIR/prt-timings.txt"; : > "$timings"
step "PRT flows: $RUNS rounds"
for i in $(seq 1 "$RUNS"); do
  printf '    round %d/%d\n' "$i" "$RUNS"
  t0=$(ms); echo "Correct-Horse-42" | RUST_LOG=warn "$bin" sign-in --state-dir "$device" --username adele.vance@contoso.com --password-stdin >/dev/null; t1=$(ms)
  echo "prt_acquisition $((t1 - t0))" >> "$timings"
  rm -f "$STACK_DIR/broker.ready"
  RUST_LOG=warn "$bin" broker --state-dir "$device" --bus-address "$bus" --ready-file "$STACK_DIR/broker.ready" 2>"$STACK_DIR/broker.log" &
  BROKER_PID=$!
  wait_for_file "$STACK_DIR/broker.ready" 30 "the broker"
  account="$(call getAccounts '{}' | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["accounts"][0]))')"
  request="{\"authParameters\":{\"account\":$account,\"clientId\":\"d7b530a4-7680-4c23-a8bf-c52c121d2e87\",\"requestedScopes\":[\"https://graph.microsoft.com/.default\"]}}"
  for run in cold cached; do
    t0=$(ms); answer="$(call acquireTokenSilently "$request")"; t1=$(ms)
    case "$answer" in *accessToken*) ;; *) echo "error: the broker answered $answer" >&2; exit 1 ;; esac
    echo "silent_token_$run $((t1 - t0))" >> "$timings"
  done
  kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true; BROKER_PID=""
done
python3 - "$timings" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, ms = line.split()
    rows.setdefault(name, []).append(float(ms))
print(f"    {'flow (wall time incl. process start)':<40}{'median ms':>10}{'min':>9}{'max':>9}")
for name, values in rows.items():
    print(f"    {name:<40}{statistics.median(values):>10.1f}{min(values):>9.1f}{max(values):>9.1f}")
PY
