#!/usr/bin/env bash
# Screenshots of every page in both themes into e2e/screenshots/ (the error pages from
# tests/errors.spec.ts) (Playwright, Debian Chromium,
# against the bundled emulator): builds the app and binaries first, like test.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
step "Building the release app and the native binaries"
trunk build --release
cargo build -p tenant-emulator -p host-bridge
mkdir -p "$ROOT/e2e/screenshots"
step "Taking the screenshots (e2e/screenshots/)"
(cd "$ROOT/e2e" && CXH_SCREENSHOTS=1 npx playwright test tests/screenshots.spec.ts tests/errors.spec.ts)
ls -l "$ROOT/e2e/screenshots"
