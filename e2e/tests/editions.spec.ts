/**
 * OOBE for each Windows edition (seed 000 step 1): Professional asks work or personal first,
 * Enterprise starts at the join options, Home goes to the local-account page. The Entra joins
 * post `cxhflow=FRX&cxhplatform=Desktop` to the authority, which the emulator stores on the login
 * context. The OOBE pages use the dark theme.
 */
import { test, expect } from '@playwright/test';
import { startStack, Stack } from './support/stack';
import { signInAndJoin } from './support/flow';

let stack: Stack;
test.afterEach(async () => {
  await stack?.stop();
});

test('professional: ownership, join options, sign-in, done; the authority hears FRX', async ({ page }) => {
  stack = await startStack({ edition: 'professional' });
  await page.goto(stack.launchUrl);
  await expect(page.getByTestId('page-ownership')).toBeVisible();
  await expect(page.locator('body')).toHaveClass(/theme-dark/);
  await page.getByTestId('btn-work').click();
  await expect(page.getByTestId('page-join-options')).toBeVisible();
  // Back returns to the ownership page, and the way forward is the same.
  await page.getByTestId('btn-back').click();
  await expect(page.getByTestId('page-ownership')).toBeVisible();
  await page.getByTestId('btn-work').click();
  await page.getByTestId('btn-join-entra').click();
  const deviceId = await signInAndJoin(page);
  expect(await stack.device(deviceId)).not.toBeNull();
  await expect(page.getByTestId('btn-continue')).toBeVisible();
  expect(stack.loginContexts()).toEqual([{ cxhflow: 'FRX', cxhver: '1.0', cxhplatform: 'Desktop' }]);
});

test('professional: personal use leads to the local-account page, which says MSA is out of scope', async ({ page }) => {
  stack = await startStack({ edition: 'professional' });
  await page.goto(stack.launchUrl);
  await page.getByTestId('btn-personal').click();
  await expect(page.getByTestId('page-local-account')).toBeVisible();
  await expect(page.getByTestId('msa-out-of-scope')).toContainText(/Microsoft account/);
  await expect(page.getByTestId('btn-next')).toBeVisible();
  await page.getByTestId('btn-back').click();
  await expect(page.getByTestId('page-ownership')).toBeVisible();
});

test('enterprise: join options first (no ownership, no Back); domain join guides to a local account', async ({ page }) => {
  stack = await startStack({ edition: 'enterprise' });
  await page.goto(stack.launchUrl);
  await expect(page.getByTestId('page-join-options')).toBeVisible();
  await expect(page.getByTestId('page-ownership')).toHaveCount(0);
  await expect(page.getByTestId('btn-back')).toHaveCount(0);
  await page.getByTestId('btn-domain-join').click();
  await expect(page.getByTestId('page-local-account')).toBeVisible();
  await expect(page.getByTestId('not-covered-message')).toContainText(/local account first.*Settings/);
  await page.getByTestId('btn-back').click();
  await page.getByTestId('btn-local-account').click();
  await expect(page.getByTestId('page-local-account')).toBeVisible();
  await expect(page.getByTestId('msa-out-of-scope')).toBeVisible();
  await page.getByTestId('btn-back').click();
  await page.getByTestId('btn-join-entra').click();
  const deviceId = await signInAndJoin(page);
  expect(await stack.device(deviceId)).not.toBeNull();
  expect(stack.loginContexts().map((row) => row.cxhflow)).toEqual(['FRX']);
});

test('home: the personal path, straight to the local-account page', async ({ page }) => {
  stack = await startStack({ edition: 'home' });
  await page.goto(stack.launchUrl);
  await expect(page.getByTestId('page-local-account')).toBeVisible();
  await expect(page.getByTestId('msa-out-of-scope')).toBeVisible();
  await expect(page.getByTestId('btn-back')).toHaveCount(0);
  await expect(page.getByTestId('btn-next')).toBeVisible();
  expect(await stack.devices()).toHaveLength(0);
});
