/**
 * The managed join, end to end: OOBE on Windows Professional, a password user of a managed
 * tenant, through the real sign-in round trip (authorize -> sign-in page -> login -> id_token),
 * the bridge's dsreg phases, and then checks outside the browser that the emulator holds the
 * device object and that the bridge's status shows the same device id and thumbprint.
 */
import { test, expect, Page } from '@playwright/test';
import { startStack, Stack } from './support/stack';

const ADELE = { upn: 'adele.vance@contoso.com', password: 'Correct-Horse-42' };

let stack: Stack;
test.beforeEach(async () => {
  stack = await startStack();
});
test.afterEach(async () => {
  await stack.stop();
});

async function goToSignIn(page: Page) {
  await page.goto(stack.launchUrl);
  await expect(page.getByTestId('page-ownership')).toBeVisible();
  await page.getByTestId('btn-work').click();
  await expect(page.getByTestId('page-join-options')).toBeVisible();
  await page.getByTestId('btn-join-entra').click();
  await expect(page.getByTestId('page-sign-in')).toBeVisible();
  // The sign-in page is reached through the authority's authorize endpoint.
  expect(new URL(page.url()).searchParams.get('sCtx')).toBeTruthy();
}

async function enterUpn(page: Page, upn: string) {
  await page.getByTestId('input-upn').fill(upn);
  await page.getByTestId('btn-next').click();
}

test('a managed user joins the device and both sides agree on the result', async ({ page }) => {
  await goToSignIn(page);
  await enterUpn(page, ADELE.upn);
  await page.getByTestId('input-password').fill(ADELE.password);
  await page.getByTestId('btn-signin').click();

  await expect(page.getByTestId('page-done')).toBeVisible({ timeout: 60_000 });
  const deviceId = (await page.getByTestId('done-device-id').innerText()).trim();
  expect(deviceId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  await expect(page.getByTestId('done-tenant')).toContainText('Contoso');
  await expect(page.getByTestId('done-device-name')).toContainText('DESKTOP-E2E01');

  // Outside the browser: the emulator's directory holds the device object...
  const device = await stack.device(deviceId);
  expect(device).not.toBeNull();
  expect(device!.DeviceTrustType).toBe('Azure AD Joined');
  expect(device!.DisplayName).toBe('DESKTOP-E2E01');
  expect(device!.RegisteredOwners).toContain(ADELE.upn);
  const thumbprint = String(device!.Thumbprint);
  expect(thumbprint).toMatch(/^[0-9A-F]{40}$/);
  expect(String((device!.AlternativeSecurityIds as string[])[0])).toContain(thumbprint);
  // The transport key came with a TPM certification the emulator verified.
  expect(device!.Attested).toBe(true);

  // ...and the bridge's machine store says the same, like `dsregcmd /status`.
  const status = stack.bridgeStatus() as {
    azure_ad_joined: boolean;
    device: { device_id: string; thumbprint: string; tpm_protected: boolean; key_provider: string; device_auth_status: string };
  };
  expect(status.azure_ad_joined).toBe(true);
  expect(status.device.tpm_protected).toBe(true);
  expect(status.device.key_provider).toBe('Microsoft Platform Crypto Provider');
  expect(status.device.device_auth_status).toBe('SUCCESS');
  expect(status.device.device_id).toBe(deviceId);
  expect(status.device.thumbprint).toBe(thumbprint);
  const text = stack.bridgeStatusText();
  expect(text).toMatch(/AzureAdJoined : YES/);
  expect(text).toMatch(/TpmProtected : YES/);
  expect(text).toContain(`DeviceId : ${deviceId}`);
  expect(text).toContain(`Thumbprint : ${thumbprint}`);
});

test('the bridge reports every dsreg phase in order, and the page shows them', async ({ page }) => {
  const frames: { phase: string; state: string }[] = [];
  page.on('websocket', (ws) =>
    ws.on('framereceived', (f) => {
      const msg = JSON.parse(String(f.payload));
      if (msg.type === 'progress') frames.push({ phase: msg.phase, state: msg.state });
    }),
  );
  await goToSignIn(page);
  await enterUpn(page, ADELE.upn);
  await page.getByTestId('input-password').fill(ADELE.password);
  await page.getByTestId('btn-signin').click();
  await expect(page.getByTestId('page-progress').or(page.getByTestId('page-done'))).toBeVisible();
  await expect(page.getByTestId('page-done')).toBeVisible({ timeout: 60_000 });

  const phases = ['discovering', 'creating_keys', 'building_request', 'registering', 'installing_certificate', 'saving_join_info'];
  const expected = phases.flatMap((phase) => [
    { phase, state: 'started' },
    { phase, state: 'completed' },
  ]);
  expect(frames).toEqual(expected);
});

test('a wrong password is refused with the reason, and a retry in the same sign-in works', async ({ page }) => {
  await goToSignIn(page);
  await enterUpn(page, ADELE.upn);
  await page.getByTestId('input-password').fill('not-the-password');
  await page.getByTestId('btn-signin').click();
  await expect(page.getByTestId('error-message')).toContainText(/AADSTS50126|password/i);
  expect(await stack.devices()).toHaveLength(0);

  await expect(page.getByTestId('input-password')).toBeVisible();
  await page.getByTestId('input-password').fill(ADELE.password);
  await page.getByTestId('btn-signin').click();
  await expect(page.getByTestId('page-done')).toBeVisible({ timeout: 60_000 });
  expect(await stack.devices()).toHaveLength(1);
});

test('an unknown domain says no account was found and asks for no password', async ({ page }) => {
  await goToSignIn(page);
  await enterUpn(page, 'someone@fabrikam.example');
  await expect(page.getByTestId('error-message')).toContainText(/couldn.t find an account/i);
  await expect(page.getByTestId('input-password')).toHaveCount(0);
  expect(await stack.devices()).toHaveLength(0);
});
