/**
 * Starts a private tenant emulator and host bridge for one test, on free loopback ports, with
 * their own SQLite database and machine-store directory, and stops them afterwards.
 * The binaries come from `cargo build` (target/debug); the app from `trunk build` (dist/).
 */
import { spawn, execFileSync, ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { mkdtempSync, readFileSync, existsSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { startFaultProxy, FaultProxy } from './fault-proxy';
import { trustCa, distrust } from './chromium-trust';

export const ROOT = resolve(__dirname, '../../..');
export const BIN = join(ROOT, 'target', 'debug');

export interface StackOptions {
  flow?: 'oobe' | 'settings';
  edition?: 'professional' | 'enterprise' | 'home';
  /** UI language the bridge asks for (`--language`); the browser's otherwise. */
  language?: string;
  /** Origin of the page that embeds the app (`--embedder-origin`, Settings flow). */
  embedderOrigin?: string;
  /** Put a fault injector between the bridge and DRS (`--drs <proxy>`, see fault-proxy.ts). */
  drsFaults?: boolean;
  /** `--allow-leave=<value>` (the Leave button); the bridge's default (Settings on, OOBE off)
   * when unset. */
  allowLeave?: boolean;
  /** The authority as clients meet the real one: served over HTTPS with the emulator's CA
   * (trusted by the run's Chromium and by the bridge), its documents and tokens naming the
   * https URL (`--public-https`). MSAL.js refuses an http authority. */
  https?: boolean;
}

/** The CXH parameters a login context was posted with (emulator DB, seed 001). */
export interface LoginContextRow {
  cxhflow: string | null;
  cxhver: string | null;
  cxhplatform: string | null;
}

export interface Stack {
  /** The authority's base URL (https with `https: true`): the bridge, the app and browsers use it. */
  authority: string;
  /** The emulator's plain-http listener (the same routes), for the test's own calls from Node,
   * whose fetch does not trust the emulator's CA. */
  localUrl: string;
  /** Origin of the emulator's MDM role (its own listener). */
  mdmUrl: string;
  wsUrl: string;
  secret: string;
  /** The bridge's pid (from its ready file). */
  bridgePid: number;
  /** The private page (0600) a launcher opens as file://… to hand the secret to the app. */
  handoffPage: string;
  dir: string;
  stateDir: string;
  launchUrl: string;
  /** Base URL of each emulated STS (AD FS, https), by STS id, from the emulator's ready file. */
  stsUrls: Record<string, string>;
  /** The emulator's CA (PEM): Chromium and the bridge trust it for the STS's HTTPS. */
  caFile: string;
  bridgeStatus(): BridgeStatus;
  bridgeStatusText(): string;
  device(id: string): Promise<Record<string, unknown> | null>;
  devices(): Promise<Record<string, unknown>[]>;
  /** Login contexts that received credentials, read from the emulator's SQLite database. */
  loginContexts(): LoginContextRow[];
  /** The fault injector in front of DRS, when `drsFaults` was asked for. */
  drs?: FaultProxy;
  /** Stop the bridge (setup closed), run `action` (e.g. `host-bridge leave`), start it again:
   * `launchUrl`, `wsUrl` and `secret` are then the new launch's. */
  stopBridgeFor(action: () => void): Promise<void>;
  stop(): Promise<void>;
}

/** What `host-bridge status --json` prints. */
export type BridgeStatus = Record<string, unknown>;

async function waitForFile(path: string, what: string, proc: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (existsSync(path) && statSync(path).size > 0) return;
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const log = existsSync(logPath) ? readFileSync(logPath, 'utf8') : '';
  throw new Error(`${what} did not become ready (exit ${proc.exitCode}):\n${log}`);
}

function startProcess(bin: string, args: string[], logPath: string): ChildProcess {
  const fs = require('node:fs');
  const out = fs.openSync(logPath, 'w');
  return spawn(join(BIN, bin), args, { stdio: ['ignore', out, out] });
}

function stopProcess(proc: ChildProcess): Promise<void> {
  return new Promise((resolveStop) => {
    if (proc.exitCode !== null) return resolveStop();
    proc.once('exit', () => resolveStop());
    proc.kill('SIGTERM');
    setTimeout(() => proc.kill('SIGKILL'), 5_000).unref();
  });
}

/** A port p with p+1 also free (swtpm listens on both). */
async function freePortPair(): Promise<number> {
  const tryBind = (port: number) =>
    new Promise<number>((res, rej) => {
      const server = createServer();
      server.once('error', rej);
      server.listen(port, '127.0.0.1', () => {
        const bound = (server.address() as { port: number }).port;
        server.close(() => res(bound));
      });
    });
  for (let i = 0; i < 50; i++) {
    const port = await tryBind(0);
    if (await tryBind(port + 1).then(() => true, () => false)) return port;
  }
  throw new Error('no two consecutive free ports for swtpm');
}

/**
 * Manufacture the TPM state (EK + EK certificate from the checkout's private local CA,
 * idempotent) and return the PEM bundle of that CA for the emulator's --tpm-root-ca.
 */
function provisionTpm(dir: string): string {
  const script = join(ROOT, 'e2e', 'scripts', 'provision-tpm.sh');
  return execFileSync(script, [join(dir, 'tpm')], { encoding: 'utf8' }).trim();
}

/** A private swtpm (own state dir, free port + ctrl port); the bridge keeps its keys there. */
async function startSwtpm(dir: string): Promise<{ proc: ChildProcess; tcti: string }> {
  const port = await freePortPair();
  const state = join(dir, 'tpm');
  provisionTpm(dir);
  const proc = spawn('swtpm', [
    'socket', '--tpm2', '--tpmstate', `dir=${state}`,
    '--server', `type=tcp,port=${port},bindaddr=127.0.0.1`,
    '--ctrl', `type=tcp,port=${port + 1},bindaddr=127.0.0.1`,
    '--flags', 'not-need-init,startup-clear',
  ], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const up = await new Promise<boolean>((res) => {
      const socket = connect(port, '127.0.0.1', () => { socket.end(); res(true); });
      socket.once('error', () => res(false));
    });
    if (up) return { proc, tcti: `swtpm:host=127.0.0.1,port=${port}` };
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill('SIGKILL');
  throw new Error(`swtpm did not listen on port ${port}`);
}

/** What the emulator's ready file says. */
export interface EmulatorInfo {
  http_url: string;
  https_url?: string | null;
  mdm_url: string;
  ca_file: string;
  sts_urls: Record<string, string>;
}

export interface Emulator {
  info: EmulatorInfo;
  stop(): Promise<void>;
}

/**
 * A tenant emulator with its own database and CA in `dir`. With `trusted` (the default) its CA
 * is a trust anchor of the run's Chromium until it stops; without, Chromium must refuse its
 * HTTPS (sts-trust.spec.ts).
 */
export async function startEmulator(dir: string, { trusted = true, https = false } = {}): Promise<Emulator> {
  const emulatorReady = join(dir, 'emulator.ready');
  const tpmRoots = provisionTpm(dir);
  const proc = startProcess(
    'tenant-emulator',
    [
      '--tpm-root-ca', tpmRoots,
      '--tenants', join(ROOT, 'e2e', 'tenants', 'contoso.toml'),
      '--db', join(dir, 'emulator.sqlite'),
      '--listen', '127.0.0.1:0',
      '--tls-dir', join(dir, 'tls'),
      '--app-dir', join(ROOT, 'dist'),
      '--mdm-listen', '127.0.0.1:0',
      '--ready-file', emulatorReady,
      '--test-hooks',
      ...(https ? ['--tls-listen', '127.0.0.1:0', '--public-https'] : []),
    ],
    join(dir, 'emulator.log'),
  );
  await waitForFile(emulatorReady, 'tenant-emulator', proc, join(dir, 'emulator.log'));
  const info: EmulatorInfo = JSON.parse(readFileSync(emulatorReady, 'utf8'));
  // One nickname per emulator: each has its own CA (all with the same subject name).
  const nickname = `cxh-emulator-${basename(dir)}`;
  if (trusted) {
    try {
      trustCa(info.ca_file, nickname);
    } catch (e) {
      await stopProcess(proc);
      throw e;
    }
  }
  return {
    info,
    async stop() {
      await stopProcess(proc);
      if (trusted) distrust(nickname);
    },
  };
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'cxh-e2e-'));
  const stateDir = join(dir, 'bridge');
  const emulator = await startEmulator(dir, { https: options.https ?? false });
  const emulatorInfo = emulator.info;
  const localUrl: string = emulatorInfo.http_url;
  const authority: string = (options.https ? emulatorInfo.https_url : null) ?? localUrl;
  const mdmUrl: string = emulatorInfo.mdm_url;
  const stsUrls: Record<string, string> = emulatorInfo.sts_urls ?? {};
  const caFile: string = emulatorInfo.ca_file;

  const drs = options.drsFaults ? await startFaultProxy(authority) : undefined;
  const swtpm = await startSwtpm(dir);
  const bridgeReady = join(dir, 'bridge.ready');
  const bridgeArgs = [
    'serve',
    '--authority', authority,
    '--allowed-origin', authority,
    '--state-dir', stateDir,
    '--flow', options.flow ?? 'oobe',
    '--edition', options.edition ?? 'professional',
    '--device-name', 'DESKTOP-E2E01',
    ...(options.language ? ['--language', options.language] : []),
    ...(options.embedderOrigin ? ['--embedder-origin', options.embedderOrigin] : []),
    ...(drs ? ['--drs', drs.url] : []),
    ...(options.allowLeave !== undefined ? [`--allow-leave=${options.allowLeave}`] : []),
    // The federated sign-in after the join reaches the STS over HTTPS.
    '--ca-file', caFile,
    '--key-protection', 'tpm',
    '--tpm-tcti', swtpm.tcti,
    '--ready-file', bridgeReady,
    '--handoff-page', join(dir, 'handoff.html'),
  ];
  const startBridge = async () => {
    const proc = startProcess('host-bridge', bridgeArgs, join(dir, 'bridge.log'));
    await waitForFile(bridgeReady, 'host-bridge', proc, join(dir, 'bridge.log'));
    const info = JSON.parse(readFileSync(bridgeReady, 'utf8'));
    const url =
      `${authority}/WebApp/CloudDomainJoin/4#bridge=${encodeURIComponent(info.ws_url)}` +
      `&secret=${encodeURIComponent(info.secret)}`;
    return { proc, ready: info, url };
  };
  let { proc: bridge, ready, url: launchUrl } = await startBridge();

  const statusArgs = ['status', '--state-dir', stateDir];
  const stack: Stack = {
    authority,
    localUrl,
    mdmUrl,
    wsUrl: ready.ws_url,
    secret: ready.secret,
    bridgePid: ready.pid,
    handoffPage: join(dir, 'handoff.html'),
    dir,
    stateDir,
    launchUrl,
    stsUrls,
    caFile,
    drs,
    bridgeStatus: () =>
      JSON.parse(execFileSync(join(BIN, 'host-bridge'), [...statusArgs, '--json'], { encoding: 'utf8' })),
    bridgeStatusText: () => execFileSync(join(BIN, 'host-bridge'), statusArgs, { encoding: 'utf8' }),
    async device(id: string) {
      const res = await fetch(`${localUrl}/_emulator/devices/${encodeURIComponent(id)}`);
      if (res.status === 404) return null;
      if (!res.ok) throw new Error(`admin API answered ${res.status}`);
      return res.json();
    },
    async devices() {
      const res = await fetch(`${localUrl}/_emulator/devices`);
      if (!res.ok) throw new Error(`admin API answered ${res.status}`);
      return res.json();
    },
    loginContexts() {
      const out = execFileSync('sqlite3', ['-json', join(dir, 'emulator.sqlite'),
        'SELECT cxhflow, cxhver, cxhplatform FROM login_contexts WHERE cxhflow IS NOT NULL'],
        { encoding: 'utf8' });
      return out.trim() ? JSON.parse(out) : [];
    },
    async stop() {
      await stopProcess(bridge);
      await emulator.stop();
      await stopProcess(swtpm.proc);
      await drs?.stop();
      if (!process.env.CXH_KEEP_STATE) rmSync(dir, { recursive: true, force: true });
    },
    async stopBridgeFor(action: () => void) {
      await stopProcess(bridge);
      action();
      ({ proc: bridge, ready, url: launchUrl } = await startBridge());
      stack.wsUrl = ready.ws_url;
      stack.secret = ready.secret;
      stack.launchUrl = launchUrl;
    },
  };
  return stack;
}
