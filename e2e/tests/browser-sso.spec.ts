/**
 * Issue 11's browser side, against the authority over HTTPS (as clients meet the real one):
 * after an OOBE join and the first sign-in, Chromium with the SSO extension opens the sample
 * single-page app (Microsoft's own msal-browser: ssoSilent, then loginRedirect) and is signed
 * in with no password prompt: the extension got the PRT SSO cookie from the broker through its
 * native messaging host and sent it to the authority, and the token the app gets names the
 * device. The payroll app's conditional access requires a joined device: the same user in a
 * browser without the extension is asked for a password and then refused (AADSTS53000), as is
 * a browser whose device was disabled in the tenant or has left it. When the cookie's nonce has
 * gone stale (the authority's clock moved on), the authority's fresh sso_nonce is picked up and
 * the sign-in still completes without a prompt; a forged cookie gets the password prompt. The
 * same holds for a federated user.
 */
import { test, expect, Browser, Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, startStack, Stack } from './support/stack';
import { Broker, joinFederatedInOobe, joinInOobeAndLogOn, jwtClaims, startBroker } from './support/broker';
import { launchWithExtension, SsoBrowser, EXTENSION_ID } from './support/sso';
import { SampleSpa, startSampleSpa } from './support/sample-spa';

const ADELE = { upn: 'adele.vance@contoso.com', password: 'Correct-Horse-42', name: 'Adele Vance' };
const DIEGO = { upn: 'diego.siciliani@fabrikam-corp.com', password: 'Diego-Fed-11' };
const PAYROLL = { id: '7b4c3d2e-5f6a-4b7c-9d8e-0f1a2b3c4d5e', redirect: 'https://payroll.contoso.test/signin-oidc' };

let stack: Stack | undefined;
let broker: Broker | undefined;
let sso: SsoBrowser | undefined;
let spa: SampleSpa | undefined;
test.afterEach(async () => {
  await sso?.close();
  await broker?.stop();
  await stack?.stop();
  await spa?.stop();
  sso = undefined;
  broker = undefined;
  stack = undefined;
  spa = undefined;
});

/** The joined device with the broker running and Chromium with the extension, ready. */
async function ssoBrowser(s: Stack): Promise<SsoBrowser> {
  broker = await startBroker(s.dir, s.stateDir);
  sso = await launchWithExtension(s.dir, s.stateDir, broker.busAddress);
  expect(sso.worker.url()).toContain(EXTENSION_ID);
  await expect.poll(async () => (await sso!.state())?.ok, { timeout: 30_000 }).toBe(true);
  expect((await sso.state())!.authority).toBe(new URL(s.authority).origin);
  return sso;
}

/** Open the sample app in `page` and wait until it is signed in; what it shows. */
async function openSampleApp(page: Page, s: Stack, app: 'timesheet' | 'payroll') {
  spa ??= await startSampleSpa();
  await page.goto(spa.url(app, `${s.authority}/contoso.com`));
  await expect(page.locator('body[data-state="signed-in"]')).toBeAttached({ timeout: 30_000 });
  const read = (id: string) => page.getByTestId(id).innerText();
  return { how: await read('spa-how'), user: await read('spa-user'), deviceId: await read('spa-device-id') };
}

/** The sample app in a browser that brings no proof of the device: msal-browser's ssoSilent
 * fails, loginRedirect shows the authority's sign-in page, and the user types a password. */
