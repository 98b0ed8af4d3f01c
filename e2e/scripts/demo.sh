#!/usr/bin/env bash
# README command 1: installs what is missing, builds everything, starts the bundled tenant
# emulator and the host bridge and, when a display exists, opens the join experience in a
# Chromium kiosk window (through the bridge's private handoff page: the per-launch secret is
# never printed or on a command line). Ctrl-C stops everything. Each run starts from a fresh tenant and device.
# Options (environment): CXH_FLOW=oobe|settings, CXH_EDITION=professional|enterprise|home,
# CXH_LANGUAGE=en-US|de-DE|ar-SA (default: the browser's), CXH_PORT (the authority's HTTPS port).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/stack.sh"

bash "$ROOT/e2e/scripts/install.sh"
step "Building the join web app (trunk build --release)"
(cd "$ROOT" && trunk build --release)
step "Building the tenant emulator and the host bridge"
(cd "$ROOT" && cargo build -p tenant-emulator -p host-bridge)

step "Starting the tenant emulator and the host bridge"
trap stop_stack EXIT INT TERM
start_stack "$ROOT/e2e/.state/demo" "${CXH_FLOW:-oobe}" "${CXH_EDITION:-professional}"
note "authority (emulator): $AUTHORITY (HTTPS, CA $CA_FILE)"
note "host bridge:          $WS_URL"
note "sign in as adele.vance@contoso.com / Correct-Horse-42 (more users in e2e/tenants/contoso.toml)"
note "keys:                 in swtpm at $TPM_TCTI"
note "AD FS (Fabrikam):     $(json_field "$STACK_DIR/emulator.ready" sts_urls | tr -d "{}' ") (HTTPS, CA $CA_FILE)"
note "after the join:       target/debug/host-bridge status --state-dir $STACK_DIR/bridge"
# A Chromium HOME whose NSS database trusts the emulator's CA (and nothing else changed), for
# the kiosk below or a browser the user starts.
chromium_home_trusting "$STACK_DIR/chromium-home"
printf '\nOpen the join experience (a private page, readable only by you; it forwards to the\napp with the per-launch secret and is removed once the app has connected):\n  file://%s\nin a Chromium that trusts the emulator'"'"'s CA, e.g.\n  HOME=%s chromium --user-data-dir=%s file://%s\n\n' \
  "$HANDOFF_PAGE" "$STACK_DIR/chromium-home" "$STACK_DIR/chromium" "$HANDOFF_PAGE"

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && command -v chromium >/dev/null; then
  step "Opening a Chromium kiosk window"
  XAUTHORITY="${XAUTHORITY:-$HOME/.Xauthority}" HOME="$STACK_DIR/chromium-home" chromium --kiosk --no-first-run --disable-background-networking --disable-component-update \
    --disable-sync --user-data-dir="$STACK_DIR/chromium" "file://$HANDOFF_PAGE" >/dev/null 2>&1 &
fi
note "press Ctrl-C to stop"
wait "$BRIDGE_PID"
