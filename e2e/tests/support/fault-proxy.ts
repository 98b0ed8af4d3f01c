/**
 * A fault injector between the host bridge and the emulator's DRS, so the UI suites can show
 * what a user sees when the registration service is down or the network drops mid-join, and
 * that Try again succeeds once the fault is gone. The bridge is started with `--drs <proxy>`;
 * the proxy forwards to the emulator and rewrites the emulator's origin in the discovery
 * document to its own, so the registration POST comes through it as well. The emulator itself
 * is unchanged.
 */
import { createServer, request, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/** `down`: every request answers 503 (a DRS front end without its service);
 * `drop-registration`: the registration POST's connection is reset (network lost mid-join). */
export type Fault = 'none' | 'down' | 'drop-registration';

export interface FaultProxy {
  url: string;
  fault: Fault;
  /** `METHOD path` of every request that reached the proxy. */
  requests: string[];
  stop(): Promise<void>;
}

async function body(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const proxy: FaultProxy = { url: '', fault: 'none', requests: [], stop: async () => {} };
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    proxy.requests.push(`${req.method} ${path}`);
    const sent = await body(req);
    if (proxy.fault === 'down') {
      res.writeHead(503, { 'content-type': 'text/html' });
      res.end('<html><body><h1>Service Unavailable</h1></body></html>');
      return;
    }
    if (proxy.fault === 'drop-registration' && req.method === 'POST' && /\/EnrollmentServer\/device/i.test(path)) {
      req.socket.destroy();
      return;
    }
    const headers = { ...req.headers, host: upstream.host };
    const forward = request(
      { hostname: upstream.hostname, port: upstream.port, path, method: req.method, headers },
      async (answer) => {
        let received = await body(answer);
        const type = String(answer.headers['content-type'] ?? '');
        if (type.includes('json') || type.includes('xml')) {
          received = Buffer.from(received.toString('utf8').split(upstream.origin).join(proxy.url));
        }
        const out = { ...answer.headers, 'content-length': String(received.length) };
        delete out['transfer-encoding'];
        res.writeHead(answer.statusCode ?? 502, out);
        res.end(received);
      },
    );
    forward.on('error', () => res.destroy());
    forward.end(sent);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.stop = () => new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
  return proxy;
}
