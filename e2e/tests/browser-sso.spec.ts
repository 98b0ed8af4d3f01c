/**
 * Issue 11's browser side: after an OOBE join and the first sign-in, Chromium with the SSO
 * extension opens a web app of the organization and is signed in with no password prompt: the
 * extension got the PRT SSO cookie from the broker through its native messaging host and sent
 * it to the authority, and the token the app gets names the device. The payroll app's
 * conditional access requires a joined device: the same user in a browser without the
 * extension is asked for a password and then refused (AADSTS53000). When the cookie's nonce
 * has gone stale (the authority's clock moved on), the authority's fresh sso_nonce is picked up
 * and the sign-in still completes without a prompt.
 */
import { test, expect, Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, Stack } from './support/stack';
import { Broker, joinInOobeAndLogOn, jwtClaims, startBroker } from './support/broker';
import { launchWithExtension, SsoBrowser, EXTENSION_ID } from './support/sso';

const ADELE = { upn: 'adele.vance@contoso.com', password: 'Correct-Horse-42' };
const PAYROLL = { id: '7b4c3d2e-5f6a-4b7c-9d8e-0f1a2b3c4d5e', redirect: 'https://payroll.contoso.test/signin-oidc' };

let stack: Stack | undefined;
let broker: Broker | undefined;
let sso: SsoBrowser | undefined;
test.afterEach(async () => {
  await sso?.close();
  await broker?.stop();
  await stack?.stop();
  sso = undefined;
  broker = undefined;
  stack = undefined;
});

function authorizeUrl(authority: string, app: { id: string; redirect: string }): string {
  const query = new URLSearchParams({
    client_id: app.id, response_type: 'code', redirect_uri: app.redirect,
    resource: 'https://graph.microsoft.com', state: 'st-1',
  });
  return `${authority}/common/oauth2/authorize?${query}`;
}

/** Open `url` and wait for the browser to arrive at the app's redirect URI (the app itself is
 * not part of the test: its host does not resolve, so only the request is watched). */
async function signInAt(page: Page, url: string): Promise<URL> {
  const landed = page.waitForRequest((r) => r.url().startsWith(PAYROLL.redirect), { timeout: 30_000 });
  await page.goto(url).catch(() => { /* the app's host does not resolve */ });
  return new URL((await landed).url());
}

async function redeem(authority: string, landed: URL): Promise<Record<string, any>> {
  expect(landed.searchParams.get('state')).toBe('st-1');
  const code = landed.searchParams.get('code')!;
  const answer = await fetch(`${authority}/common/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: PAYROLL.id, code, redirect_uri: PAYROLL.redirect }),
  });
  expect(answer.status).toBe(200);
  return jwtClaims((await answer.json()).access_token);
}

test('the SSO extension signs a joined user in to a device-requiring app with no prompt; without it the app refuses', async ({ page }) => {
  stack = await startStack({ flow: 'oobe' });
  await joinInOobeAndLogOn(page, stack, ADELE);
  broker = await startBroker(stack.dir, stack.stateDir);
  const deviceId = (stack.bridgeStatus() as any).device.device_id;

  sso = await launchWithExtension(stack.dir, stack.stateDir, broker.busAddress);
  expect(sso.worker.url()).toContain(EXTENSION_ID);
  await expect.poll(async () => (await sso!.state())?.ok, { timeout: 30_000 }).toBe(true);
  expect((await sso.state())!.authority).toBe(new URL(stack.authority).origin);

  // Signed in with no page at all: the authority answers the code straight away.
  const app = await sso.context.newPage();
  const claims = await redeem(stack.authority, await signInAt(app, authorizeUrl(stack.authority, PAYROLL)));
  expect(claims.deviceid).toBe(deviceId);
  expect(claims.upn).toBe(ADELE.upn);

  // The cookie's nonce goes stale: the fresh sso_nonce is used and there is still no prompt.
  const moved = await fetch(`${stack.authority}/_emulator/clock`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advance_secs: 400 }),
  });
  expect(moved.ok).toBe(true);
  const again = await signInAt(app, authorizeUrl(stack.authority, PAYROLL));
  expect((await redeem(stack.authority, again)).deviceid).toBe(deviceId);
  const emulatorLog = readFileSync(join(stack.dir, 'emulator.log'), 'utf8');
  expect(emulatorLog, 'the stale cookie was seen and retried').toContain('PRT cookie with a stale nonce');
  await fetch(`${stack.authority}/_emulator/clock`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ offset_secs: 0 }),
  });

  // The same user in a browser without the extension: a password prompt, then AADSTS53000.
  await page.goto(authorizeUrl(stack.authority, PAYROLL));
  await expect(page.locator('input[name="passwd"]')).toBeVisible();
  await page.locator('input[name="login"]').fill(ADELE.upn);
  await page.locator('input[name="passwd"]').fill(ADELE.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: "You can't get there from here" })).toBeVisible();
  await expect(page.locator('#error_code')).toHaveText('Error code: 53000');
});
