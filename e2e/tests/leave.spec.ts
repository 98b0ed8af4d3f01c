/**
 * Leaving the organization from the app, where the host allows it (`serve --allow-leave`):
 * the already-joined page offers "Leave <organization>", asks first, the bridge leaves with the
 * same logic as `host-bridge leave`, and the app returns to the start of the join saying what
 * happened in the tenant. The emulator here is plain http, so the device certificate cannot
 * authenticate the DELETE: the leave is local and the page says honestly that the device object
 * remains. A host without the option shows no button and refuses the `leave` frame. With
 * CXH_SCREENSHOTS=1 the pages are also written to e2e/screenshots/ in both themes.
 */
import { test, expect, Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startStack, Stack, StackOptions, ROOT } from './support/stack';
import { ADELE, signInAndJoin } from './support/flow';
import { shot } from './support/screenshot';

const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

let stack: Stack | undefined;
test.afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

async function noViolations(page: Page, where: string) {
  const results = await new AxeBuilder({ page }).withTags(TAGS).analyze();
  const summary = results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(summary, `axe violations on ${where}`).toEqual([]);
}

/** A stack whose device Adele joined already (by the CLI, with setup closed), then a launch. */
async function joinedDevice(page: Page, options: StackOptions): Promise<Stack> {
  const s = await startStack({ edition: 'enterprise', ...options });
  stack = s;
  await s.stopBridgeFor(() => execFileSync(join(ROOT, 'target', 'debug', 'host-bridge'), [
    'join', '--authority', s.authority, '--username', ADELE.upn, '--password-stdin',
    '--key-protection', 'software', '--state-dir', s.stateDir,
  ], { input: `${ADELE.password}\n`, stdio: ['pipe', 'ignore', 'ignore'] }));
  expect(await s.devices()).toHaveLength(1);
  await page.goto(s.launchUrl);
  await expect(page.getByTestId('page-already-joined')).toBeVisible({ timeout: 30_000 });
  return s;
}

function joined(s: Stack): boolean {
  return (s.bridgeStatus() as { azure_ad_joined: boolean }).azure_ad_joined;
}

test('already joined -> Leave -> confirm -> the join options page, and status says not joined', async ({ page }) => {
  const s = await joinedDevice(page, { allowLeave: true });
  await expect(page.getByTestId('already-joined-message')).toHaveText(
    'This device is already joined to Contoso through Microsoft Entra ID.');
  // A button, not the command.
  await expect(page.getByTestId('leave-command')).toHaveCount(0);
  const leave = page.getByTestId('btn-leave');
  await expect(leave).toHaveText('Leave Contoso');
  await noViolations(page, 'already joined with Leave');
  await shot(page, 'already-joined-leave');

  // Asked first; Cancel changes nothing.
  await leave.click();
  await expect(page.getByTestId('page-confirm-leave')).toHaveText('Leave Contoso?');
  await expect(page.getByTestId('page-confirm-leave')).toBeFocused();
  await expect(page.getByTestId('leave-confirm-detail')).toContainText('no longer be joined to Contoso');
  await noViolations(page, 'leave confirmation');
  await shot(page, 'leave-confirm');
  await page.getByTestId('btn-cancel-leave').click();
  await expect(page.getByTestId('page-already-joined')).toBeVisible();
  expect(joined(s)).toBe(true);

  // Leave, confirmed (with the keyboard, as on every page).
  await page.getByTestId('btn-leave').click();
  await page.getByTestId('btn-confirm-leave').focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('page-join-options')).toBeVisible({ timeout: 30_000 });
  const notice = page.getByTestId('left-notice');
  await expect(notice).toHaveAttribute('role', 'status');
  await expect(notice).toContainText('This device left Contoso.');
  // Plain http DRS: no device-certificate DELETE, and the page does not pretend otherwise.
  await expect(notice).toHaveAttribute('data-deleted-in-tenant', 'false');
  await expect(page.getByTestId('left-tenant-side')).toHaveText(
    "The device registration service couldn't be reached securely, so the device object remains in your organization's directory. Ask your administrator to delete it.");
  await noViolations(page, 'join options after leaving');
  await shot(page, 'left');
  expect(joined(s)).toBe(false);
  expect(s.bridgeStatusText()).toMatch(/AzureAdJoined\s*:\s*NO/);
  expect(await s.devices()).toHaveLength(1);

  // The start of the join works: join again.
  await page.getByTestId('btn-join-entra').click();
  await signInAndJoin(page);
  expect(await s.devices()).toHaveLength(2);
  expect(joined(s)).toBe(true);
});

test('a host without --allow-leave shows no button and refuses a leave frame', async ({ page }) => {
  // OOBE: off by default.
  const s = await joinedDevice(page, {});
  await expect(page.getByTestId('btn-leave')).toHaveCount(0);
  await expect(page.getByTestId('leave-command')).toBeVisible();

  // A page that sends `leave` anyway (the secret is the launch's, the origin allowed).
  const frames = await page.evaluate(async ({ url, secret }) => {
    const ws = new WebSocket(url);
    const got: { type: string; host?: { can_leave?: boolean }; error?: { kind: string } }[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', protocol: 2, secret }));
      ws.onmessage = (event) => {
        const message = JSON.parse(event.data);
        got.push(message);
        if (message.type === 'welcome') {
          ws.send(JSON.stringify({ type: 'leave' }));
        } else {
          ws.close();
          resolve();
        }
      };
      ws.onerror = () => reject(new Error('WebSocket error'));
    });
    return got;
  }, { url: s.wsUrl, secret: s.secret });
  expect(frames[0].type).toBe('welcome');
  expect(frames[0].host?.can_leave ?? false).toBe(false);
  expect(frames[1].type).toBe('failed');
  expect(frames[1].error?.kind).toBe('leave_not_allowed');
  expect(joined(s)).toBe(true);
  expect(await s.devices()).toHaveLength(1);
});

for (const [language, button, heading, left] of [
  ['de-DE', 'Contoso verlassen', 'Contoso verlassen?', 'Dieses Gerät hat Contoso verlassen.'],
  ['ar-SA', 'مغادرة Contoso', 'هل تريد مغادرة Contoso؟', 'غادر هذا الجهاز Contoso.'],
] as const) {
  test(`the leave button, its confirmation and the notice in ${language}`, async ({ page }) => {
    await joinedDevice(page, { allowLeave: true, language });
    await expect(page.getByTestId('btn-leave')).toHaveText(button);
    await page.getByTestId('btn-leave').click();
    await expect(page.getByTestId('page-confirm-leave')).toHaveText(heading);
    await page.getByTestId('btn-confirm-leave').click();
    await expect(page.getByTestId('left-notice')).toContainText(left, { timeout: 30_000 });
    await noViolations(page, `join options after leaving, ${language}`);
  });
}
