#!/usr/bin/env bash
# Screenshots of every page in both themes into docs/screenshots/ (Playwright, Debian Chromium,
# against the bundled emulator): builds the app and binaries first, like test.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
step "Building the release app and the native binaries"
trunk build --release
cargo build -p tenant-emulator -p host-bridge
mkdir -p "$ROOT/docs/screenshots"
step "Taking the screenshots (docs/screenshots/)"
(cd "$ROOT/e2e" && CXH_SCREENSHOTS=1 npx playwright test tests/screenshots.spec.ts)
ls -l "$ROOT/docs/screenshots"
