/**
 * Languages: the bridge's `--language` (HostContext.language) or else the browser's language
 * picks the UI language; ar-SA renders right to left (`dir="rtl"`, the actions row mirrored);
 * no page of the de-DE and ar-SA runs shows an en-US UI string.
 */
import { test, expect, Page } from '@playwright/test';
import { startStack, Stack } from './support/stack';
import { englishLines, signInAndJoin } from './support/flow';

let stack: Stack | undefined;
test.afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

async function noEnglish(page: Page, where: string) {
  expect(await englishLines(page), `English UI text on ${where}`).toEqual([]);
}

for (const language of ['de-DE', 'ar-SA']) {
  test(`${language}: every page is translated`, async ({ page }) => {
    stack = await startStack({ edition: 'professional', language });
    await page.goto(stack.launchUrl);
    await expect(page.getByTestId('page-ownership')).toBeVisible();
    await expect(page.locator('html')).toHaveAttribute('lang', language);
    await noEnglish(page, 'ownership');
    await page.getByTestId('btn-personal').click();
    await noEnglish(page, 'local account');
    await page.getByTestId('btn-back').click();
    await page.getByTestId('btn-work').click();
    await noEnglish(page, 'join options');
    await page.getByTestId('btn-domain-join').click();
    await noEnglish(page, 'domain join');
    await page.getByTestId('btn-back').click();
    await page.getByTestId('btn-join-entra').click();
    await expect(page.getByTestId('page-sign-in')).toBeVisible();
    await noEnglish(page, 'sign-in');
    await page.getByTestId('input-upn').fill('someone@fabrikam.example');
    await page.getByTestId('btn-next').click();
    await expect(page.getByTestId('error-message')).toBeVisible();
    await noEnglish(page, 'sign-in with an unknown account');
    await signInAndJoin(page);
    await noEnglish(page, 'done');
    expect(await page.title()).not.toBe('Set up your device');
  });
}

test('ar-SA renders right to left, with the actions row mirrored', async ({ page }) => {
  stack = await startStack({ edition: 'professional', language: 'ar-SA' });
  await page.goto(stack.launchUrl);
  await page.getByTestId('btn-work').click();
  await expect(page.getByTestId('page-join-options')).toBeVisible();
  await expect(page.locator('html')).toHaveAttribute('dir', 'rtl');
  await expect(page.getByTestId('page-join-options')).toHaveText('كيف تريد توصيل هذا الجهاز؟');
  // Back sits at the start of the row: on the right in a right-to-left page.
  const back = await page.getByTestId('btn-back').boundingBox();
  const frame = await page.locator('.frame').boundingBox();
  expect(back!.x + back!.width / 2).toBeGreaterThan(frame!.x + frame!.width / 2);
  const direction = await page.getByTestId('btn-join-entra').evaluate((el) => getComputedStyle(el).direction);
  expect(direction).toBe('rtl');
});

test.describe('without a host language', () => {
  test.use({ locale: 'de-DE' });
  test('the browser language decides', async ({ page }) => {
    stack = await startStack({ edition: 'enterprise' });
    await page.goto(stack.launchUrl);
    await expect(page.getByTestId('page-join-options')).toHaveText('Wie möchten Sie dieses Gerät verbinden?');
    await expect(page.locator('html')).toHaveAttribute('lang', 'de-DE');
    await expect(page.locator('html')).toHaveAttribute('dir', 'ltr');
  });
});

test('en-US stays the default', async ({ page }) => {
  stack = await startStack({ edition: 'enterprise' });
  await page.goto(stack.launchUrl);
  await expect(page.getByTestId('page-join-options')).toHaveText('How do you want to connect this device?');
  await expect(page.locator('html')).toHaveAttribute('lang', 'en-US');
  // The detector the translated runs rely on does see English when it is there.
  expect((await englishLines(page)).length).toBeGreaterThanOrEqual(5);
});
