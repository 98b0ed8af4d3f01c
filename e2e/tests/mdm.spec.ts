/**
 * MDM terms of use and enrollment (seed 000 steps 3 and 5), end to end: a user in Contoso's
 * MDM scope sees the MDM's terms, accepts, and the bridge enrolls the device after
 * registration; a tenant without MDM and a user out of scope skip both; an error redirect from
 * the terms page or an unsolicited terms answer ends the join with no registration; a forged
 * OpaqueBlob is refused by the MDM (the device is joined but not managed).
 */
import { test, expect, Page } from '@playwright/test';
import { startStack, Stack } from './support/stack';

const NESTOR = { upn: 'nestor.wilke@contoso.com', password: 'Nestor-Pass-9' }; // in MDM scope
const ADELE = { upn: 'adele.vance@contoso.com', password: 'Correct-Horse-42' }; // out of scope
const ALEX = { upn: 'alex.wilber@northwindtraders.com', password: 'Alex-Pass-3' }; // no MDM

const REGISTRATION = ['discovering', 'creating_keys', 'building_request', 'registering', 'installing_certificate', 'saving_join_info'];
const MDM = ['mdm_discovering', 'mdm_enrolling', 'mdm_installing_policy'];
const framesOf = (phases: string[]) => phases.flatMap((phase) => [
  { phase, state: 'started' },
  { phase, state: 'completed' },
]);

let stack: Stack;
test.beforeEach(async () => {
  stack = await startStack();
});
test.afterEach(async () => {
  await stack.stop();
});

function recordFrames(page: Page) {
  const frames: { phase: string; state: string }[] = [];
  page.on('websocket', (ws) =>
    ws.on('framereceived', (f) => {
      const msg = JSON.parse(String(f.payload));
      if (msg.type === 'progress') frames.push({ phase: msg.phase, state: msg.state });
    }),
  );
  return frames;
}

async function signIn(page: Page, user: { upn: string; password: string }) {
  await page.goto(stack.launchUrl);
  await page.getByTestId('btn-work').click();
  await page.getByTestId('btn-join-entra').click();
  await expect(page.getByTestId('page-sign-in')).toBeVisible();
  await page.getByTestId('input-upn').fill(user.upn);
  await page.getByTestId('btn-next').click();
  await page.getByTestId('input-password').fill(user.password);
  await page.getByTestId('btn-signin').click();
}

test('a user in MDM scope accepts the terms and the device is joined and enrolled', async ({ page }) => {
  const frames = recordFrames(page);
  await signIn(page, NESTOR);

  // The MDM's own terms page, on the MDM origin, for a corporate device: Accept, no Decline.
  await expect(page.getByTestId('tou-text')).toBeVisible();
  expect(new URL(page.url()).origin).toBe(stack.mdmUrl);
  await expect(page.getByTestId('tou-decline')).toHaveCount(0);
  await page.getByTestId('tou-accept').click();

  await expect(page.getByTestId('page-done')).toBeVisible({ timeout: 90_000 });
  expect(frames).toEqual(framesOf([...REGISTRATION, ...MDM]));
  const deviceId = (await page.getByTestId('done-device-id').innerText()).trim();

  const device = await stack.device(deviceId);
  expect(device!.MdmEnrolled).toBe(true);
  expect(String(device!.MdmEnrollmentId)).toMatch(/^[0-9a-f-]{36}$/);

  const status = stack.bridgeStatus() as { mdm: { enrolled: boolean; enrollment_url: string; policies: [string, string][] } };
  expect(status.mdm.enrolled).toBe(true);
  expect(status.mdm.enrollment_url).toBe(`${stack.mdmUrl}/EnrollmentServer/Discovery.svc`);
  expect(status.mdm.policies).toContainEqual(['Policy/Config/Authentication/EnableWebSignIn', '1']);
  const text = stack.bridgeStatusText();
  expect(text).toContain(`MdmTouUrl : ${stack.mdmUrl}/TermsOfUse`);
  expect(text).toMatch(/MdmEnrolled : YES/);
});

