/**
 * Every error and edge a user meets, as the user meets it: the message in plain words (not the
 * service's raw text), the "Error code" line kept for support, the action offered, and that
 * the action works — a retry succeeds once the fault is gone, Back keeps the username, another
 * account joins. Faults at DRS come from the fault injector between bridge and DRS
 * (support/fault-proxy.ts); the quota from the tenant file (Tailspin Toys: one device per
 * user). With CXH_SCREENSHOTS=1 (e2e/scripts/screenshots.sh) each page is also written to
 * e2e/screenshots/ in both themes.
 */
import { test, expect, Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startStack, Stack, StackOptions, ROOT } from './support/stack';
import { ADELE } from './support/flow';
import { wrongCode } from './support/totp';
import { shot } from './support/screenshot';

const LEE = { upn: 'lee.gu@contoso.com', password: 'Lee-Secure-9', totp: 'JBSWY3DPEHPK3PXPJBSWY3DP' };
const ZOE = { upn: 'zoe.angstrom@contoso.com', password: 'Zoe-Pass-5', name: 'Zoë Ångström' };
const MIRIAM = { upn: 'miriam.graham@tailspintoys.com', password: 'Miriam-Pass-8' };
const JOHANNA = { upn: 'johanna.lorenz@tailspintoys.com', password: 'Johanna-Pass-4' };

let stack: Stack | undefined;
test.afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

async function start(options: StackOptions = {}): Promise<Stack> {
  stack = await startStack({ edition: 'enterprise', ...options });
  return stack;
}

async function toSignIn(page: Page, s: Stack) {
  await page.goto(s.launchUrl);
  await expect(page.getByTestId('page-join-options')).toBeVisible();
  await page.getByTestId('btn-join-entra').click();
  await expect(page.getByTestId('page-sign-in')).toBeVisible();
}

async function enterName(page: Page, upn: string) {
  await page.getByTestId('input-upn').fill(upn);
  await page.getByTestId('btn-next').click();
  await expect(page.getByTestId('input-password')).toBeVisible();
}

async function enterPassword(page: Page, password: string) {
  await page.getByTestId('input-password').fill(password);
  await page.getByTestId('btn-signin').click();
}

async function expectDone(page: Page, s: Stack, devices: number) {
  await expect(page.getByTestId('page-done')).toBeVisible({ timeout: 60_000 });
  expect(await s.devices()).toHaveLength(devices);
}

async function expectErrorPage(page: Page, code: RegExp, summary: RegExp) {
  await expect(page.getByTestId('page-error')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('error-summary')).toHaveText(summary);
  await expect(page.getByTestId('error-code')).toHaveText(code);
  // The service's own sentence is not what the user reads (it waits under More details).
  await expect(page.getByTestId('error-summary')).not.toContainText(/AADSTS|_/);
}

test('a wrong password is told plainly, each try visibly re-checked, Back keeps the name', async ({ page }) => {
  const s = await start();
  await toSignIn(page, s);
  await enterName(page, ADELE.upn);
  await enterPassword(page, 'not-the-password');
  const error = page.getByTestId('error-message');
  await expect(error).toHaveAttribute('role', 'alert');
  await expect(page.getByTestId('error-summary')).toHaveText('Your account or password is incorrect.');
  await expect(page.getByTestId('error-advice')).toContainText('ask your administrator to reset it');
  await expect(page.getByTestId('error-code')).toHaveText('Error code: AADSTS50126');
  // Still on the password step, for the same account.
  await expect(page.getByTestId('signin-identity')).toHaveText(ADELE.upn);
  await shot(page, 'error-wrong-password');

  // A second wrong try: the old message goes while the form is sent, a new one comes back.
  await page.evaluate(() => { (document.querySelector('[data-testid=error-message]') as HTMLElement).dataset.seen = '1'; });
  await page.getByTestId('input-password').fill('still-not-it');
  const resent = page.waitForRequest((r) => r.method() === 'POST' && r.url().includes('/login'));
  await page.getByTestId('btn-signin').click();
  await resent;
  await expect(page.getByTestId('error-summary')).toHaveText('Your account or password is incorrect.');
  await expect(page.locator('[data-testid=error-message][data-seen]')).toHaveCount(0);
  expect(await s.devices()).toHaveLength(0);

  // Back goes to the username step with the name kept, and on from there.
  await page.getByTestId('btn-back').click();
  await expect(page.getByTestId('input-upn')).toBeVisible();
  await expect(page.getByTestId('input-upn')).toHaveValue(ADELE.upn);
  await expect(page.getByTestId('input-upn')).toBeFocused();
  await page.getByTestId('btn-next').click();
  await enterPassword(page, ADELE.password);
  await expectDone(page, s, 1);
});

