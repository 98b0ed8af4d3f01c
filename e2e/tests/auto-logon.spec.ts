/**
 * The OOBE automatic sign-in buffer (seed 000 §2, §6): a managed user joining in OOBE gets it
 * (the done page says Windows signs them in; the bridge holds only a ciphertext of the
 * password, never the password, and the page never puts it in sessionStorage); a federated
 * user and a join from Settings get none (the done page says where to sign in instead).
 */
import { test, expect, Page } from '@playwright/test';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, Stack } from './support/stack';
import { joinFederatedInOobe } from './support/broker';

const ADELE = { upn: 'adele.vance@contoso.com', password: 'Correct-Horse-42' };
const DIEGO = { upn: 'diego.siciliani@fabrikam-corp.com', password: 'Diego-Fed-11' };

let stack: Stack | undefined;
test.afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

/** OOBE (Professional) asks ownership and join options first; Settings starts at the sign-in. */
async function signInManaged(page: Page, user: { upn: string; password: string }, flow: 'oobe' | 'settings') {
  await page.goto(stack!.launchUrl);
  if (flow === 'oobe') {
    await page.getByTestId('btn-work').click();
    await page.getByTestId('btn-join-entra').click();
  }
  await page.getByTestId('input-upn').fill(user.upn);
  await page.getByTestId('btn-next').click();
  await page.getByTestId('input-password').fill(user.password);
  await page.getByTestId('btn-signin').click();
  await expect(page.getByTestId('page-done')).toBeVisible({ timeout: 60_000 });
}

function bufferPath(): string {
  return join(stack!.stateDir, 'join', 'autologon.bin');
}

test('a managed OOBE join prepares the automatic sign-in, encrypted', async ({ page }) => {
  stack = await startStack({ flow: 'oobe' });
  await signInManaged(page, ADELE, 'oobe');
  await expect(page.getByTestId('done-auto-logon')).toContainText('signs you in');
  await expect(page.getByTestId('done-sign-in-at-logon')).toHaveCount(0);
  const storage = await page.evaluate(() => JSON.stringify({ ...sessionStorage }));
  expect(storage).not.toContain(ADELE.password);

  expect(existsSync(bufferPath())).toBe(true);
  const raw = readFileSync(bufferPath());
  expect(raw.includes(Buffer.from(ADELE.password))).toBe(false);
  const file = JSON.parse(raw.toString('utf8'));
  expect(file.upn).toBe(ADELE.upn);
  expect(file.algorithm).toBe('RSA-OAEP-256');
  expect(Buffer.from(file.ciphertext, 'base64')).toHaveLength(256);
  expect(stack.bridgeStatusText()).toMatch(/AutoLogonPrepared : YES/);
  expect(readFileSync(join(stack.dir, 'bridge.log'), 'utf8')).not.toContain(ADELE.password);
});

test('a federated OOBE join prepares nothing and says to sign in at the logon screen', async ({ page }) => {
  stack = await startStack({ flow: 'oobe' });
  await joinFederatedInOobe(page, stack, DIEGO);
  await expect(page.getByTestId('done-sign-in-at-logon')).toContainText('sign-in screen');
  await expect(page.getByTestId('done-auto-logon')).toHaveCount(0);
  expect(existsSync(bufferPath())).toBe(false);
  expect(stack.bridgeStatusText()).toMatch(/AutoLogonPrepared : NO/);
});

test('a managed join from Settings prepares nothing: sign out and in', async ({ page }) => {
  stack = await startStack({ flow: 'settings' });
  await signInManaged(page, ADELE, 'settings');
  await expect(page.getByTestId('btn-sign-out')).toBeVisible();
  await expect(page.getByTestId('done-auto-logon')).toHaveCount(0);
  expect(existsSync(bufferPath())).toBe(false);
  expect(stack.bridgeStatusText()).toMatch(/AutoLogonPrepared : NO/);
});
