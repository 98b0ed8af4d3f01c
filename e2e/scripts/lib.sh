# Shared helpers of the project's scripts (sourced, not run).
# Why one place: every script needs the repo root, the tool PATH and progress lines.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export PATH="$HOME/.cargo/bin:$ROOT/e2e/node_modules/.bin:$PATH"
export TRUNK_SKIP_VERSION_CHECK=true
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }

# The wasm-bindgen version locked for the app; wasm-bindgen-cli must equal it.
locked_wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

# Wait until a file exists and is non-empty (a process's ready file), or fail.
wait_for_file() {
  local file="$1" seconds="$2" what="$3"
  for _ in $(seq 1 $((seconds * 10))); do
    [ -s "$file" ] && return 0
    sleep 0.1
  done
  echo "error: $what did not become ready within ${seconds}s" >&2
  return 1
}

json_field() { # json_field FILE KEY -> value of a top-level string field
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]] or "")' "$1" "$2"
}
