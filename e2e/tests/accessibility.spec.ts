/**
 * Accessibility: axe-core (WCAG 2.0/2.1 A and AA rules) finds no violation on any page, in the
 * dark OOBE theme, the light Settings theme, and with forced colours (high contrast); the whole
 * join works with the keyboard alone, each page's heading takes focus, and focus is visible.
 */
import { test, expect, Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { startStack, Stack } from './support/stack';
import { startSettingsHost, SettingsHost } from './support/settings-host';
import { ADELE, signInAndJoin } from './support/flow';

const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

let stack: Stack | undefined;
let settings: SettingsHost | undefined;
test.afterEach(async () => {
  await stack?.stop();
  await settings?.stop();
  stack = undefined;
  settings = undefined;
});

/** Sign in as Adele and submit, without waiting for the join to end. */
async function signInAndJoinStarted(page: Page) {
  await expect(page.getByTestId('page-sign-in')).toBeVisible();
  await page.getByTestId('input-upn').fill(ADELE.upn);
  await page.getByTestId('btn-next').click();
  await page.getByTestId('input-password').fill(ADELE.password);
  await page.getByTestId('btn-signin').click();
}

async function noViolations(page: Page, where: string) {
  const results = await new AxeBuilder({ page }).withTags(TAGS).analyze();
  const summary = results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(summary, `axe violations on ${where}`).toEqual([]);
}

for (const forced of [false, true]) {
  const mode = forced ? ' (forced colours)' : '';

  test(`OOBE dark theme: every page passes axe${mode}`, async ({ page }) => {
    if (forced) await page.emulateMedia({ forcedColors: 'active' });
    stack = await startStack({ edition: 'professional' });
    await page.goto(stack.launchUrl);
    await expect(page.getByTestId('page-ownership')).toBeVisible();
    await noViolations(page, 'ownership');
    await page.getByTestId('btn-personal').click();
    await expect(page.getByTestId('page-local-account')).toBeVisible();
    await noViolations(page, 'local account');
    await page.getByTestId('btn-back').click();
    await page.getByTestId('btn-work').click();
    await expect(page.getByTestId('page-join-options')).toBeVisible();
    await noViolations(page, 'join options');
    await page.getByTestId('btn-join-entra').click();
    await expect(page.getByTestId('page-sign-in')).toBeVisible();
    await noViolations(page, 'sign-in');
    await page.getByTestId('input-upn').fill('someone@fabrikam.example');
    await page.getByTestId('btn-next').click();
    await expect(page.getByTestId('error-message')).toBeVisible();
    await noViolations(page, 'sign-in with an unknown account');
    await page.getByTestId('input-upn').fill(ADELE.upn);
    await page.getByTestId('btn-next').click();
    await page.getByTestId('input-password').fill('wrong-password');
    await page.getByTestId('btn-signin').click();
    await expect(page.getByTestId('error-message')).toBeVisible();
    await noViolations(page, 'sign-in with a wrong password');
    await page.getByTestId('input-password').fill(ADELE.password);
    await page.getByTestId('btn-signin').click();
    await expect(page.getByTestId('page-done')).toBeVisible({ timeout: 60_000 });
    await noViolations(page, 'done');
    // Error page: a page opened without the host's hand-off.
    await page.goto(`${stack.authority}/WebApp/CloudDomainJoin/4?error=access_denied&error_description=AADSTS50105`);
    await expect(page.getByTestId('page-error')).toBeVisible();
    await noViolations(page, 'error');
  });

  test(`the progress page passes axe, held mid-join${mode}`, async ({ page }) => {
    // The progress page lasts well under a second; hold the bridge's frames from
    // "registering started" on, so axe sees the page mid-join, then let the join finish.
    if (forced) await page.emulateMedia({ forcedColors: 'active' });
    stack = await startStack({ edition: 'enterprise' });
    const port = new URL(stack.wsUrl).port;
    let release: () => void = () => {};
    await page.routeWebSocket(new RegExp(`^ws://127\\.0\\.0\\.1:${port}/`), (ws) => {
      const server = ws.connectToServer();
      const held: (string | Buffer)[] = [];
      let holding = false;
      ws.onMessage((message) => server.send(message));
      server.onMessage((message) => {
        if (holding) return void held.push(message);
        ws.send(message);
        const frame = JSON.parse(String(message));
        holding = frame.type === 'progress' && frame.phase === 'registering' && frame.state === 'started';
      });
      release = () => {
        holding = false;
        for (const message of held.splice(0)) ws.send(message);
      };
    });
    await page.goto(stack.launchUrl);
    await page.getByTestId('btn-join-entra').click();
    await signInAndJoinStarted(page);
    await expect(page.getByTestId('page-progress')).toBeVisible();
    await expect(page.getByTestId('phase-registering')).toHaveAttribute('data-state', 'in_progress');
    await expect(page.getByTestId('phase-discovering')).toHaveAttribute('data-state', 'done');
    await noViolations(page, 'progress');
    release();
    await expect(page.getByTestId('page-done')).toBeVisible({ timeout: 60_000 });
  });

  test(`Settings light theme in the iframe: every page passes axe${mode}`, async ({ page }) => {
    if (forced) await page.emulateMedia({ forcedColors: 'active' });
    settings = await startSettingsHost();
    stack = await startStack({ flow: 'settings', embedderOrigin: settings.origin });
    await page.goto(settings.pageUrl(stack.launchUrl, stack.authority));
    const app = page.frameLocator('[data-testid=cxh-frame]');
    await expect(app.getByTestId('page-sign-in')).toBeVisible();
    await noViolations(page, 'settings sign-in');
    await signInAndJoin(app);
    await noViolations(page, 'settings done');
  });
}

test('the whole join with the keyboard alone; each page focuses its heading; focus is visible', async ({ page }) => {
  stack = await startStack({ edition: 'professional' });
  await page.goto(stack.launchUrl);
  const focused = () => page.evaluate(() => document.activeElement?.getAttribute('data-testid'));
  const tabTo = async (testid: string) => {
    for (let i = 0; i < 10 && (await focused()) !== testid; i++) await page.keyboard.press('Tab');
    expect(await focused()).toBe(testid);
    // The focus ring is drawn (outline), not suppressed.
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    expect(outline).not.toBe('none');
  };

  await expect(page.getByTestId('page-ownership')).toBeFocused();
  await tabTo('btn-work');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('page-join-options')).toBeFocused();
  await tabTo('btn-join-entra');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('page-sign-in')).toBeFocused();
  await tabTo('input-upn');
  await page.keyboard.type(ADELE.upn);
  await page.keyboard.press('Enter');
  // Next found a managed realm: focus goes to the password.
  await expect(page.getByTestId('input-password')).toBeFocused();
  await page.keyboard.type(ADELE.password);
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('page-done')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('page-done')).toBeFocused();
  await tabTo('btn-continue');
  expect(await stack.devices()).toHaveLength(1);
});

