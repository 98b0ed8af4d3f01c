/**
 * Serves the sample relying-party app (e2e/fixtures/sample-spa) and msal-browser's scripts
 * from node_modules on http://localhost:5173, the origin its SPA redirect URIs name in the
 * tenant file (a loopback http origin is a secure context, as MSAL.js needs).
 */
import { join } from 'node:path';
import { ROOT } from './stack';
import { FixtureFiles, startFixtureServer } from './fixture-server';

export const SAMPLE_SPA_PORT = 5173;
export const SAMPLE_SPA_ORIGIN = `http://localhost:${SAMPLE_SPA_PORT}`;

const FIXTURE = join(ROOT, 'e2e', 'fixtures', 'sample-spa');
const MSAL = join(ROOT, 'e2e', 'node_modules', '@azure', 'msal-browser', 'lib');
const FILES: FixtureFiles = {
  '/': [join(FIXTURE, 'index.html'), 'text/html; charset=utf-8'],
  '/index.html': [join(FIXTURE, 'index.html'), 'text/html; charset=utf-8'],
  '/redirect.html': [join(FIXTURE, 'redirect.html'), 'text/html; charset=utf-8'],
  '/app.js': [join(FIXTURE, 'app.js'), 'text/javascript; charset=utf-8'],
  '/msal-browser.min.js': [join(MSAL, 'msal-browser.min.js'), 'text/javascript; charset=utf-8'],
  '/msal-redirect-bridge.min.js': [join(MSAL, 'redirect-bridge', 'msal-redirect-bridge.min.js'), 'text/javascript; charset=utf-8'],
};

export interface SampleSpa {
  /** The app's page for `app`, signing in at `authority` (`https://<host>/<tenant>`). */
  url(app: 'timesheet' | 'payroll', authority: string): string;
  stop(): Promise<void>;
}

/** Start the sample app's server (on 127.0.0.1 and, where the host has it, ::1). */
export async function startSampleSpa(): Promise<SampleSpa> {
  const server = await startFixtureServer(FILES, { port: SAMPLE_SPA_PORT, alsoIpv6: true }).catch((e) => {
    throw new Error(`the sample app needs port ${SAMPLE_SPA_PORT} (its redirect URI in e2e/tenants/contoso.toml): ${e.message}`);
  });
  return {
    url: (app, authority) => `${SAMPLE_SPA_ORIGIN}/?${new URLSearchParams({ app, authority })}`,
    stop: () => server.stop(),
  };
}
