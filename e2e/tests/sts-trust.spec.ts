/**
 * The emulated AD FS as Chromium sees it: served over HTTPS with a certificate from the
 * emulator's CA, which the run's Chromium trusts as a real trust anchor (its NSS database, see
 * support/chromium-trust.ts; no certificate check is switched off), and a MEX document that
 * lists only https endpoints. A certificate from another emulator's CA, never trusted, is
 * refused: the trust is in that one CA, not in any certificate.
 */
import { test, expect } from '@playwright/test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, Emulator } from './support/stack';

const dirs: string[] = [];
const running: Emulator[] = [];

async function emulator(trusted: boolean): Promise<Emulator> {
  const dir = mkdtempSync(join(tmpdir(), 'cxh-e2e-sts-'));
  dirs.push(dir);
  const started = await startEmulator(dir, { trusted });
  running.push(started);
  return started;
}

test.afterEach(async () => {
  for (const e of running.splice(0)) await e.stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

test('the STS is HTTPS with the emulator CA and its MEX lists only https endpoints', async ({ page }) => {
  const trusted = await emulator(true);
  const sts = trusted.info.sts_urls.fabrikam;
  expect(new URL(sts).protocol).toBe('https:');
  const response = await page.goto(`${sts}/adfs/services/trust/mex`);
  expect(response!.status()).toBe(200);
  const security = await response!.securityDetails();
  expect(security?.issuer).toBe('cxh-join tenant emulator TLS CA');
  const mex = await response!.text();
  const addresses = [
    ...[...mex.matchAll(/<soap12:address location="([^"]+)"/g)].map((m) => m[1]),
    ...[...mex.matchAll(/<wsa10:Address>([^<]+)</g)].map((m) => m[1]),
  ];
  expect(addresses.length).toBeGreaterThan(0);
  for (const address of addresses) expect(address).toBe(`${sts}/adfs/services/trust/13/usernamemixed`);
});

test('Chromium refuses an STS whose certificate comes from a CA it was not told to trust', async ({ page }) => {
  const trusted = await emulator(true);
  const other = await emulator(false);
  const otherSts = other.info.sts_urls.fabrikam;
  await expect(page.goto(`${otherSts}/adfs/services/trust/mex`)).rejects.toThrow(/ERR_CERT_AUTHORITY_INVALID/);
  // The trusted one still loads, in the same browser (a new tab: the refused one is still
  // settling on Chromium's error page, which would interrupt a navigation started there).
  const tab = await page.context().newPage();
  const response = await tab.goto(`${trusted.info.sts_urls.fabrikam}/adfs/services/trust/mex`);
  expect(response!.status()).toBe(200);
});
