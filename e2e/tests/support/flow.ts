/**
 * Steps shared by the UI suites (editions, Settings embed, accessibility, languages): the same
 * selectors work on the top-level page and inside the Settings iframe.
 */
import { expect, Page, FrameLocator } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './stack';

export const ADELE = { upn: 'adele.vance@contoso.com', password: 'Correct-Horse-42' };

/** A page or the app's iframe: both find elements by test id. */
export type Surface = Page | FrameLocator;

/** Sign in as a managed user on the sign-in page and wait for the done page. */
export async function signInAndJoin(app: Surface, user = ADELE): Promise<string> {
  await expect(app.getByTestId('page-sign-in')).toBeVisible();
  await app.getByTestId('input-upn').fill(user.upn);
  await app.getByTestId('btn-next').click();
  await app.getByTestId('input-password').fill(user.password);
  await app.getByTestId('btn-signin').click();
  await expect(app.getByTestId('page-done')).toBeVisible({ timeout: 60_000 });
  return (await app.getByTestId('done-device-id').innerText()).trim();
}

/** The en-US strings of app/src/i18n.rs (the `texts!` table), as patterns for rendered text. */
export function englishStrings(): { key: string; pattern: RegExp }[] {
  const source = readFileSync(join(ROOT, 'app', 'src', 'i18n.rs'), 'utf8');
  const found: { key: string; pattern: RegExp }[] = [];
  for (const match of source.matchAll(/^ {4}([A-Z]\w*) => "((?:[^"\\]|\\.)*)",$/gm)) {
    const text = match[2].replace(/\\'/g, "'").replace(/\\"/g, '"');
    const parts = text.split(/\{\d+\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    found.push({ key: match[1], pattern: new RegExp(`^${parts.join('.*?')}$`) });
  }
  return found;
}

/** Lines of visible text on the page that are an en-US UI string. */
export async function englishLines(page: Page): Promise<string[]> {
  const strings = englishStrings();
  const lines = (await page.locator('body').innerText())
    .split('\n').map((line) => line.trim()).filter(Boolean);
  return lines.filter((line) => strings.some(({ pattern }) => pattern.test(line)));
}
