# Starts the tenant emulator and the host bridge for the demo and the benchmarks (sourced).
# Sets AUTHORITY, WS_URL, HANDOFF_PAGE, STACK_DIR, TPM_TCTI, CA_FILE; stop_stack kills all.
# The per-launch secret stays in files only the user can read (the ready file, the handoff
# page the bridge writes): it is never printed or put on a command line.
# The bridge keeps its keys in a private swtpm (state in $STACK_DIR/tpm), manufactured with an
# EK certificate (provision-tpm.sh) whose local CA the emulator trusts (--tpm-root-ca).
# The authority (AUTHORITY: login, DRS, tokens, the app) and the emulated AD FS are served over
# HTTPS, as clients meet the real ones, with certificates from the emulator's CA (CA_FILE, in
# $STACK_DIR/tls): the bridge and the CLI trust it (--ca-file), and so does the demo's Chromium
# (chromium_home_trusting).
# Why a shell copy beside e2e/tests/support/stack.ts: the demo and benchmarks run without Node.

start_stack() {
  STACK_DIR="$1"; local flow="${2:-oobe}" edition="${3:-professional}"
  rm -rf "$STACK_DIR"; mkdir -p "$STACK_DIR"; chmod 700 "$STACK_DIR"
  local tpm_roots; tpm_roots="$("$ROOT/e2e/scripts/provision-tpm.sh" "$STACK_DIR/tpm")" || return 1
  "$ROOT/target/debug/tenant-emulator" --tenants "$ROOT/e2e/tenants/contoso.toml" --tpm-root-ca "$tpm_roots" \
    --db "$STACK_DIR/emulator.sqlite" --listen 127.0.0.1:0 --tls-dir "$STACK_DIR/tls" \
    --tls-listen "127.0.0.1:${CXH_PORT:-0}" --public-https \
    --app-dir "$ROOT/dist" --mdm-listen 127.0.0.1:0 --ready-file "$STACK_DIR/emulator.ready" >"$STACK_DIR/emulator.log" 2>&1 &
  EMULATOR_PID=$!
  wait_for_file "$STACK_DIR/emulator.ready" 30 "the tenant emulator" || { cat "$STACK_DIR/emulator.log" >&2; return 1; }
  AUTHORITY="$(json_field "$STACK_DIR/emulator.ready" https_url)"
  CA_FILE="$(json_field "$STACK_DIR/emulator.ready" ca_file)"
  start_swtpm "$STACK_DIR/tpm" || return 1
  local language=(); [ -n "${CXH_LANGUAGE:-}" ] && language=(--language "$CXH_LANGUAGE")
  "$ROOT/target/debug/host-bridge" serve "${language[@]}" --key-protection tpm --tpm-tcti "$TPM_TCTI" --authority "$AUTHORITY" --allowed-origin "$AUTHORITY" \
    --ca-file "$CA_FILE" --state-dir "$STACK_DIR/bridge" --flow "$flow" --edition "$edition" \
    --ready-file "$STACK_DIR/bridge.ready" --handoff-page "$STACK_DIR/handoff.html" >"$STACK_DIR/bridge.log" 2>&1 &
  BRIDGE_PID=$!
  wait_for_file "$STACK_DIR/bridge.ready" 30 "the host bridge" || { cat "$STACK_DIR/bridge.log" >&2; return 1; }
  WS_URL="$(json_field "$STACK_DIR/bridge.ready" ws_url)"
  # file:// page (0600) that sends the browser on to the app with the secret in the fragment;
  # the bridge removes it once the page has connected.
  HANDOFF_PAGE="$STACK_DIR/handoff.html"
}

# start_swtpm DIR: a swtpm on a free port pair with its state in DIR (provisioned with an EK
# certificate if new); sets TPM_TCTI, SWTPM_PID.
start_swtpm() {
  local dir="$1" port
  "$ROOT/e2e/scripts/provision-tpm.sh" "$dir" >/dev/null || return 1
  port="$(python3 -c 'import socket
for _ in range(50):
    a = socket.socket(); a.bind(("127.0.0.1", 0)); p = a.getsockname()[1]
    b = socket.socket()
    try:
        b.bind(("127.0.0.1", p + 1)); print(p); break
    except OSError: pass
    finally: a.close(); b.close()')"
  swtpm socket --tpm2 --tpmstate "dir=$dir" --server "type=tcp,port=$port,bindaddr=127.0.0.1" \
    --ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" --flags not-need-init,startup-clear \
    >"$dir.log" 2>&1 &
  SWTPM_PID=$!
  TPM_TCTI="swtpm:host=127.0.0.1,port=$port"
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "error: swtpm did not listen on port $port" >&2; return 1
}

# chromium_home_trusting DIR: a private HOME for Chromium whose NSS database trusts the
# emulator's CA for TLS servers (as a real trust anchor; nothing is switched off), so the
# user's own HOME and the system's trust stay untouched.
chromium_home_trusting() {
  local home="$1"
  mkdir -p "$home/.pki/nssdb"
  certutil -N -d "sql:$home/.pki/nssdb" --empty-password
  certutil -A -d "sql:$home/.pki/nssdb" -n cxh-join-emulator -t C,, -i "$CA_FILE"
}

stop_swtpm() { [ -n "${SWTPM_PID:-}" ] && kill "$SWTPM_PID" 2>/dev/null || true; }

stop_stack() {
  [ -n "${BRIDGE_PID:-}" ] && kill "$BRIDGE_PID" 2>/dev/null || true
  [ -n "${EMULATOR_PID:-}" ] && kill "$EMULATOR_PID" 2>/dev/null || true
  stop_swtpm
  wait 2>/dev/null || true
}
