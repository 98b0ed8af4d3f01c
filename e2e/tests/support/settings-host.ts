/**
 * A tiny HTTP server for the Settings host fixture (fixtures/settings-host.html), on its own
 * loopback port, so the embedding page has an origin other than the app's (the authority).
 */
import { join } from 'node:path';
import { startFixtureServer } from './fixture-server';

export interface SettingsHost {
  origin: string;
  /** URL of the host page embedding `launchUrl`, which must post as `appOrigin`. */
  pageUrl(launchUrl: string, appOrigin: string): string;
  stop(): Promise<void>;
}

export async function startSettingsHost(): Promise<SettingsHost> {
  const page = join(__dirname, '..', '..', 'fixtures', 'settings-host.html');
  const server = await startFixtureServer({ '/settings': [page, 'text/html; charset=utf-8'] });
  const origin = `http://127.0.0.1:${server.port}`;
  return {
    origin,
    pageUrl: (launchUrl, appOrigin) =>
      `${origin}/settings?app=${encodeURIComponent(appOrigin)}&src=${encodeURIComponent(launchUrl)}`,
    stop: () => server.stop(),
  };
}
