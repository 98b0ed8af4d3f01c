#!/usr/bin/env bash
# README command 2: installs what is missing, then runs every test: formatting and lints,
# the Rust unit/integration/golden tests of all crates, and the Playwright end-to-end suites
# in Debian Chromium against the bundled emulator and the host bridge; a short fuzz pass of
# every parser that takes bytes from outside (longer runs: e2e/scripts/fuzz.sh SECONDS).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

bash "$ROOT/e2e/scripts/install.sh"

step "Formatting (cargo fmt --check)"
cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml -- --check   # the fuzz crate is a workspace of its own

step "Lints (clippy -D warnings: native crates, and the app for wasm32)"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p cxh-join-app --target wasm32-unknown-unknown -- -D warnings

step "Rust tests (all crates)"
cargo test --workspace

step "Fuzzing every outside-facing parser briefly (2 s per target; a crash fails the run)"
CXH_FUZZ_BUILD=dev CXH_FUZZ_SANITIZER=none bash "$ROOT/e2e/scripts/fuzz.sh" 2

step "Building the release app and the native binaries for the end-to-end tests"
trunk build --release
cargo build -p tenant-emulator -p host-bridge

step "End-to-end tests (Playwright, Debian Chromium)"
(cd "$ROOT/e2e" && npx playwright test)
