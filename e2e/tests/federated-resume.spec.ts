/**
 * Coming back from the STS survives reloads, and a consumed token cannot be used twice:
 * a reload of the sign-in page (with its sCtx), a reload of the authority's second-factor
 * prompt reached after the STS (a federated user whose STS did not do MFA, so Entra asks for
 * a code), and a replay of the redirect that carried the id_token after it was used.
 */
import { test, expect, Page } from '@playwright/test';
import { createHmac } from 'node:crypto';
import { startStack, Stack } from './support/stack';

const DIEGO = { upn: 'diego.siciliani@fabrikam-corp.com', password: 'Diego-Fed-11' };
const PRADEEP = {
  upn: 'pradeep.gupta@fabrikam-corp.com',
  password: 'Pradeep-Fed-31',
  totp: 'MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U',
};

function base32(secret: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const bytes: number[] = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** RFC 6238 TOTP (HMAC-SHA-1, 30 s, 6 digits). */
function totp(secret: string): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30_000)));
  const mac = createHmac('sha1', base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return ((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).toString().padStart(6, '0');
}

let stack: Stack;
test.beforeEach(async () => {
  stack = await startStack();
});
test.afterEach(async () => {
  await stack.stop();
});

/** The id_token redirect's URL and amr, as the authority sent them to the app. */
function captureTokenRedirect(page: Page): () => { url: string; amr: string[] } | null {
  let seen: { url: string; amr: string[] } | null = null;
  page.on('framenavigated', (frame) => {
    const url = frame.url();
    const token = new URLSearchParams(new URL(url).hash.slice(1)).get('id_token');
    if (token) {
      const amr = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).amr;
      seen = { url, amr };
    }
  });
  return () => seen;
}

async function goToSignIn(page: Page) {
  await page.goto(stack.launchUrl);
  await page.getByTestId('btn-work').click();
  await page.getByTestId('btn-join-entra').click();
  await expect(page.getByTestId('page-sign-in')).toBeVisible();
}

async function signInAtSts(page: Page, user: { upn: string; password: string }) {
  await page.getByTestId('input-upn').fill(user.upn);
  await expect(page.getByTestId('realm-federated')).toBeVisible();
  await page.getByTestId('btn-next').click();
  await page.getByTestId('adfs-password').fill(user.password);
  await page.getByTestId('adfs-submit').click();
}

test('a reload of the sign-in page keeps its sCtx, and the federated join goes on', async ({ page }) => {
  const redirect = captureTokenRedirect(page);
  await goToSignIn(page);
  expect(new URL(page.url()).searchParams.get('sCtx')).toBeTruthy();
  await page.reload();
  await expect(page.getByTestId('page-sign-in')).toBeVisible();
  await signInAtSts(page, DIEGO);
  await expect(page.getByTestId('page-done')).toBeVisible({ timeout: 60_000 });
  expect(redirect()!.amr).toEqual(['pwd', 'fed']);
  expect(await stack.devices()).toHaveLength(1);
});

test('a federated user without MFA at the STS proves a code at the authority, across a reload', async ({ page }) => {
  const redirect = captureTokenRedirect(page);
  await goToSignIn(page);
  await signInAtSts(page, PRADEEP);
  // Back from the STS at the authority's second-factor prompt, in the join web app.
  await expect(page.getByTestId('page-mfa')).toBeVisible();
  const url = new URL(page.url());
  expect(url.origin).toBe(new URL(stack.authority).origin);
  expect(url.searchParams.get('mfa')).toBe('required');
  expect(url.searchParams.get('sCtx')).toBeTruthy();
  expect(await stack.devices()).toHaveLength(0);

  await page.reload();
  await expect(page.getByTestId('page-mfa')).toBeVisible();
  await page.getByTestId('input-otp').fill(totp(PRADEEP.totp));
  await page.getByTestId('btn-verify').click();
  await expect(page.getByTestId('page-done')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('done-user')).toHaveText(PRADEEP.upn);
  expect(redirect()!.amr).toEqual(['pwd', 'mfa', 'fed']);
});

test('replaying the used id_token redirect is refused and joins nothing more', async ({ page }) => {
  const redirect = captureTokenRedirect(page);
  await goToSignIn(page);
  await signInAtSts(page, DIEGO);
  await expect(page.getByTestId('page-done')).toBeVisible({ timeout: 60_000 });
  const used = redirect()!.url;
  // The app dropped the fragment from the address bar as soon as it read it.
  expect(page.url()).not.toContain('id_token');

  // A fresh load of the same redirect (as a reload of that page would be).
  await page.goto('about:blank');
  await page.goto(used);
  await expect(page.getByTestId('error-message')).toContainText(
    "doesn't belong to a setup started on this device",
  );
  await expect(page.getByTestId('page-done')).toHaveCount(0);
  expect(await stack.devices()).toHaveLength(1);
});
