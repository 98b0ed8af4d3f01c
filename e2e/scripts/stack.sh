# Starts the tenant emulator and the host bridge for the demo and the benchmarks (sourced).
# Sets AUTHORITY, WS_URL, BRIDGE_SECRET, LAUNCH_URL, STACK_DIR; stop_stack kills both.
# Why a shell copy beside e2e/tests/support/stack.ts: the demo and benchmarks run without Node.

start_stack() {
  STACK_DIR="$1"; local flow="${2:-oobe}" edition="${3:-professional}"
  rm -rf "$STACK_DIR"; mkdir -p "$STACK_DIR"; chmod 700 "$STACK_DIR"
  "$ROOT/target/debug/tenant-emulator" --tenants "$ROOT/e2e/tenants/contoso.toml" \
    --db "$STACK_DIR/emulator.sqlite" --listen "127.0.0.1:${CXH_PORT:-0}" \
    --app-dir "$ROOT/dist" --mdm-listen 127.0.0.1:0 --ready-file "$STACK_DIR/emulator.ready" >"$STACK_DIR/emulator.log" 2>&1 &
  EMULATOR_PID=$!
  wait_for_file "$STACK_DIR/emulator.ready" 30 "the tenant emulator" || { cat "$STACK_DIR/emulator.log" >&2; return 1; }
  AUTHORITY="$(json_field "$STACK_DIR/emulator.ready" http_url)"
  "$ROOT/target/debug/host-bridge" serve --authority "$AUTHORITY" --allowed-origin "$AUTHORITY" \
    --state-dir "$STACK_DIR/bridge" --flow "$flow" --edition "$edition" \
    --ready-file "$STACK_DIR/bridge.ready" >"$STACK_DIR/bridge.log" 2>&1 &
  BRIDGE_PID=$!
  wait_for_file "$STACK_DIR/bridge.ready" 30 "the host bridge" || { cat "$STACK_DIR/bridge.log" >&2; return 1; }
  WS_URL="$(json_field "$STACK_DIR/bridge.ready" ws_url)"
  BRIDGE_SECRET="$(json_field "$STACK_DIR/bridge.ready" secret)"
  local ws_enc; ws_enc="$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$WS_URL")"
  LAUNCH_URL="$AUTHORITY/WebApp/CloudDomainJoin/4#bridge=$ws_enc&secret=$BRIDGE_SECRET"
}

stop_stack() {
  [ -n "${BRIDGE_PID:-}" ] && kill "$BRIDGE_PID" 2>/dev/null || true
  [ -n "${EMULATOR_PID:-}" ] && kill "$EMULATOR_PID" 2>/dev/null || true
  wait 2>/dev/null || true
}
