/**
 * The token broker outside the browser, as a user's session has it: a private dbus-daemon (the
 * session bus of the test), `host-bridge broker` on it, and `dbus-send` (Debian's dbus-bin, a
 * D-Bus client we did not write) calling com.microsoft.identity.Broker1 like MSAL and
 * linux-entra-sso do.
 */
import { spawn, execFile, execFileSync, ChildProcess } from 'node:child_process';
import { existsSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { expect, Page } from '@playwright/test';
import { BIN, Stack } from './stack';

export const BROKER_NAME = 'com.microsoft.identity.broker1';
export const BROKER_PATH = '/com/microsoft/identity/broker1';
export const BROKER_INTERFACE = 'com.microsoft.identity.Broker1';

export interface Broker {
  busAddress: string;
  /** Call a broker method with a JSON request; the parsed JSON answer. */
  call(method: string, request: unknown): Record<string, any>;
  /** The same without blocking the test (for methods that wait for the user, like
   * acquireTokenInteractively): the page can be driven while the call is pending. */
  callAsync(method: string, request: unknown): Promise<Record<string, any>>;
  stop(): Promise<void>;
}

function stop(proc: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (proc.exitCode !== null) return done();
    proc.once('exit', () => done());
    proc.kill('SIGTERM');
    setTimeout(() => proc.kill('SIGKILL'), 5_000).unref();
  });
}

async function startBus(dir: string): Promise<{ proc: ChildProcess; address: string }> {
  const proc = spawn('dbus-daemon', [
    '--session', '--nofork', '--nopidfile', '--print-address=1', `--address=unix:path=${join(dir, 'bus')}`,
  ], { stdio: ['ignore', 'pipe', 'inherit'] });
  const address = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout! });
    lines.once('line', (line) => resolve(line.trim()));
    proc.once('exit', (code) => reject(new Error(`dbus-daemon exited ${code}`)));
  });
  return { proc, address };
}

function dbusSendArgs(address: string, method: string, request: unknown): string[] {
  return [
    `--bus=${address}`, '--print-reply=literal', '--reply-timeout=120000', `--dest=${BROKER_NAME}`, BROKER_PATH,
    `${BROKER_INTERFACE}.${method}`, 'string:0.0', 'string:e2e-correlation', `string:${JSON.stringify(request)}`,
  ];
}

/** Start a bus and the broker of the joined device in `stateDir`; resolves once it owns its
 * name. `browser` is the command that opens its interactive sign-in window; `caFile` the
 * emulator's CA, for an authority served over HTTPS. */
export async function startBroker(dir: string, stateDir: string, { browser, caFile }: { browser?: string; caFile?: string } = {}): Promise<Broker> {
  const bus = await startBus(dir);
  const ready = join(dir, 'broker.ready');
  const log = join(dir, 'broker.log');
  const args = ['broker', '--state-dir', stateDir, '--bus-address', bus.address, '--ready-file', ready];
  if (browser) args.push('--browser', browser);
  if (caFile) args.push('--ca-file', caFile);
  const broker = spawn(join(BIN, 'host-bridge'), args, { stdio: ['ignore', openSync(log, 'w'), openSync(log, 'a')] });
  const deadline = Date.now() + 30_000;
  while (!(existsSync(ready) && statSync(ready).size > 0)) {
    if (broker.exitCode !== null || Date.now() > deadline) {
      throw new Error(`the broker did not start (exit ${broker.exitCode}):\n${readFileSync(log, 'utf8')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    busAddress: bus.address,
    call(method: string, request: unknown) {
      const reply = execFileSync('dbus-send', dbusSendArgs(bus.address, method, request), { encoding: 'utf8' });
      return JSON.parse(reply.trim());
    },
    callAsync(method: string, request: unknown) {
      return new Promise((resolve, reject) => {
        execFile('dbus-send', dbusSendArgs(bus.address, method, request), { encoding: 'utf8' }, (error, stdout) =>
          error ? reject(error) : resolve(JSON.parse(stdout.trim())));
      });
    },
    async stop() {
      await stop(broker);
      await stop(bus.proc);
    },
  };
}

/** The claims of a JWT (read only: the test compares them with what the device knows). */
export function jwtClaims(jwt: string): Record<string, any> {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

/** An acquireTokenSilently request as linux-entra-sso builds it, for Edge's client id. */
export function silentRequest(account: Record<string, any>, scopes = ['https://graph.microsoft.com/.default']) {
  return {
    authParameters: {
      account,
      additionalQueryParametersForAuthorization: {},
      authority: 'https://login.microsoftonline.com/common',
      authorizationType: 1,
      clientId: 'd7b530a4-7680-4c23-a8bf-c52c121d2e87',
      redirectUri: 'https://login.microsoftonline.com/common/oauth2/nativeclient',
      requestedScopes: scopes,
      username: account.username,
      uxContextHandle: -1,
    },
  };
}

/** A managed user joins in OOBE (work account, Entra join, password), then signs in to the
 * device with the automatic sign-in the join prepared: the user then has a PRT. */
export async function joinInOobeAndLogOn(page: Page, stack: Stack, user: { upn: string; password: string }) {
  await page.goto(stack.launchUrl);
  await page.getByTestId('btn-work').click();
  await page.getByTestId('btn-join-entra').click();
  await page.getByTestId('input-upn').fill(user.upn);
  await page.getByTestId('btn-next').click();
  await page.getByTestId('input-password').fill(user.password);
  await page.getByTestId('btn-signin').click();
  await expect(page.getByTestId('page-done')).toBeVisible({ timeout: 60_000 });
  // No --ca-file: the CA the join trusted (the emulator's, for an HTTPS stack) is recorded with it.
  execFileSync(join(BIN, 'host-bridge'), ['logon', '--state-dir', stack.stateDir]);
}

/** A federated user joins in OOBE: work account, Entra join, the realm says federated, the
 * password at the emulated AD FS, the done page. */
export async function joinFederatedInOobe(page: Page, stack: Stack, user: { upn: string; password: string }) {
  await page.goto(stack.launchUrl);
  await page.getByTestId('btn-work').click();
  await page.getByTestId('btn-join-entra').click();
  await page.getByTestId('input-upn').fill(user.upn);
  await expect(page.getByTestId('realm-federated')).toBeVisible();
  await page.getByTestId('btn-next').click();
  await page.getByTestId('adfs-password').fill(user.password);
  await page.getByTestId('adfs-submit').click();
  await expect(page.getByTestId('page-done')).toBeVisible({ timeout: 60_000 });
}
