#!/usr/bin/env bash
# provision-tpm.sh TPM_STATE_DIR: manufacture a swtpm state like a real TPM's (EK, EK
# certificate and platform certificate in NV, NV locked), issued by a local CA private to this
# checkout ($CXH_TPM_CA_DIR, default e2e/.state/swtpm-localca; never /var/lib/swtpm-localca).
# Idempotent: a state dir that already holds a TPM is left alone (~1 s otherwise).
# Prints the PEM bundle (root + intermediate) the emulator must trust (--tpm-root-ca).
# Used by stack.sh (demo, benchmarks) and e2e/tests/support/stack.ts (Playwright).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
state="$1"
ca="${CXH_TPM_CA_DIR:-$ROOT/e2e/.state/swtpm-localca}"
mkdir -p "$state" "$ca"; chmod 700 "$ca"
if [ ! -s "$ca/swtpm_setup.conf" ]; then
  cat >"$ca/swtpm-localca.conf" <<CONF
statedir = $ca
signingkey = $ca/signkey.pem
issuercert = $ca/issuercert.pem
certserial = $ca/certserial
CONF
  printf -- '--platform-manufacturer cxh-join\n--platform-version 2.1\n--platform-model swtpm\n' >"$ca/swtpm-localca.options"
  cat >"$ca/swtpm_setup.conf.$$" <<CONF
create_certs_tool = /usr/bin/swtpm_localca
create_certs_tool_config = $ca/swtpm-localca.conf
create_certs_tool_options = $ca/swtpm-localca.options
active_pcr_banks = sha256
CONF
  mv "$ca/swtpm_setup.conf.$$" "$ca/swtpm_setup.conf"
fi
if [ ! -e "$state/tpm2-00.permall" ]; then
  swtpm_setup --tpm2 --tpmstate "$state" --create-ek-cert --create-platform-cert --lock-nvram \
    --config "$ca/swtpm_setup.conf" >"$state.setup.log" 2>&1 \
    || { cat "$state.setup.log" >&2; exit 1; }
fi
bundle="$ca/tpm-roots.pem"
if [ ! -s "$bundle" ]; then
  cat "$ca/swtpm-localca-rootca-cert.pem" "$ca/issuercert.pem" >"$bundle.$$" && mv "$bundle.$$" "$bundle"
fi
echo "$bundle"
