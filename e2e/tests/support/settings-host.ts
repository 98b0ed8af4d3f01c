/**
 * A tiny HTTP server for the Settings host fixture (fixtures/settings-host.html), on its own
 * loopback port, so the embedding page has an origin other than the app's (the authority).
 */
import { createServer, Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SettingsHost {
  origin: string;
  /** URL of the host page embedding `launchUrl`, which must post as `appOrigin`. */
  pageUrl(launchUrl: string, appOrigin: string): string;
  stop(): Promise<void>;
}

export async function startSettingsHost(): Promise<SettingsHost> {
  const html = readFileSync(join(__dirname, '..', '..', 'fixtures', 'settings-host.html'));
  const server: Server = createServer((req, res) => {
    if ((req.url ?? '').split('?')[0] !== '/settings') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    pageUrl: (launchUrl, appOrigin) =>
      `${origin}/settings?app=${encodeURIComponent(appOrigin)}&src=${encodeURIComponent(launchUrl)}`,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
