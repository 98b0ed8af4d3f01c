/**
 * A tiny static server for the test fixtures that need an origin of their own (the Settings
 * host page, the sample single-page app): fixed paths to files, anything else 404, no cache.
 */
import { createServer, Server } from 'node:http';
import { readFileSync } from 'node:fs';

/** Path (without query) -> [file, content type]. */
export type FixtureFiles = Record<string, [string, string]>;

export interface FixtureServer {
  port: number;
  stop(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
}

/** Serve `files` on `port` (0: a free one) of 127.0.0.1, and of ::1 too when `alsoIpv6`
 * and the host has it. */
export async function startFixtureServer(files: FixtureFiles, { port = 0, alsoIpv6 = false } = {}): Promise<FixtureServer> {
  const handler = (req: any, res: any) => {
    const file = files[(req.url ?? '').split('?')[0]];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': file[1], 'cache-control': 'no-store' }).end(readFileSync(file[0]));
  };
  const v4 = createServer(handler);
  await listen(v4, port, '127.0.0.1');
  const bound = (v4.address() as { port: number }).port;
  const servers = [v4];
  if (alsoIpv6) {
    const v6 = createServer(handler);
    if (await listen(v6, bound, '::1').then(() => true, () => false)) servers.push(v6);
  }
  return {
    port: bound,
    stop: () => Promise.all(servers.map((s) => new Promise<void>((r) => { s.close(() => r()); s.closeAllConnections(); })))
      .then(() => undefined),
  };
}