test('an unknown account is told on the username step, and a corrected name joins', async ({ page }) => {
  const s = await start();
  await toSignIn(page, s);
  await enterName(page, 'nobody.here@contoso.com');
  await enterPassword(page, 'whatever-1');
  await expect(page.getByTestId('input-upn')).toBeVisible();
  await expect(page.getByTestId('input-upn')).toHaveValue('nobody.here@contoso.com');
  await expect(page.getByTestId('error-summary')).toHaveText("We couldn't find an account with that username.");
  await expect(page.getByTestId('error-code')).toHaveText('Error code: AADSTS50034');
  await shot(page, 'error-unknown-account');
  await page.getByTestId('input-upn').fill(ADELE.upn);
  await expect(page.getByTestId('error-message')).toHaveCount(0);
  await page.getByTestId('btn-next').click();
  await enterPassword(page, ADELE.password);
  await expectDone(page, s, 1);
});

test('a locked account says so and another account joins', async ({ page }) => {
  const s = await start();
  await toSignIn(page, s);
  await enterName(page, LEE.upn);
  await enterPassword(page, LEE.password);
  for (let attempt = 1; attempt <= 5; attempt++) {
    await expect(page.getByTestId('input-otp')).toBeVisible();
    await page.getByTestId('input-otp').fill(wrongCode(LEE.totp));
    await page.getByTestId('btn-verify').click();
    if (attempt < 5) await expect(page.getByTestId('tries-left')).toHaveText(`${5 - attempt} tries left.`);
  }
  await expectErrorPage(page, /^Error code: AADSTS50053$/, /^Your account is locked/);
  await expect(page.getByTestId('error-advice')).toContainText('sign in with another account');
  await shot(page, 'error-locked');
  await page.getByTestId('btn-another-account').click();
  await expect(page.getByTestId('page-sign-in')).toBeVisible();
  await enterName(page, ADELE.upn);
  await enterPassword(page, ADELE.password);
  await expectDone(page, s, 1);
});

test('a reached device quota says what helps, and another account joins', async ({ page }) => {
  const s = await start();
  // Miriam's one device, joined elsewhere without a browser.
  execFileSync(join(ROOT, 'target', 'debug', 'host-bridge'), [
    'join', '--authority', s.authority, '--username', MIRIAM.upn, '--password-stdin',
    '--key-protection', 'software', '--state-dir', join(s.dir, 'other-device'),
  ], { input: `${MIRIAM.password}\n`, stdio: ['pipe', 'ignore', 'ignore'] });
  expect(await s.devices()).toHaveLength(1);

  await toSignIn(page, s);
  await enterName(page, MIRIAM.upn);
  await enterPassword(page, MIRIAM.password);
  await expectErrorPage(page, /^Error code: quota_exceeded$/, /limit of devices/);
  await expect(page.getByTestId('error-advice')).toHaveText(
    'Ask your administrator to remove one of your devices, or sign in with another account.');
  await expect(page.getByTestId('error-message')).toHaveAttribute('data-retryable', 'false');
  await expect(page.getByTestId('btn-try-again')).toHaveCount(0);
  await expect(page.getByTestId('error-phase')).toContainText('Registering the device');
  await shot(page, 'error-quota');
  // Nothing of the refused join stayed on the device.
  expect((s.bridgeStatus() as { azure_ad_joined: boolean }).azure_ad_joined).toBe(false);

  await page.getByTestId('btn-another-account').click();
  await expect(page.getByTestId('page-sign-in')).toBeVisible();
  await enterName(page, JOHANNA.upn);
  await enterPassword(page, JOHANNA.password);
  await expectDone(page, s, 2);
});

