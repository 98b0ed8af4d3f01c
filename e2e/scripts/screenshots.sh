#!/usr/bin/env bash
# Screenshots of every page in both themes into e2e/screenshots/ (the error and leave pages from
# tests/errors.spec.ts and tests/leave.spec.ts) (Playwright, Debian Chromium,
# against the bundled emulator): builds the app and binaries first, like test.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
step "Building the release app and the native binaries"
trunk build --release
cargo build -p tenant-emulator -p host-bridge
mkdir -p "$ROOT/e2e/screenshots"
step "Taking the screenshots (e2e/screenshots/)"
(cd "$ROOT/e2e" && CXH_SCREENSHOTS=1 npx playwright test tests/screenshots.spec.ts tests/errors.spec.ts tests/leave.spec.ts)
# Keep the committed images small: pngquant (Debian package) quantizes them to a palette
# (lossy, but flat UI text stays sharp); without it they stay as Chromium wrote them.
if command -v pngquant >/dev/null; then
  step "Compressing (pngquant)"
  pngquant --force --skip-if-larger --ext .png --quality 70-95 --strip "$ROOT"/e2e/screenshots/*.png || true
else
  note "pngquant not installed (apt-get install pngquant): images left uncompressed"
fi
ls -l "$ROOT/e2e/screenshots"
