/**
 * Federated sign-in through the emulated on-premises STS (AD FS, WS-Federation passive, signed
 * SAML 1.1 assertion posted to the authority's /login.srf) and multi-factor authentication
 * (TOTP at the authority for a managed user, at the STS for a federated one), end to end in
 * Chromium, plus the ways they must fail: wrong STS password, wrong codes, a tampered, expired
 * or mis-contexted token. Every failure must leave no device object behind.
 */
import { test, expect, Page } from '@playwright/test';
import { startStack, Stack } from './support/stack';
import { totp, wrongCode } from './support/totp';

const DIEGO = { upn: 'diego.siciliani@fabrikam-corp.com', password: 'Diego-Fed-11' };
const ISAIAH = {
  upn: 'isaiah.langer@fabrikam-corp.com',
  password: 'Isaiah-Fed-23',
  totp: 'KRSXG5CTMVRXEZLUKRSXG5CT',
};
const LEE = { upn: 'lee.gu@contoso.com', password: 'Lee-Secure-9', totp: 'JBSWY3DPEHPK3PXPJBSWY3DP' };

let stack: Stack;
test.beforeEach(async () => {
  stack = await startStack();
});
test.afterEach(async () => {
  await stack.stop();
});

async function goToSignIn(page: Page) {
  await page.goto(stack.launchUrl);
  await page.getByTestId('btn-work').click();
  await page.getByTestId('btn-join-entra').click();
  await expect(page.getByTestId('page-sign-in')).toBeVisible();
}

/** Type a federated name, see the brand, press Next, land on the STS with the name prefilled. */
async function goToSts(page: Page, upn: string) {
  await goToSignIn(page);
  await page.getByTestId('input-upn').fill(upn);
  await expect(page.getByTestId('realm-federated')).toContainText(
    "Taking you to your organization's sign-in page — Fabrikam Corp",
  );
  await page.getByTestId('btn-next').click();
  await expect(page.getByTestId('adfs-password')).toBeVisible();
  const url = new URL(page.url());
  expect(url.origin).toBe(stack.stsUrls.fabrikam);
  // Served over HTTPS, with a certificate Chromium verified against the emulator's CA.
  expect(url.protocol).toBe('https:');
  expect(url.origin).not.toBe(new URL(stack.authority).origin);
  expect(url.pathname).toBe('/adfs/ls/');
  expect(url.searchParams.get('wa')).toBe('wsignin1.0');
  expect(url.searchParams.get('wtrealm')).toBe('urn:federation:MicrosoftOnline');
  const wctx = new URLSearchParams(url.searchParams.get('wctx') ?? '');
  expect(wctx.get('estsrequest')).toBeTruthy();
  expect(wctx.get('state')).toBeTruthy();
  await expect(page.getByTestId('adfs-brand')).toHaveText('Fabrikam Corp');
  await expect(page.getByTestId('adfs-username')).toHaveValue(upn);
}

async function expectJoinedAs(page: Page, upn: string) {
  await expect(page.getByTestId('page-done')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('done-user')).toHaveText(upn);
  const deviceId = (await page.getByTestId('done-device-id').innerText()).trim();
  const device = await stack.device(deviceId);
  expect(device).not.toBeNull();
  expect(device!.RegisteredOwners).toContain(upn);
}

/** The id_token's amr, read from the redirect the authority sends back to the app. */
function captureAmr(page: Page): () => string[] | null {
  let amr: string[] | null = null;
  page.on('framenavigated', (frame) => {
    const hash = new URL(frame.url()).hash;
    const token = new URLSearchParams(hash.slice(1)).get('id_token');
    if (token) amr = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).amr;
  });
  return () => amr;
}

/** Sign in at the STS but stop the auto-posted token; return the fields it would have posted. */
async function captureStsPost(page: Page, upn: string, password: string): Promise<URLSearchParams> {
  let posted: string | null = null;
  await page.route('**/login.srf', async (route) => {
    posted = route.request().postData();
    await route.abort();
  });
  await goToSts(page, upn);
  await page.getByTestId('adfs-password').fill(password);
  await page.getByTestId('adfs-submit').click();
  await expect.poll(() => posted).not.toBeNull();
  await page.unroute('**/login.srf');
  return new URLSearchParams(posted!);
}

/** Post WS-Federation fields to the authority from the browser, as the STS page would. */
async function postToAuthority(page: Page, fields: URLSearchParams) {
  const action = `${stack.authority}/login.srf`;
  await page.evaluate(
    ({ action, entries }) => {
      const form = document.createElement('form');
      form.method = 'post';
      form.action = action;
      for (const [name, value] of entries) {
        const input = document.createElement('input');
        input.type = 'hidden';
        input.name = name;
        input.value = value;
        form.appendChild(input);
      }
      document.body.appendChild(form);
      form.submit();
    },
    { action, entries: [...fields.entries()] },
  );
}

async function expectRefusedWithWayBack(page: Page, reason: RegExp) {
  await expect(page.getByTestId('error-message')).toContainText(reason);
  await expect(page.getByTestId('btn-start-over')).toBeVisible();
  expect(await stack.devices()).toHaveLength(0);
  await page.getByTestId('btn-start-over').click();
  await expect(page.getByTestId('page-join-options')).toBeVisible();
}

