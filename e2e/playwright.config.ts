// Playwright configuration: Debian's Chromium (never a downloaded browser), one worker per
// core-poor machine, each test starting its own emulator + bridge stack (see tests/support).
// Chromium runs with the run's private HOME, whose NSS database trusts the CA of each running
// emulator (its AD FS is HTTPS only): see tests/support/chromium-trust.ts.
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: './tests',
  // The screenshot generator is a tool, not a test: it runs only from e2e/scripts/screenshots.sh.
  testIgnore: process.env.CXH_SCREENSHOTS ? [] : ['**/screenshots.spec.ts'],
  timeout: 120_000,
  expect: { timeout: 20_000 },
  workers: 1,
  retries: 0,
  reporter: [['list']],
  outputDir: './test-results',
  globalSetup: './tests/support/chromium-trust.ts',
  use: {
    viewport: { width: 1280, height: 800 },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      // Set by the global setup before the workers start (unset only while the runner itself
      // reads this file, and it launches no browser).
      env: { ...process.env, HOME: process.env.CXH_CHROMIUM_HOME ?? '/nonexistent' },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
        '--disable-quic',
      ],
    },
  },
});
