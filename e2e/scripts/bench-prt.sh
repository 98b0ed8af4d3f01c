#!/usr/bin/env bash
# The PRT path's cost. TPM operations, each on its own (median of CXH_TPM_ROUNDS, default 7) in a
# private swtpm via `host-bridge prt bench`: the PRT request's device signature, the session
# key's unwrap (RSA_Decrypt), its import as an HMAC object (Create), one derived key (HMAC).
# With CXH_PRT_STATE_DIR (a joined device) and CXH_PRT_USER, and the password on stdin, also the
# whole flows against its authority: PRT acquisition (sign-in), a silent token cold (renewal
# check + nonce + signed request + decrypted answer) and the same again (the CLI has no cache:
# the broker's cache answers without the network, see tests/prt_flow.rs).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/stack.sh"

step "Building the host bridge"
(cd "$ROOT" && cargo build -p host-bridge)
bin="$ROOT/target/debug/host-bridge"
tcti="${CXH_TPM_TCTI:-}"
if [ -z "$tcti" ]; then
  dir="$(mktemp -d)"
  trap 'stop_swtpm; rm -rf "$dir"' EXIT INT TERM
  start_swtpm "$dir/tpm"
  tcti="$TPM_TCTI"
fi
step "Measuring the PRT path's TPM operations at $tcti"
"$bin" prt bench --tpm-tcti "$tcti" --rounds "${CXH_TPM_ROUNDS:-7}"

if [ -n "${CXH_PRT_STATE_DIR:-}" ]; then
  ms() { date +%s%3N; }
  step "Measuring the PRT flows on $CXH_PRT_STATE_DIR"
  t0=$(ms)
  "$bin" sign-in --state-dir "$CXH_PRT_STATE_DIR" --username "$CXH_PRT_USER" --password-stdin >/dev/null
  t1=$(ms)
  echo "timing prt_acquisition $((t1 - t0))"
  for run in cold again; do
    t0=$(ms)
    "$bin" token --state-dir "$CXH_PRT_STATE_DIR" --client-id "${CXH_PRT_CLIENT:-d3590ed6-52b3-4102-aeff-aad2292ab01c}" \
      --scope "https://graph.microsoft.com/.default" >/dev/null
    t1=$(ms)
    echo "timing silent_token_$run $((t1 - t0))"
  done
fi
