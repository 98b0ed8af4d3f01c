#!/usr/bin/env bash
# Median time of each TPM step of a join (SRK primary, device key, transport key, AK, certify,
# CSR signature) in a private swtpm, via `host-bridge tpm-bench`. Options (environment):
# CXH_TPM_ROUNDS (default 7); CXH_TPM_TCTI to measure another TPM (e.g. device:/dev/tpmrm0).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/stack.sh"

step "Building the host bridge"
(cd "$ROOT" && cargo build -p host-bridge)
tcti="${CXH_TPM_TCTI:-}"
if [ -z "$tcti" ]; then
  dir="$(mktemp -d)"
  trap 'stop_swtpm; rm -rf "$dir"' EXIT INT TERM
  start_swtpm "$dir/tpm"
  tcti="$TPM_TCTI"
fi
step "Measuring TPM steps at $tcti"
"$ROOT/target/debug/host-bridge" tpm-bench --tpm-tcti "$tcti" --rounds "${CXH_TPM_ROUNDS:-7}"
