/**
 * Chromium with the SSO extension (host-bridge/extension), as a user has it after
 * `host-bridge sso-install`: a profile of its own whose NativeMessagingHosts directory holds the
 * manifest the install step writes, the unpacked extension loaded, and the test's D-Bus session
 * bus in its environment (the native host finds the broker there, as on a desktop).
 */
import { chromium, BrowserContext, Worker } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ROOT } from './stack';
import { chromiumHome } from './chromium-trust';

export const EXTENSION_DIR = join(ROOT, 'host-bridge', 'extension');
export const EXTENSION_ID = 'nkjjgekdgcfpiehfkmiinhfjejfpmoig';

export interface SsoBrowser {
  context: BrowserContext;
  worker: Worker;
  /** The extension's last outcome (`{ok, authority, account}` or `{ok: false, error}`). */
  state(): Promise<Record<string, any> | null>;
  close(): Promise<void>;
}

/** Register the native host in a fresh profile under `dir` and start Chromium with the extension. */
export async function launchWithExtension(dir: string, stateDir: string, busAddress: string): Promise<SsoBrowser> {
  const profile = join(dir, 'chromium-sso-profile');
  mkdirSync(profile, { recursive: true });
  execFileSync(join(BIN, 'host-bridge'), [
    'sso-install', '--state-dir', stateDir, '--manifest-dir', join(profile, 'NativeMessagingHosts'),
  ], { encoding: 'utf8' });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    env: { ...process.env, HOME: chromiumHome(), DBUS_SESSION_BUS_ADDRESS: busAddress },
    args: [
      '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-sync', '--disable-quic',
      '--headless=new', `--disable-extensions-except=${EXTENSION_DIR}`, `--load-extension=${EXTENSION_DIR}`,
    ],
  });
  const worker = context.serviceWorkers()[0] ?? await context.waitForEvent('serviceworker', { timeout: 30_000 });
  const state = () => worker.evaluate(() => (globalThis as any).cxhSso.state());
  return { context, worker, state, close: () => context.close() };
}
