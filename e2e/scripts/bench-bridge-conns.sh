#!/usr/bin/env bash
# What silent connections cost the bridge: RSS idle, with N silent WebSocket connections
# (upgraded from the allowed origin, never saying hello), and after they closed; how many the
# bridge accepted (connection cap) and how long it kept them (hello timeout).
# Options (environment): CXH_CONNECTIONS (default 1000); CXH_SILENT=upgrade (default: send
# the upgrade request, then nothing) or raw (connect and send nothing at all); CXH_BRIDGE_BIN
# to measure another build (e.g. an older one, for before/after figures).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

bin="${CXH_BRIDGE_BIN:-$ROOT/target/debug/host-bridge}"
if [ -z "${CXH_BRIDGE_BIN:-}" ]; then
  step "Building the host bridge"
  (cd "$ROOT" && cargo build -p host-bridge)
fi
connections="${CXH_CONNECTIONS:-1000}"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
dir="$(mktemp -d)"; chmod 700 "$dir"
trap '[ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT INT TERM

# The authority is never contacted: no join is started.
"$bin" serve --authority http://127.0.0.1:9 --allowed-origin http://127.0.0.1:9 \
  --state-dir "$dir/state" --key-protection software --ready-file "$dir/ready" >"$dir/log" 2>&1 &
pid=$!
wait_for_file "$dir/ready" 30 "the host bridge" || { cat "$dir/log" >&2; exit 1; }
ws_url="$(json_field "$dir/ready" ws_url)"
rss() { awk '/^VmRSS/ { printf "%.1f MB", $2 / 1024 }' "/proc/$pid/status"; }

step "Measuring $bin with $connections silent connections (${CXH_SILENT:-upgrade})"
sleep 1
note "RSS idle:                      $(rss)"
node - "$ws_url" "$connections" "$pid" "${CXH_SILENT:-upgrade}" <<'JS'
const net = require('node:net');
const fs = require('node:fs');
const [url, count, pid, mode] = [new URL(process.argv[2]), Number(process.argv[3]), process.argv[4], process.argv[5]];
const rss = () => (Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024).toFixed(1) + ' MB';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sockets = [];
let upgraded = 0, closedEarly = 0;
const started = Date.now();
const closedAt = [];
for (let i = 0; i < count; i++) {
  const socket = net.connect(Number(url.port), url.hostname);
  const state = { upgraded: false, closed: false };
  if (mode === 'upgrade') socket.on('connect', () => socket.write(
    `GET / HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://127.0.0.1:9\r\n\r\n`));
  socket.on('data', (d) => { if (!state.upgraded && d.toString().startsWith('HTTP/1.1 101')) { state.upgraded = true; upgraded++; } });
  socket.on('error', () => {});
  socket.on('close', () => { state.closed = true; closedAt.push(Date.now() - started); });
  sockets.push({ socket, state });
}
(async () => {
  await sleep(3000);
  const open = sockets.filter((s) => !s.state.closed).length;
  console.log(`    upgraded (accepted):           ${upgraded} of ${count}`);
  console.log(`    still open after 3 s:          ${open}`);
  console.log(`    RSS with them (after 3 s):     ${rss()}`);
  await sleep(9000);
  const left = sockets.filter((s) => !s.state.closed).length;
  console.log(`    still open after 12 s:         ${left}  (closed by the bridge: ${count - left})`);
  for (const s of sockets) s.socket.destroy();
  await sleep(2000);
  console.log(`    RSS after all closed (+2 s):   ${rss()}`);
  process.exit(0);
})();
JS