test('a tenant without MDM joins with no terms and no enrollment', async ({ page }) => {
  const frames = recordFrames(page);
  await signIn(page, ALEX);
  await expect(page.getByTestId('page-done')).toBeVisible({ timeout: 60_000 });
  expect(frames).toEqual(framesOf(REGISTRATION));
  const deviceId = (await page.getByTestId('done-device-id').innerText()).trim();
  expect((await stack.device(deviceId))!.MdmEnrolled).toBe(false);
  const status = stack.bridgeStatus() as { tenant: { mdm_url: string }; mdm?: unknown };
  expect(status.tenant.mdm_url).toBe('');
  expect(status.mdm).toBeUndefined();
});

test('a user out of the MDM scope gets no MDM claims, no terms and no enrollment', async ({ page }) => {
  const frames = recordFrames(page);
  let sawTerms = false;
  page.on('request', (r) => { if (r.url().startsWith(stack.mdmUrl)) sawTerms = true; });
  await signIn(page, ADELE);
  await expect(page.getByTestId('page-done')).toBeVisible({ timeout: 60_000 });
  expect(sawTerms).toBe(false);
  expect(frames).toEqual(framesOf(REGISTRATION));
  const deviceId = (await page.getByTestId('done-device-id').innerText()).trim();
  expect((await stack.device(deviceId))!.MdmEnrolled).toBe(false);
  const status = stack.bridgeStatus() as { tenant: { mdm_url: string; mdm_tou_url: string } };
  expect(status.tenant.mdm_url).toBe('');
  expect(status.tenant.mdm_tou_url).toBe('');
});

test('an error redirect from the terms page ends the join with no registration', async ({ page }) => {
  // A bearer the MDM cannot validate: its terms page answers error=access_denied.
  await page.route(`${stack.mdmUrl}/TermsOfUse`, async (route) => {
    const body = new URLSearchParams(route.request().postData() ?? '');
    body.set('access_token', 'not.a.token');
    await route.continue({ postData: body.toString() });
  });
  await signIn(page, NESTOR);
  await expect(page.getByTestId('page-error')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('error-message')).toContainText(/terms of use/i);
  await expect(page.getByTestId('error-message')).toContainText(/not a well-formed JWT|access/i);
  expect(await stack.devices()).toHaveLength(0);
});

test('a terms answer nobody asked for is refused and nothing is registered', async ({ page }) => {
  await page.goto(stack.launchUrl);
  await expect(page.getByTestId('page-ownership')).toBeVisible();
  await page.goto(`${stack.authority}/WebApp/CloudDomainJoin/4?IsAccepted=true&OpaqueBlob=forged`);
  await expect(page.getByTestId('page-error')).toBeVisible();
  await expect(page.getByTestId('error-message')).toContainText(/doesn.t belong to a setup/i);
  expect(await stack.devices()).toHaveLength(0);
});

test('a forged OpaqueBlob is refused by the MDM: joined, not managed', async ({ page }) => {
  // Skip the real Accept and come back with a blob the MDM never issued.
  await page.route(`${stack.mdmUrl}/TermsOfUse/decision`, (route) =>
    route.fulfill({
      status: 302,
      headers: { location: `${stack.authority}/WebApp/CloudDomainJoin/4?IsAccepted=true&OpaqueBlob=forged-blob` },
    }),
  );
  await signIn(page, NESTOR);
  await page.getByTestId('tou-accept').click();
  await expect(page.getByTestId('page-error')).toBeVisible({ timeout: 90_000 });
  await expect(page.getByTestId('error-message')).toContainText(/the device is joined, but/i);
  await expect(page.getByTestId('error-message')).toContainText(/OpaqueBlob/);
  const devices = await stack.devices();
  expect(devices).toHaveLength(1);
  expect(devices[0].MdmEnrolled).toBe(false);
  const status = stack.bridgeStatus() as { azure_ad_joined: boolean; mdm: { enrolled: boolean } };
  expect(status.azure_ad_joined).toBe(true);
  expect(status.mdm.enrolled).toBe(false);
});
