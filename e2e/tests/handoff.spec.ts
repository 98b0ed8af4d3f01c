/**
 * The launcher hands the per-launch secret to the browser without exposing it: the bridge
 * writes a handoff page readable only by its user, the browser is opened on file://<page>
 * (a path on the command line, not the secret), the page forwards to the app, and the bridge
 * removes the page once the app has said a valid hello.
 */
import { test, expect } from '@playwright/test';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { startStack, Stack } from './support/stack';

let stack: Stack;
test.beforeEach(async () => { stack = await startStack(); });
test.afterEach(async () => { await stack.stop(); });

test('the handoff page is private, opens the app, and is gone once the app connected', async ({ page }) => {
  expect(statSync(stack.handoffPage).mode & 0o777).toBe(0o600);
  expect(readFileSync(stack.handoffPage, 'utf8')).toContain(stack.secret);
  // The bridge's command line (readable by every local user in /proc) names no secret.
  const cmdline = readFileSync(`/proc/${stack.bridgePid}/cmdline`, 'utf8');
  expect(cmdline).toContain('--handoff-page');
  expect(cmdline).not.toContain(stack.secret);

  await page.goto(`file://${stack.handoffPage}`);
  await expect(page.getByTestId('page-ownership')).toBeVisible();
  expect(page.url().startsWith(`${stack.authority}/WebApp/CloudDomainJoin/4`)).toBe(true);
  expect(page.url()).not.toContain(stack.secret);
  await expect.poll(() => existsSync(stack.handoffPage)).toBe(false);
});
