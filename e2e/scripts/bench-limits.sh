#!/usr/bin/env bash
# The emulator's connection limits, measured: opens 500 connections with half-sent headers and
# 200 silent TCP connections against a private emulator, then prints how many the server
# accepted, how many it closed and how fast, its RSS before/with/after, and how long a 100 MB
# upload takes to be refused. Options (environment): CXH_HEADER_TIMEOUT_MS (default 2000),
# CXH_MAX_CONNECTIONS (default 256, the emulator's default). Figures only: the tests in
# e2e/tenant-emulator/tests/limits.rs assert the behaviour.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

step "Building the tenant emulator"
(cd "$ROOT" && cargo build -p tenant-emulator)
dir="$(mktemp -d)"
"$ROOT/target/debug/tenant-emulator" --tenants "$ROOT/e2e/tenants/contoso.toml" \
  --db "$dir/emulator.sqlite" --ready-file "$dir/ready.json" --tls-dir "$dir/tls" \
  --header-read-timeout-ms "${CXH_HEADER_TIMEOUT_MS:-2000}" \
  --max-connections "${CXH_MAX_CONNECTIONS:-256}" >"$dir/emulator.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT INT TERM
for _ in $(seq 1 300); do [ -s "$dir/ready.json" ] && break; sleep 0.1; done
ulimit -n 4096 2>/dev/null || true
step "Measuring"
python3 - "$dir/ready.json" "$pid" <<'PY'
import json, socket, sys, time
ready = json.load(open(sys.argv[1])); pid = sys.argv[2]
host, port = ready["http_url"].split("://")[1].rsplit(":", 1); port = int(port)
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"): return line.split()[1] + " kB"
def run(label, count, payload):
    start = time.monotonic(); socks = []
    for _ in range(count):
        s = socket.create_connection((host, port)); s.setblocking(False)
        if payload: s.send(payload)
        socks.append(s)
    opened = time.monotonic()
    time.sleep(0.3); during = rss()
    closed = {}
    while len(closed) < count and time.monotonic() - opened < 30:
        for i, s in enumerate(socks):
            if i in closed: continue
            try:
                if s.recv(4096) == b"": closed[i] = time.monotonic() - opened
            except BlockingIOError: pass
            except ConnectionResetError: closed[i] = time.monotonic() - opened
        time.sleep(0.02)
    times = sorted(closed.values())
    at_once = sum(1 for t in times if t < 0.35)  # closed by the first check, 0.3 s in
    print(f"{label}: opened {count} in {opened-start:.2f} s, closed by the server {len(closed)} "
          f"({at_once} at once past the cap), last closed after {times[-1] if times else float('nan'):.2f} s, RSS with them {during}")
    for s in socks: s.close()
print(f"RSS idle: {rss()}")
run("half-sent headers", 500, b"GET /common/discovery/keys HTTP/1.1\r\nHost: x\r\n")
run("silent TCP", 200, b"")
time.sleep(0.5); print(f"RSS after: {rss()}")
s = socket.create_connection((host, port)); start = time.monotonic()
s.send(f"POST /common/oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Length: {100*1024*1024}\r\n\r\n".encode())
reply = s.recv(64).split(b"\r\n")[0].decode()
print(f"100 MB upload: {reply!r} after {(time.monotonic()-start)*1000:.0f} ms")
PY
