/**
 * The broker after the join, as apps use it beyond silent bearer tokens: a proof-of-possession
 * token that the emulator's sample API accepts only inside the Signed HTTP Request the broker
 * signed with its TPM-held key (and refuses as a bearer token); then, once the user's PRT is
 * revoked by a password reset, acquireTokenInteractively opens the broker's sign-in window in
 * Chromium (the "browser" command records the file it is given, the test opens it as a user's
 * browser would), the user signs in with the new password there, and the pending D-Bus call
 * answers with a token from the new PRT.
 */
import { test, expect } from '@playwright/test';
import { existsSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, Stack } from './support/stack';
import { Broker, joinInOobeAndLogOn, jwtClaims, silentRequest, startBroker } from './support/broker';

const ADELE = { upn: 'adele.vance@contoso.com', password: 'Correct-Horse-42' };
const NEW_PASSWORD = 'Renewed-Pass-31';

let stack: Stack | undefined;
let broker: Broker | undefined;
test.afterEach(async () => {
  await broker?.stop();
  await stack?.stop();
  broker = undefined;
  stack = undefined;
});

/** A "browser" command that writes the file it was asked to open to `opened`. */
function recordingBrowser(dir: string): { command: string; opened: string } {
  const opened = join(dir, 'browser-opened');
  const command = join(dir, 'browser.sh');
  writeFileSync(command, `#!/bin/sh\nprintf '%s' "$1" > '${opened}'\n`);
  chmodSync(command, 0o755);
  return { command, opened };
}

test('a PoP token works only in its signed request; a revoked PRT is replaced in the broker window', async ({ page, context }) => {
  stack = await startStack({ flow: 'oobe' });
  await joinInOobeAndLogOn(page, stack, ADELE);
  const browser = recordingBrowser(stack.dir);
  broker = await startBroker(stack.dir, stack.stateDir, { browser: browser.command });
  const account = broker.call('getAccounts', {}).accounts[0];
  const deviceId = (stack.bridgeStatus() as any).device.device_id;

  // Proof of possession: the sample API takes the signed request, not the bare token.
  const me = `${stack.authority}/sample-api/me`;
  const popRequest = silentRequest(account) as any;
  popRequest.authParameters.popParams = { resourceRequestMethod: 'GET', resourceRequestUri: me };
  const pop = broker.call('acquireTokenSilently', popRequest).brokerTokenResponse;
  expect(pop.error, JSON.stringify(pop.error)).toBeUndefined();
  expect(pop.accessTokenType).toBe(1);
  const at = jwtClaims(pop.accessToken).at as string;
  expect(jwtClaims(at).cnf.kid).toBeTruthy();
  const asPop = await fetch(me, { headers: { authorization: `PoP ${pop.accessToken}` } });
  expect(asPop.status).toBe(200);
  expect((await asPop.json()).deviceid).toBe(deviceId);
  const asBearer = await fetch(me, { headers: { authorization: `Bearer ${at}` } });
  expect(asBearer.status).toBe(401);

  // The password is reset: the PRT is revoked and a silent request needs the user.
  const reset = await fetch(`${stack.authority}/_emulator/users/${ADELE.upn}/password`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: NEW_PASSWORD }),
  });
  expect(reset.ok).toBe(true);
  const silent = broker.call('acquireTokenSilently', silentRequest(account, ['User.Read'])).brokerTokenResponse;
  expect(silent.error.status).toBe(2);

  const pending = broker.callAsync('acquireTokenInteractively', silentRequest(account, ['User.Read']));
  await expect.poll(() => existsSync(browser.opened), { timeout: 30_000 }).toBe(true);
  const handoff = readFileSync(browser.opened, 'utf8');
  const window = await context.newPage();
  await window.goto(`file://${handoff}`);
  await expect(window.getByRole('heading', { name: /Sign in to/ })).toBeVisible();
  await expect(window.locator('#username')).toHaveValue(ADELE.upn);
  expect(window.url()).not.toContain('secret');
  await window.getByLabel('Password').fill(ADELE.password);
  await window.getByRole('button', { name: 'Sign in' }).click();
  await expect(window.getByRole('alert')).toContainText('incorrect');
  await window.getByLabel('Password').fill(NEW_PASSWORD);
  await window.getByRole('button', { name: 'Sign in' }).click();
  await expect(window.getByRole('status')).toContainText("You're signed in");

  const answer = (await pending).brokerTokenResponse;
  expect(answer.error, JSON.stringify(answer.error)).toBeUndefined();
  expect(jwtClaims(answer.accessToken).deviceid).toBe(deviceId);
  expect(existsSync(handoff)).toBe(false);
  expect(readFileSync(join(stack.dir, 'broker.log'), 'utf8')).not.toContain(NEW_PASSWORD);
});
