/**
 * Issue 9's end-to-end proof: a user joins in OOBE in Chromium, then, outside the browser, signs
 * in to the device (the OOBE automatic sign-in for a managed user; the password on stdin for a
 * federated one, through the STS) and the token broker answers a D-Bus acquireTokenSilently for
 * another app without a password: the token names the device, and `status` shows the PRT with
 * its session key held by the TPM.
 */
import { test, expect, Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { BIN, startStack, Stack } from './support/stack';
import { Broker, joinFederatedInOobe, jwtClaims, silentRequest, startBroker } from './support/broker';

const ADELE = { upn: 'adele.vance@contoso.com', password: 'Correct-Horse-42' };
const DIEGO = { upn: 'diego.siciliani@fabrikam-corp.com', password: 'Diego-Fed-11' };

let stack: Stack | undefined;
let broker: Broker | undefined;
test.afterEach(async () => {
  await broker?.stop();
  await stack?.stop();
  broker = undefined;
  stack = undefined;
});

async function startOobe(page: Page) {
  await page.goto(stack!.launchUrl);
  await page.getByTestId('btn-work').click();
  await page.getByTestId('btn-join-entra').click();
}

function hostBridge(args: string[], input?: string): string {
  return execFileSync(join(BIN, 'host-bridge'), args, { encoding: 'utf8', input });
}

/** getAccounts, then a silent token for Edge: checked against what the device knows. */
function expectSilentTokenFor(upn: string) {
  const accounts = broker!.call('getAccounts', { clientId: 'd7b530a4-7680-4c23-a8bf-c52c121d2e87' });
  expect(accounts.accounts).toHaveLength(1);
  const account = accounts.accounts[0];
  expect(account.username).toBe(upn);
  const answer = broker!.call('acquireTokenSilently', silentRequest(account));
  const token = answer.brokerTokenResponse;
  expect(token.error, JSON.stringify(token.error)).toBeUndefined();
  const claims = jwtClaims(token.accessToken);
  const status = stack!.bridgeStatus() as any;
  expect(claims.deviceid).toBe(status.device.device_id);
  expect(claims.upn).toBe(upn);
  expect(claims.appid).toBe('d7b530a4-7680-4c23-a8bf-c52c121d2e87');
  expect(token.expiresOn).toBeGreaterThan(Date.now());
  return status;
}

test('managed OOBE join, automatic sign-in, then a silent token over D-Bus from a TPM-held PRT', async ({ page }) => {
  stack = await startStack({ flow: 'oobe' });
  await startOobe(page);
  await page.getByTestId('input-upn').fill(ADELE.upn);
  await page.getByTestId('btn-next').click();
  await page.getByTestId('input-password').fill(ADELE.password);
  await page.getByTestId('btn-signin').click();
  await expect(page.getByTestId('page-done')).toBeVisible({ timeout: 60_000 });

  // The user's first sign-in after OOBE: no password typed again.
  hostBridge(['logon', '--state-dir', stack.stateDir]);
  broker = await startBroker(stack.dir, stack.stateDir);
  const status = expectSilentTokenFor(ADELE.upn);
  expect(status.sso.azure_ad_prt).toBe(true);
  expect(status.sso.session_key_tpm_held).toBe(true);
  expect(status.sso.enterprise_prt).toBe(false);
  const text = stack.bridgeStatusText();
  expect(text).toMatch(/AzureAdPrt : YES/);
  expect(text).not.toContain(ADELE.password);
});

test('federated OOBE join at the STS, sign-in through usernamemixed, then a silent token over D-Bus', async ({ page }) => {
  stack = await startStack({ flow: 'oobe' });
  await joinFederatedInOobe(page, stack, DIEGO);

  // A federated user signs in at the logon screen: the password goes to the STS, never argv.
  hostBridge(['sign-in', '--state-dir', stack.stateDir, '--ca-file', stack.caFile, '--username', DIEGO.upn,
    '--password-stdin'], `${DIEGO.password}\n`);
  broker = await startBroker(stack.dir, stack.stateDir);
  const status = expectSilentTokenFor(DIEGO.upn);
  expect(status.sso.enterprise_prt).toBe(true);
  expect(status.sso.session_key_tpm_held).toBe(true);
  expect(stack.bridgeStatusText()).toMatch(/EnterprisePrt : YES/);
});
