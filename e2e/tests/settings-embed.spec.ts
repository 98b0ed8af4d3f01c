/**
 * The Settings embed: the app runs in an iframe of a stand-in "Access work or school" page on
 * another origin, starts at the sign-in (light theme, Cancel instead of Back), joins without
 * leaving the iframe, and posts its outcome to the parent origin the bridge named (app/src/
 * embed.rs). A page on any other origin hears nothing. The authority hears `cxhflow=MOSET`.
 */
import { test, expect, Page } from '@playwright/test';
import { startStack, Stack } from './support/stack';
import { startSettingsHost, SettingsHost } from './support/settings-host';
import { signInAndJoin } from './support/flow';

let stack: Stack | undefined;
let hosts: SettingsHost[] = [];
test.afterEach(async () => {
  await stack?.stop();
  for (const host of hosts) await host.stop();
  stack = undefined;
  hosts = [];
});

async function host(): Promise<SettingsHost> {
  const started = await startSettingsHost();
  hosts.push(started);
  return started;
}

const received = (page: Page) => page.evaluate(() => (window as any).received as any[]);
const ignored = (page: Page) => page.evaluate(() => (window as any).ignored as any[]);

test('settings: sign-in first, the join completes in the iframe, the host page gets joined and sign_out', async ({ page }) => {
  const settings = await host();
  stack = await startStack({ flow: 'settings', edition: 'professional', embedderOrigin: settings.origin });
  await page.goto(settings.pageUrl(stack.launchUrl, stack.authority));
  const app = page.frameLocator('[data-testid=cxh-frame]');
  await expect(app.getByTestId('page-sign-in')).toBeVisible();
  await expect(app.locator('body')).toHaveClass(/theme-light/);
  await expect(app.getByTestId('btn-cancel')).toBeVisible();
  await expect(app.getByTestId('btn-back')).toHaveCount(0);

  const deviceId = await signInAndJoin(app);
  // The whole flow stayed in the iframe: the top page never navigated.
  expect(new URL(page.url()).origin).toBe(settings.origin);
  await expect(app.getByTestId('btn-sign-out')).toBeVisible();
  await expect(page.getByTestId('host-outcome')).toHaveText('Outcome: joined');
  expect(await received(page)).toEqual([
    { source: 'cxh-join', version: 1, outcome: 'joined', device_id: deviceId, tenant: expect.stringContaining('Contoso') },
  ]);
  await app.getByTestId('btn-sign-out').click();
  await expect(page.getByTestId('host-outcome')).toHaveText('Outcome: sign_out');
  expect((await received(page))[1]).toEqual({ source: 'cxh-join', version: 1, outcome: 'sign_out', device_id: deviceId });
  expect(await ignored(page)).toEqual([]);
  expect(await stack.device(deviceId)).not.toBeNull();
  expect(stack.loginContexts()).toEqual([{ cxhflow: 'MOSET', cxhver: '1.0', cxhplatform: 'Desktop' }]);
});

test('settings: Cancel tells the host page', async ({ page }) => {
  const settings = await host();
  stack = await startStack({ flow: 'settings', edition: 'enterprise', embedderOrigin: settings.origin });
  await page.goto(settings.pageUrl(stack.launchUrl, stack.authority));
  const app = page.frameLocator('[data-testid=cxh-frame]');
  await app.getByTestId('btn-cancel').click();
  await expect(page.getByTestId('host-outcome')).toHaveText('Outcome: cancelled');
  expect(await received(page)).toEqual([{ source: 'cxh-join', version: 1, outcome: 'cancelled' }]);
});

test('settings: a page on another origin embedding the app receives nothing, even the device id', async ({ page }) => {
  const named = await host();
  const intruder = await host();
  stack = await startStack({ flow: 'settings', embedderOrigin: named.origin });
  // The intruder frames the app with the launch link; it listens for anything from the app.
  await page.goto(intruder.pageUrl(stack.launchUrl, stack.authority));
  await page.evaluate(() => window.addEventListener('message', (e) => (window as any).ignored.push({ raw: e.data })));
  const app = page.frameLocator('[data-testid=cxh-frame]');
  const deviceId = await signInAndJoin(app);
  await app.getByTestId('btn-sign-out').click();
  await page.waitForTimeout(500);
  expect(await received(page)).toEqual([]);
  expect(await ignored(page)).toEqual([]);
  expect(JSON.stringify(await page.evaluate(() => document.body.innerHTML))).not.toContain(deviceId);
});
