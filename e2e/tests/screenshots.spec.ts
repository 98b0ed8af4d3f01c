/**
 * Screenshots of every page in both themes (dark OOBE, light Settings) at 1280x800, written to
 * e2e/screenshots/ by e2e/scripts/screenshots.sh. Left out of the test run (playwright.config.ts) unless CXH_SCREENSHOTS=1, so the
 * normal run does not rewrite the committed images.
 */
import { test, expect, Page, Locator } from '@playwright/test';
import { join } from 'node:path';
import { startStack, Stack, ROOT } from './support/stack';
import { ADELE } from './support/flow';


const OUT = join(ROOT, 'e2e', 'screenshots');
let stack: Stack | undefined;
test.afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

async function shot(page: Page, name: string, ready: Locator) {
  await expect(ready).toBeVisible({ timeout: 60_000 });
  await page.mouse.move(0, 0);
  await page.screenshot({ path: join(OUT, `${name}.png`) });
}

for (const flow of ['oobe', 'settings'] as const) {
  const theme = flow === 'oobe' ? 'dark' : 'light';
  test(`every page, ${theme} theme`, async ({ page }) => {
    stack = await startStack({ flow, edition: 'professional' });
    await page.goto(stack.launchUrl);
    if (flow === 'oobe') {
      await shot(page, `${theme}-ownership`, page.getByTestId('page-ownership'));
      await page.getByTestId('btn-personal').click();
      await shot(page, `${theme}-local-account`, page.getByTestId('page-local-account'));
      await page.getByTestId('btn-back').click();
      await page.getByTestId('btn-work').click();
      await shot(page, `${theme}-join-options`, page.getByTestId('page-join-options'));
      await page.getByTestId('btn-join-entra').click();
    }
    await shot(page, `${theme}-sign-in`, page.getByTestId('page-sign-in'));
    await page.getByTestId('input-upn').fill(ADELE.upn);
    await page.getByTestId('btn-next').click();
    await page.getByTestId('input-password').fill(ADELE.password);
    await page.getByTestId('btn-signin').click();
    await shot(page, `${theme}-done`, page.getByTestId('page-done'));
    await page.goto(`${stack.authority}/WebApp/CloudDomainJoin/4?error=access_denied&error_description=AADSTS50105`);
    await shot(page, `${theme}-error`, page.getByTestId('page-error'));
  });
}