async function sampleAppAsksForPassword(browser: Browser, s: Stack, app: 'timesheet' | 'payroll') {
  spa ??= await startSampleSpa();
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(spa.url(app, `${s.authority}/contoso.com`));
  await expect(page.locator('input[name="passwd"]')).toBeVisible({ timeout: 30_000 });
  await page.locator('input[name="login"]').fill(ADELE.upn);
  await page.locator('input[name="passwd"]').fill(ADELE.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  return { page, context };
}

function authorizeUrl(authority: string, app: { id: string; redirect: string }): string {
  const query = new URLSearchParams({
    client_id: app.id, response_type: 'code', redirect_uri: app.redirect,
    resource: 'https://graph.microsoft.com', state: 'st-1',
  });
  return `${authority}/common/oauth2/authorize?${query}`;
}

/** Open `url` and wait for the browser to arrive at the app's redirect URI (the app itself is
 * not part of this check: its host does not resolve, so only the request is watched). */
async function signInAt(page: Page, url: string): Promise<URL> {
  const landed = page.waitForRequest((r) => r.url().startsWith(PAYROLL.redirect), { timeout: 30_000 });
  await page.goto(url).catch(() => { /* the app's host does not resolve */ });
  return new URL((await landed).url());
}

/** The payroll app's server redeems the code (from Node, at the emulator's local listener). */
async function redeem(s: Stack, landed: URL): Promise<Record<string, any>> {
  expect(landed.searchParams.get('state')).toBe('st-1');
  const code = landed.searchParams.get('code')!;
  const answer = await fetch(`${s.localUrl}/common/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: PAYROLL.id, code, redirect_uri: PAYROLL.redirect }),
  });
  expect(answer.status).toBe(200);
  return jwtClaims((await answer.json()).access_token);
}

async function moveClock(s: Stack, body: Record<string, number>) {
  const moved = await fetch(`${s.localUrl}/_emulator/clock`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  expect(moved.ok).toBe(true);
}

/** A cookie of the right shape (JWS, `ctx` header, a refresh_token) signed with a key the
 * device never had. */
function forgedCookie(): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const header = part({ alg: 'HS256', ctx: Buffer.alloc(24, 7).toString('base64'), kdf_ver: 2 });
  const payload = part({ refresh_token: 'forged-prt', is_primary: 'true', iat: Math.floor(Date.now() / 1000) });
  return `${header}.${payload}.${Buffer.alloc(32, 1).toString('base64url')}`;
}

async function sampleAppScreenshot(page: Page) {
  if (!process.env.CXH_SCREENSHOTS) return;
  await page.screenshot({ path: join(__dirname, '..', 'screenshots', 'sso-sample-app.png') });
}

test('the sample app signs a joined user in silently with msal-browser; the token names the device; without the extension payroll refuses', async ({ page, browser }) => {
  stack = await startStack({ flow: 'oobe', https: true });
  expect(stack.authority).toMatch(/^https:\/\//);
  await joinInOobeAndLogOn(page, stack, ADELE);
  const deviceId = (stack.bridgeStatus() as any).device.device_id;
  await ssoBrowser(stack);

  const tab = await sso!.context.newPage();
  const passwordPages: string[] = [];
  tab.on('framenavigated', async (frame) => {
    if (await frame.locator('input[name="passwd"]').count().catch(() => 0)) passwordPages.push(frame.url());
  });
  const timesheet = await openSampleApp(tab, stack, 'timesheet');
  expect(timesheet).toEqual({ how: 'silently', user: ADELE.upn, deviceId });
  await expect(tab.getByTestId('spa-status')).toHaveText(`Welcome, ${ADELE.name}`);
  await sampleAppScreenshot(tab);
  const payroll = await openSampleApp(tab, stack, 'payroll');
  expect(payroll).toEqual({ how: 'silently', user: ADELE.upn, deviceId });
  expect(passwordPages, 'no password prompt on the way').toEqual([]);

  // The cookie's nonce goes stale: the fresh sso_nonce is used and there is still no prompt.
  await moveClock(stack, { advance_secs: 400 });
  const again = await signInAt(tab, authorizeUrl(stack.authority, PAYROLL));
  expect((await redeem(stack, again)).deviceid).toBe(deviceId);
  const emulatorLog = readFileSync(join(stack.dir, 'emulator.log'), 'utf8');
  expect(emulatorLog, 'the stale cookie was seen and retried').toContain('PRT cookie with a stale nonce');
  await moveClock(stack, { offset_secs: 0 });

  // A browser without the extension: ssoSilent fails, the sign-in page asks for the password,
  // and the payroll app's conditional access refuses the unproven device.
  const plain = await sampleAppAsksForPassword(browser, stack, 'payroll');
  await expect(plain.page.getByRole('heading', { name: "You can't get there from here" })).toBeVisible();
  await expect(plain.page.locator('#error_code')).toHaveText('Error code: 53000');
  await plain.context.close();
  // The timesheet app requires no device: signed in after the password, with no device id.
  const open = await sampleAppAsksForPassword(browser, stack, 'timesheet');
  await expect(open.page.locator('body[data-state="signed-in"]')).toBeAttached({ timeout: 30_000 });
  await expect(open.page.getByTestId('spa-how')).toHaveText('after a sign-in page');
  await expect(open.page.getByTestId('spa-device-id')).toHaveText('(none)');
  await open.context.close();
});

test('a federated user is signed in to the sample app silently too', async ({ page }) => {
  stack = await startStack({ flow: 'oobe', https: true });
  await joinFederatedInOobe(page, stack, DIEGO);
  // The first sign-in at the logon screen gets the PRT at the STS (the password on stdin).
  execFileSync(join(BIN, 'host-bridge'), ['sign-in', '--state-dir', stack.stateDir, '--ca-file', stack.caFile,
    '--username', DIEGO.upn, '--password-stdin'], { input: `${DIEGO.password}\n`, stdio: ['pipe', 'ignore', 'pipe'] });
  const deviceId = (stack.bridgeStatus() as any).device.device_id;
  await ssoBrowser(stack);
  const tab = await sso!.context.newPage();
  const signedIn = await openSampleApp(tab, stack, 'payroll');
  expect(signedIn).toEqual({ how: 'silently', user: DIEGO.upn, deviceId });
});

test('a device disabled in the tenant, a forged cookie, then a device that left: the password prompt and the payroll refusal', async ({ page, browser }) => {
  stack = await startStack({ flow: 'oobe', https: true });
  await joinInOobeAndLogOn(page, stack, ADELE);
  const deviceId = (stack.bridgeStatus() as any).device.device_id;
  await ssoBrowser(stack);
  const s = stack;

  const disabled = await fetch(`${s.localUrl}/_emulator/devices/${deviceId}/disable`, { method: 'POST' });
  expect(disabled.status).toBe(204);
  // The extension still sends a cookie (the device does not know yet), and the authority
  // ignores it: the password prompt, then the payroll app's refusal.
  const tab = await sso!.context.newPage();
  spa ??= await startSampleSpa();
  await tab.goto(spa.url('payroll', `${s.authority}/contoso.com`));
  await expect(tab.locator('input[name="passwd"]')).toBeVisible({ timeout: 30_000 });
  await tab.locator('input[name="login"]').fill(ADELE.upn);
  await tab.locator('input[name="passwd"]').fill(ADELE.password);
  await tab.getByRole('button', { name: 'Sign in' }).click();
  await expect(tab.locator('#error_code')).toHaveText('Error code: 53000');
  expect(readFileSync(join(s.dir, 'emulator.log'), 'utf8')).toMatch(/PRT cookie ignored.*disabled|disabled.*PRT cookie ignored/);

  // Enabled again. A forged cookie (a browser that makes one up, signed with no key of the
  // device) is refused the same way: the password prompt, and the reason in the log.
  expect((await fetch(`${s.localUrl}/_emulator/devices/${deviceId}/enable`, { method: 'POST' })).status).toBe(204);
  const ignoredCookies = () => readFileSync(join(s.dir, 'emulator.log'), 'utf8').split('\n')
    .filter((line) => line.includes('PRT cookie ignored')).length;
  const ignoredBefore = ignoredCookies();
  const forger = await browser.newContext();
  // Sent as the extension sends it: on the requests to the authority's authorize endpoint.
  await forger.route((url) => url.pathname.endsWith('/oauth2/v2.0/authorize'), (route) =>
    route.continue({ headers: { ...route.request().headers(), 'x-ms-refreshtokencredential': forgedCookie() } }));
  const forged = await forger.newPage();
  await forged.goto(spa.url('payroll', `${s.authority}/contoso.com`));
  await expect(forged.locator('input[name="passwd"]')).toBeVisible({ timeout: 30_000 });
  await forger.close();
  expect(ignoredCookies(), 'the forgery was seen and ignored').toBeGreaterThan(ignoredBefore);

  // Then the device leaves the organization: the broker has no account, the
  // extension stops sending a cookie, and the app asks for a password again.
  await s.stopBridgeFor(() => execFileSync(join(BIN, 'host-bridge'), [
    'leave', '--state-dir', s.stateDir, '--ca-file', s.caFile,
  ], { stdio: ['ignore', 'ignore', 'pipe'] }));
  expect(await s.device(deviceId), 'the DELETE, authenticated by the device certificate, removed it').toBeNull();
  expect(await sso!.worker.evaluate(() => (globalThis as any).cxhSso.refresh())).toBe(false);
  expect((await sso!.state())!.ok).toBe(false);
  const after = await sso!.context.newPage();
  await after.goto(spa.url('timesheet', `${s.authority}/contoso.com`));
  await expect(after.locator('input[name="passwd"]')).toBeVisible({ timeout: 30_000 });
});
