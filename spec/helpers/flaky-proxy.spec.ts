import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type FlakyProxy, startFlakyProxy } from './flaky-proxy.js';
import { seededRandom } from './seeded-random.js';

/** The proxy's faults do what their names say to a real server behind it: applied or not, answered or not. */

const STALL_MS = 600;

let applied: Array<{ at: number; body: string }>;
let server: http.Server;
let proxy: FlakyProxy;

test.before.each(async () => {
  applied = [];
  server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      applied.push({ at: Date.now(), body: Buffer.concat(chunks).toString() });
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end(`applied ${applied.length}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy = await startFlakyProxy(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { stallMs: STALL_MS });
});
test.after.each(async () => {
  await proxy.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const post = (body: string, timeoutMs = 5_000) =>
  fetch(`${proxy.url}/count`, { method: 'POST', body, signal: AbortSignal.timeout(timeoutMs) });
const settled = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('a request without a fault is forwarded with its body, and its answer relayed', async () => {
  const answer = await post('one');
  assert.is(await answer.text(), 'applied 1');
  assert.equal(
    applied.map((entry) => entry.body),
    ['one'],
  );
  assert.equal(proxy.injected, []);
});

test('an error status or a reset never reaches the server', async () => {
  proxy.fail('status-500', 1);
  proxy.fail('reset', 1);
  assert.is((await post('a')).status, 500);
  await post('b').then(
    () => assert.unreachable('a reset connection gives no answer'),
    (error: unknown) => assert.instance(error, TypeError),
  );
  assert.equal(applied, []);
  assert.equal(
    proxy.injected.map((entry) => entry.fault),
    ['status-500', 'reset'],
  );
});

test('reset-after-apply: the server applies the request once, and the client gets no answer', async () => {
  proxy.fail('reset-after-apply', 1);
  await post('lost answer').then(
    () => assert.unreachable('the answer is lost'),
    (error: unknown) => assert.instance(error, TypeError),
  );
  assert.equal(
    applied.map((entry) => entry.body),
    ['lost answer'],
  );
  assert.is(await (await post('next')).text(), 'applied 2');
});

test('stall: a client whose timeout is shorter gives up, and the server still applies the request, late', async () => {
  proxy.fail('stall', 1);
  const sent = Date.now();
  await post('slow', STALL_MS / 3).then(
    () => assert.unreachable('the client timed out first'),
    (error: unknown) => assert.is((error as Error).name, 'TimeoutError'),
  );
  assert.equal(applied, []);
  await settled(STALL_MS + 300);
  assert.equal(
    applied.map((entry) => entry.body),
    ['slow'],
  );
  assert.ok((applied[0]?.at ?? 0) - sent >= STALL_MS - 20, 'forwarded only after the stall');
});

test('stall: a client that waits gets the answer after the stall', async () => {
  proxy.fail('stall', 1);
  const sent = Date.now();
  assert.is(await (await post('patient')).text(), 'applied 1');
  assert.ok(Date.now() - sent >= STALL_MS - 20);
});

test('chaos: each matching request faulted with the given rate, the kind from the list; rate 0 stops it', async () => {
  proxy.chaos(1, ['status-503'], Math.random, (method, path) => method === 'POST' && path === '/count');
  assert.is((await post('x')).status, 503);
  assert.is((await fetch(`${proxy.url}/other`, { method: 'POST', body: 'y' })).status, 200);
  proxy.chaos(0, ['status-503']);
  assert.is((await post('z')).status, 200);
  assert.equal(
    applied.map((entry) => entry.body),
    ['y', 'z'],
  );
  assert.equal(
    proxy.injected.map((entry) => `${entry.fault} ${entry.request}`),
    ['status-503 POST /count'],
  );
});

test('chaos with a seeded random repeats the same faults', async () => {
  const run = async () => {
    proxy.chaos(0.5, ['status-500', 'status-503'], seededRandom(7));
    const statuses: number[] = [];
    for (let i = 0; i < 12; i += 1) statuses.push((await post(String(i))).status);
    return statuses;
  };
  const first = await run();
  assert.equal(await run(), first);
  assert.ok(first.some((status) => status === 200) && first.some((status) => status !== 200), first.join(','));
});

test.run();
