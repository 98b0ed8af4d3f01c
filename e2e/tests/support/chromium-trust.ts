/**
 * Real trust for the emulator's CA in Chromium, without touching the user's or the system's
 * trust: Playwright's global setup makes a private HOME for the run whose NSS database
 * (`$HOME/.pki/nssdb`, where Chromium on Linux reads user-added trust anchors) starts empty,
 * and every stack adds its emulator's CA there as a trust anchor for TLS servers only
 * (`certutil -t C,,`), removing it when the stack stops. Chromium then verifies the STS's
 * certificate as it would a real AD FS's: chain to that CA, names, validity, key usage; a
 * certificate from any other CA is refused (sts-trust.spec.ts).
 *
 * Why not `--ignore-certificate-errors-spki-list`: it does not add trust, it switches every
 * certificate check off for chains holding that key (a wrong name or an expired certificate
 * would pass), and Chromium honours it only as a testing override.
 *
 * The run's HOME reaches the browser through the environment (CXH_CHROMIUM_HOME, set here
 * before the workers start; playwright.config.ts gives it to Chromium as HOME).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HOME_VARIABLE = 'CXH_CHROMIUM_HOME';

function nssDb(home: string): string {
  return `sql:${join(home, '.pki', 'nssdb')}`;
}

/** The run's Chromium HOME; fails clearly when the global setup did not run. */
export function chromiumHome(): string {
  const home = process.env[HOME_VARIABLE];
  if (!home) {
    throw new Error(`${HOME_VARIABLE} is not set: run the suite through playwright.config.ts, whose global setup makes Chromium's HOME`);
  }
  return home;
}

/** Make Chromium trust `caFile` (PEM) for TLS servers, under `nickname`, until `distrust`. */
export function trustCa(caFile: string, nickname: string): void {
  execFileSync('certutil', ['-A', '-d', nssDb(chromiumHome()), '-n', nickname, '-t', 'C,,', '-i', caFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

/** Drop a CA added by `trustCa`. */
export function distrust(nickname: string): void {
  try {
    execFileSync('certutil', ['-D', '-d', nssDb(chromiumHome()), '-n', nickname], { stdio: 'ignore' });
  } catch {
    // Already gone (e.g. the stack failed before trusting it).
  }
}

/** Global setup: the run's HOME with an empty NSS database; the returned function removes it. */
export default async function globalSetup(): Promise<() => Promise<void>> {
  const home = mkdtempSync(join(tmpdir(), 'cxh-chromium-home-'));
  mkdirSync(join(home, '.pki', 'nssdb'), { recursive: true });
  execFileSync('certutil', ['-N', '-d', nssDb(home), '--empty-password'], { stdio: ['ignore', 'ignore', 'pipe'] });
  process.env[HOME_VARIABLE] = home;
  return async () => {
    if (!process.env.CXH_KEEP_STATE) rmSync(home, { recursive: true, force: true });
  };
}
