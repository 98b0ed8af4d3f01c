/**
 * The bridge is reachable only from the join web app: a page of another origin cannot open its
 * WebSocket, and a connection from the right origin without the per-launch secret is refused.
 */
import { test, expect } from '@playwright/test';
import { startStack, Stack } from './support/stack';
import { createServer, Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

let stack: Stack;
test.beforeEach(async () => { stack = await startStack(); });
test.afterEach(async () => { await stack.stop(); });

/** Opens the bridge socket from the page, sends one frame, and reports what happened. */
async function probe(page: import('@playwright/test').Page, wsUrl: string, frame: string) {
  return page.evaluate(
    ([url, text]) =>
      new Promise<{ opened: boolean; messages: string[]; closed: boolean }>((resolve) => {
        const result = { opened: false, messages: [] as string[], closed: false };
        const ws = new WebSocket(url);
        ws.onopen = () => { result.opened = true; ws.send(text); };
        ws.onmessage = (e) => result.messages.push(String(e.data));
        ws.onclose = () => { result.closed = true; resolve(result); };
        setTimeout(() => resolve(result), 5_000);
      }),
    [wsUrl, frame] as const,
  );
}

test('a page of another origin cannot open the bridge socket', async ({ page }) => {
  const hello = JSON.stringify({ type: 'hello', protocol: 2, secret: stack.secret });
  // Positive control: from the allowed origin the same probe opens and is welcomed, so a
  // refusal below is the origin check and not a bridge that is down or a wrong URL.
  await page.goto(`${stack.authority}/common/.well-known/openid-configuration`);
  const allowed = await probe(page, stack.wsUrl, hello);
  expect(allowed.opened).toBe(true);
  expect(JSON.parse(allowed.messages[0]).type).toBe('welcome');

  const other: Server = createServer((_, res) => res.end('<!doctype html><title>other</title>'));
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  const port = (other.address() as { port: number }).port;
  try {
    await page.goto(`http://127.0.0.1:${port}/`);
    const result = await probe(page, stack.wsUrl, hello);
    expect(result.opened).toBe(false);
    expect(result.messages).toHaveLength(0);
    // And the bridge itself says it refused this very origin.
    const bridgeLog = join(stack.dir, 'bridge.log');
    await expect
      .poll(() => readFileSync(bridgeLog, 'utf8'))
      .toMatch(new RegExp(`refused a WebSocket from an origin not in the allowlist.*127\\.0\\.0\\.1:${port}`));
  } finally {
    other.close();
  }
});

test('the right origin without the secret is refused and disconnected', async ({ page }) => {
  await page.goto(`${stack.authority}/common/.well-known/openid-configuration`);
  const wrong = await probe(page, stack.wsUrl, JSON.stringify({ type: 'hello', protocol: 2, secret: 'guess' }));
  expect(wrong.opened).toBe(true);
  expect(wrong.closed).toBe(true);
  expect(JSON.parse(wrong.messages[0]).error.kind).toBe('unauthorized');

  const skipped = await probe(page, stack.wsUrl, JSON.stringify({ type: 'start_join', id_token: 'x', nonce: 'y' }));
  expect(skipped.closed).toBe(true);
  expect(JSON.parse(skipped.messages[0]).error.kind).toBe('unauthorized');

  const right = await probe(page, stack.wsUrl, JSON.stringify({ type: 'hello', protocol: 2, secret: stack.secret }));
  expect(JSON.parse(right.messages[0]).type).toBe('welcome');
});