test('progress is announced through a status live region', async ({ page }) => {
  // Record every text the status region takes, in each document the app loads.
  await page.addInitScript(() => {
    (window as any).announcements = [];
    new MutationObserver(() => {
      const region = document.querySelector('[data-testid=progress-status]');
      const text = region?.textContent ?? '';
      const seen = (window as any).announcements as string[];
      if (region && region.getAttribute('role') === 'status' && text && seen[seen.length - 1] !== text) seen.push(text);
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });
  stack = await startStack({ edition: 'enterprise' });
  await page.goto(stack.launchUrl);
  await page.getByTestId('btn-join-entra').click();
  await page.getByTestId('input-upn').fill(ADELE.upn);
  await page.getByTestId('btn-next').click();
  await page.getByTestId('input-password').fill(ADELE.password);
  await page.getByTestId('btn-signin').click();
  await expect(page.getByTestId('page-done')).toBeVisible({ timeout: 60_000 });
  const announcements: string[] = await page.evaluate(() => (window as any).announcements);
  expect(announcements.length).toBeGreaterThan(1);
  expect(announcements[0]).toMatch(/^Step 1 of 6: Finding your organization's device registration service/);
  expect(announcements.some((text) => /^Step 6 of 6: Saving the join information — (In progress|Done)$/.test(text))).toBe(true);
});
