#!/usr/bin/env bash
# Installs whatever cxh-join needs and is missing, and skips what is already there:
# Debian packages (Chromium, swtpm, TSS2, sqlite3, brotli, dbus-daemon, NSS tools for Chromium's
# test trust), the wasm32 target, trunk,
# wasm-bindgen-cli (the version locked in Cargo.lock), the e2e npm packages (Playwright,
# binaryen's wasm-opt), the nightly toolchain and cargo-fuzz (the fuzz targets). Safe to run
# again: a second run only checks.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

APT_PACKAGES=(chromium chromium-driver swtpm swtpm-tools libtss2-dev tpm2-tools pkg-config sqlite3 brotli hyperfine xmlsec1 dbus-daemon dbus-bin libnss3-tools pngquant)
TRUNK_VERSION=0.21.14   # 0.22 needs rustc >= 1.96.1 (toolchain.md)
CARGO_FUZZ_VERSION=0.13.2
FUZZ_TOOLCHAIN="${CXH_FUZZ_TOOLCHAIN:-nightly}"   # libFuzzer's instrumentation needs nightly

install_apt_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then note "Debian packages: present"; return; fi
  step "Installing Debian packages: ${missing[*]}"
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
}

install_wasm_target() {
  if rustup target list --installed | grep -qx wasm32-unknown-unknown; then note "wasm32 target: present"; return; fi
  step "Adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
}

# cargo install with --locked first (reproducible); without it when the registry copy lacks a locked crate.
cargo_install() {
  cargo install "$@" --locked || cargo install "$@"
}

install_trunk() {
  if trunk --version 2>/dev/null | grep -q " $TRUNK_VERSION"; then note "trunk $TRUNK_VERSION: present"; return; fi
  step "Building trunk $TRUNK_VERSION from crates.io (5-14 minutes on 2 cores)"
  cargo_install trunk --version "$TRUNK_VERSION"
}

install_wasm_bindgen() {
  local want; want="$(locked_wasm_bindgen_version)"
  [ -n "$want" ] || { echo "error: wasm-bindgen is not in Cargo.lock" >&2; exit 1; }
  if wasm-bindgen --version 2>/dev/null | grep -q " $want"; then note "wasm-bindgen-cli $want: present"; return; fi
  step "Building wasm-bindgen-cli $want (about 3 minutes)"
  cargo_install wasm-bindgen-cli --version "=$want"
}

# The fuzz crate (fuzz/) builds with nightly's sanitizer flags; the project's code stays on stable.
install_fuzz_tools() {
  if rustup run "$FUZZ_TOOLCHAIN" rustc --version >/dev/null 2>&1; then
    note "$FUZZ_TOOLCHAIN toolchain: present"
  else
    step "Installing the $FUZZ_TOOLCHAIN toolchain (minimal profile, for the fuzz targets)"
    rustup toolchain install "$FUZZ_TOOLCHAIN" --profile minimal
  fi
  if cargo fuzz --version 2>/dev/null | grep -q " $CARGO_FUZZ_VERSION"; then
    note "cargo-fuzz $CARGO_FUZZ_VERSION: present"; return
  fi
  step "Building cargo-fuzz $CARGO_FUZZ_VERSION (about 2 minutes)"
  cargo_install cargo-fuzz --version "=$CARGO_FUZZ_VERSION"
}

# Every package the lock file names must be installed at its locked version; npm keeps the
# installed set in node_modules/.package-lock.json, so compare the two.
npm_packages_match_lock() {
  node -e '
    const fs = require("fs");
    const want = JSON.parse(fs.readFileSync("package-lock.json")).packages;
    const have = JSON.parse(fs.readFileSync("node_modules/.package-lock.json")).packages;
    for (const [path, pkg] of Object.entries(want)) {
      if (path && !pkg.optional && (!have[path] || have[path].version !== pkg.version)) process.exit(1);
    }' 2>/dev/null
}

install_npm_packages() {
  if (cd "$ROOT/e2e" && npm_packages_match_lock); then note "npm packages: present"; return; fi
  step "Installing e2e npm packages (Playwright without its browser; binaryen for wasm-opt; axe-core)"
  (cd "$ROOT/e2e" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
}

step "Checking prerequisites"
install_apt_packages
install_wasm_target
install_trunk
install_wasm_bindgen
install_npm_packages
install_fuzz_tools
note "all prerequisites present"
