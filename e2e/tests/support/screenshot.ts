/**
 * Screenshots for the README gallery in both themes (the light one is the Settings theme's
 * classes on the same page), written to e2e/screenshots/ only when e2e/scripts/screenshots.sh
 * asks (CXH_SCREENSHOTS); a no-op in the normal run.
 */
import { Page } from '@playwright/test';
import { join } from 'node:path';
import { ROOT } from './stack';

export async function shot(page: Page, name: string) {
  if (!process.env.CXH_SCREENSHOTS) return;
  await page.mouse.move(0, 0);
  const out = join(ROOT, 'e2e', 'screenshots');
  const original = await page.evaluate(() => document.body.className);
  for (const theme of ['dark', 'light']) {
    await page.evaluate((cls) => { document.body.className = cls; },
      theme === 'dark' ? 'theme-dark flow-oobe' : 'theme-light flow-settings');
    await page.screenshot({ path: join(out, `${theme}-${name}.png`) });
  }
  await page.evaluate((cls) => { document.body.className = cls; }, original);
}
