#!/usr/bin/env bash
# README command 2: installs what is missing, then runs every test: formatting and lints,
# the Rust unit/integration/golden tests of all crates, and the Playwright end-to-end suites
# in Debian Chromium against the bundled emulator and the host bridge.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

bash "$ROOT/e2e/scripts/install.sh"

step "Formatting (cargo fmt --check)"
cargo fmt --all -- --check

step "Lints (clippy -D warnings: native crates, and the app for wasm32)"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p cxh-join-app --target wasm32-unknown-unknown -- -D warnings

step "Rust tests (all crates)"
cargo test --workspace

step "Building the release app and the native binaries for the end-to-end tests"
trunk build --release
cargo build -p tenant-emulator -p host-bridge

step "End-to-end tests (Playwright, Debian Chromium)"
(cd "$ROOT/e2e" && npx playwright test)