test('a federated user signs in at the STS and the device joins', async ({ page }) => {
  const amr = captureAmr(page);
  await goToSts(page, DIEGO.upn);
  await page.getByTestId('adfs-password').fill(DIEGO.password);
  await page.getByTestId('adfs-submit').click();
  await expectJoinedAs(page, DIEGO.upn);
  expect(amr()).toEqual(['pwd', 'fed']);
});

test('a managed user with MFA proves a code after a wrong one, and joins', async ({ page }) => {
  const amr = captureAmr(page);
  await goToSignIn(page);
  await page.getByTestId('input-upn').fill(LEE.upn);
  await page.getByTestId('btn-next').click();
  await page.getByTestId('input-password').fill(LEE.password);
  await page.getByTestId('btn-signin').click();
  await expect(page.getByTestId('page-mfa')).toBeVisible();

  await page.getByTestId('input-otp').fill(wrongCode(LEE.totp));
  await page.getByTestId('btn-verify').click();
  await expect(page.getByTestId('error-message')).toContainText('AADSTS500121');
  expect(await stack.devices()).toHaveLength(0);

  await page.getByTestId('input-otp').fill(totp(LEE.totp));
  await page.getByTestId('btn-verify').click();
  await expectJoinedAs(page, LEE.upn);
  expect(amr()).toEqual(['pwd', 'mfa']);
});

test('a federated user proves a second factor at the STS, and joins', async ({ page }) => {
  const amr = captureAmr(page);
  await goToSts(page, ISAIAH.upn);
  await page.getByTestId('adfs-password').fill(ISAIAH.password);
  await page.getByTestId('adfs-submit').click();
  await page.getByTestId('adfs-otp').fill(wrongCode(ISAIAH.totp));
  await page.getByTestId('adfs-verify').click();
  await expect(page.getByTestId('adfs-error')).toContainText('not correct');
  await page.getByTestId('adfs-otp').fill(totp(ISAIAH.totp));
  await page.getByTestId('adfs-verify').click();
  await expectJoinedAs(page, ISAIAH.upn);
  expect(amr()).toEqual(['pwd', 'mfa', 'fed']);
});

test('a wrong STS password is refused at the STS, which lets the user retry', async ({ page }) => {
  await goToSts(page, DIEGO.upn);
  await page.getByTestId('adfs-password').fill('not-the-password');
  await page.getByTestId('adfs-submit').click();
  await expect(page.getByTestId('adfs-error')).toContainText('Incorrect user ID or password');
  expect(await stack.devices()).toHaveLength(0);
  await expect(page.getByTestId('adfs-username')).toHaveValue(DIEGO.upn);
  await page.getByTestId('adfs-password').fill(DIEGO.password);
  await page.getByTestId('adfs-submit').click();
  await expectJoinedAs(page, DIEGO.upn);
});

test('five wrong codes lock the second factor and end the sign-in', async ({ page }) => {
  await goToSignIn(page);
  await page.getByTestId('input-upn').fill(LEE.upn);
  await page.getByTestId('btn-next').click();
  await page.getByTestId('input-password').fill(LEE.password);
  await page.getByTestId('btn-signin').click();
  for (let attempt = 1; attempt < 5; attempt++) {
    await page.getByTestId('input-otp').fill(wrongCode(LEE.totp));
    await page.getByTestId('btn-verify').click();
    await expect(page.getByTestId('error-message')).toContainText(`${5 - attempt} tries left`);
  }
  await page.getByTestId('input-otp').fill(wrongCode(LEE.totp));
  await page.getByTestId('btn-verify').click();
  await expectRefusedWithWayBack(page, /AADSTS50053/);
});

test('a tampered SAML assertion is refused', async ({ page }) => {
  const fields = await captureStsPost(page, DIEGO.upn, DIEGO.password);
  const wresult = fields.get('wresult')!;
  expect(wresult).toContain('<saml:AttributeValue>diego.siciliani@fabrikam-corp.com</saml:AttributeValue>');
  fields.set(
    'wresult',
    wresult.replace(
      '<saml:AttributeValue>diego.siciliani@fabrikam-corp.com</saml:AttributeValue>',
      '<saml:AttributeValue>isaiah.langer@fabrikam-corp.com</saml:AttributeValue>',
    ),
  );
  await postToAuthority(page, fields);
  await expectRefusedWithWayBack(page, /AADSTS50008/);
});

test('an expired SAML assertion is refused', async ({ page }) => {
  const fields = await captureStsPost(page, DIEGO.upn, DIEGO.password);
  const res = await fetch(`${stack.authority}/_emulator/sts/fabrikam/wresult`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ upn: DIEGO.upn, issued_secs_ago: 7200, lifetime_secs: 3600 }),
  });
  expect(res.ok).toBe(true);
  fields.set('wresult', await res.text());
  await postToAuthority(page, fields);
  await expectRefusedWithWayBack(page, /AADSTS50013.*expired/);
});

test('a wctx that does not match the sign-in request is refused', async ({ page }) => {
  const fields = await captureStsPost(page, DIEGO.upn, DIEGO.password);
  const wctx = new URLSearchParams(fields.get('wctx')!);
  wctx.set('state', 'not-the-state');
  fields.set('wctx', wctx.toString());
  await postToAuthority(page, fields);
  await expectRefusedWithWayBack(page, /AADSTS90100/);
});