test('DRS down is retryable: Try again joins once it is back', async ({ page }) => {
  const s = await start({ drsFaults: true });
  s.drs!.fault = 'down';
  await toSignIn(page, s);
  await enterName(page, ADELE.upn);
  await enterPassword(page, ADELE.password);
  await expectErrorPage(page, /^Error code: http_503$/, /device registration service isn't available/);
  await expect(page.getByTestId('error-message')).toHaveAttribute('data-retryable', 'true');
  await expect(page.getByTestId('error-phase')).toContainText("Finding your organization's device registration service");
  await shot(page, 'error-drs-down');
  expect(s.drs!.requests.length).toBeGreaterThan(0);

  s.drs!.fault = 'none';
  await page.getByTestId('btn-try-again').click();
  await expectDone(page, s, 1);
});

test('the network lost mid-join is retryable, and leaves nothing behind', async ({ page }) => {
  const s = await start({ drsFaults: true });
  s.drs!.fault = 'drop-registration';
  await toSignIn(page, s);
  await enterName(page, ADELE.upn);
  await enterPassword(page, ADELE.password);
  await expectErrorPage(page, /^Error code: network$/, /network connection may have been lost/);
  await expect(page.getByTestId('error-phase')).toContainText('Registering the device');
  await expect(page.getByTestId('error-advice')).toContainText('Check the network connection');
  await shot(page, 'error-network');
  expect(s.drs!.requests.some((r) => r.startsWith('POST'))).toBe(true);
  expect(await s.devices()).toHaveLength(0);
  expect((s.bridgeStatus() as { azure_ad_joined: boolean }).azure_ad_joined).toBe(false);

  s.drs!.fault = 'none';
  await page.getByTestId('btn-try-again').click();
  await expectDone(page, s, 1);
});

test('an already joined device names its organization and how to leave, and leaving works', async ({ page }) => {
  const s = await start();
  await toSignIn(page, s);
  await enterName(page, ADELE.upn);
  await enterPassword(page, ADELE.password);
  await expectDone(page, s, 1);

  // A new launch, not a fragment change of the page already open (that would not reload it).
  await page.goto('about:blank');
  await page.goto(s.launchUrl);
  await expect(page.getByTestId('page-already-joined')).toBeVisible();
  await expect(page.getByTestId('already-joined-message')).toHaveText(
    'This device is already joined to Contoso through Microsoft Entra ID.');
  await expect(page.getByTestId('joined-tenant')).toHaveText('Contoso');
  const command = (await page.getByTestId('leave-command').innerText()).trim();
  expect(command).toBe(`host-bridge leave --state-dir ${s.stateDir}`);
  await shot(page, 'already-joined');

  // The command the page names leaves, as the page says: with setup closed (the bridge holds
  // the machine store while it serves), then setup starts again.
  const args = command.split(' ').slice(1);
  await s.stopBridgeFor(() => execFileSync(join(ROOT, 'target', 'debug', 'host-bridge'), args, { stdio: 'ignore' }));
  await page.goto('about:blank');
  await page.goto(s.launchUrl);
  await expect(page.getByTestId('page-join-options')).toBeVisible();
});

test('the done page shows a non-ASCII display name, and Continue says what comes next', async ({ page }) => {
  const s = await start();
  await toSignIn(page, s);
  await enterName(page, ZOE.upn);
  await enterPassword(page, ZOE.password);
  await expectDone(page, s, 1);
  await expect(page.getByTestId('done-display-name')).toHaveText(ZOE.name);
  await page.getByTestId('btn-continue').click();
  await expect(page.getByTestId('page-handover')).toBeVisible();
  await expect(page.getByTestId('next-first-sign-in')).toHaveText(
    `Next, ${ZOE.name} signs in to Windows for the first time with ${ZOE.upn}.`);
  await expect(page.getByTestId('next-sso')).toContainText('single sign-on');
  await shot(page, 'handover');
});

test('the username is checked in the page, in its language, without the browser bubble', async ({ page }) => {
  const s = await start({ language: 'de-DE' });
  await page.goto(s.launchUrl);
  await expect(page.getByTestId('page-join-options')).toHaveText('Wie möchten Sie dieses Gerät verbinden?');
  await page.getByTestId('btn-join-entra').click();
  await expect(page.getByTestId('page-sign-in')).toBeVisible();
  expect(await page.locator('form.sign-in-form').evaluate((f) => (f as HTMLFormElement).noValidate)).toBe(true);
  await page.getByTestId('btn-next').click();
  await expect(page.getByTestId('upn-error')).toHaveText('Geben Sie Ihr Geschäfts-, Schul- oder Unikonto ein.');
  await page.getByTestId('input-upn').fill('adele');
  await page.getByTestId('btn-next').click();
  await expect(page.getByTestId('upn-error')).toHaveText(
    'Geben Sie das Konto als vollständige Adresse ein, etwa jemand@example.com.');
  await expect(page.getByTestId('input-password')).toHaveCount(0);
  await enterName(page, ADELE.upn);
  await page.getByTestId('btn-signin').click();
  await expect(page.getByTestId('password-error')).toHaveText('Geben Sie Ihr Kennwort ein.');
  await enterPassword(page, 'falsch-1');
  await expect(page.getByTestId('error-summary')).toHaveText('Ihr Konto oder Kennwort ist falsch.');
  await expect(page.getByTestId('error-code')).toHaveText('Fehlercode: AADSTS50126');
});
