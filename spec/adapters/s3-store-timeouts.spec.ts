import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createS3Client, S3ObjectStore } from '../../src/adapters/s3-store.js';
import { WorkerError } from '../../src/domain/errors.js';
import { failureOf, type Stall, startStallingServer, type StallingServer } from '../helpers/stalling-server.js';
import { localAwsSettings } from '../helpers/services.js';

const FAST_RETRY = { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 };
const ANSWER_MS = 300;
/** Each try waits out the answer limit; the rest is backoff, connecting and the SDK's own work. */
const BOUND_MS = FAST_RETRY.attempts * ANSWER_MS + 1500;
const KEY = 'data_files/files/a.csv';
const OBJECT_HEADERS = { 'Content-Type': 'text/csv', ETag: '"0"' };

let scratch: string;
let server: StallingServer | undefined;

test.before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-s3-stall-'));
});
test.after(async () => {
  await rm(scratch, { recursive: true, force: true });
});
test.after.each(async () => {
  await server?.close();
  server = undefined;
});

async function storeBehind(stall: Stall, answerMs = ANSWER_MS, signal?: AbortSignal): Promise<S3ObjectStore> {
  server = await startStallingServer(stall);
  return new S3ObjectStore(
    createS3Client(localAwsSettings({ s3: server.url }, { connectMs: 1000, answerMs })),
    'bucket',
    {
      retry: FAST_RETRY,
      ...(signal ? { signal } : {}),
    },
  );
}

/** A failure of ours after every try: the code, the operation named, the SDK's time-out as the cause, in time. */
function assertTimedOut(failure: { error: unknown; ms: number }, code: 'wr_1' | 'wr_2', what: string): void {
  const { error, ms } = failure;
  assert.instance(error, WorkerError);
  const typed = error as WorkerError;
  assert.is(typed.code, code);
  assert.ok(typed.retryable, 'a time-out is worth another try of the job');
  assert.match(typed.message, `S3 ${what} failed: `);
  assert.is((typed.cause as Error).name, 'TimeoutError');
  assert.is(server?.connections(), FAST_RETRY.attempts, 'each try gave up its connection and opened a new one');
  assert.ok(ms < BOUND_MS, `gave up in ${ms} ms`);
  assert.ok(ms >= FAST_RETRY.attempts * ANSWER_MS, `each try waited out the limit (${ms} ms)`);
}

test('a download that is never answered times out, is retried, and fails as ours (wr_2), leaving no file', async () => {
  const store = await storeBehind({ kind: 'silent' });
  const target = path.join(scratch, 'silent.csv');
  assertTimedOut(await failureOf(() => store.download(KEY, target)), 'wr_2', `download of ${KEY}`);
  assert.not.ok(existsSync(target));
});

test('a download whose body stalls after the headers times out, is retried, and fails as ours (wr_2)', async () => {
  const store = await storeBehind({
    kind: 'headers-then-stall',
    headers: OBJECT_HEADERS,
    bodyBytes: 10_000,
    sentBytes: 100,
  });
  const target = path.join(scratch, 'stalled.csv');
  assertTimedOut(await failureOf(() => store.download(KEY, target)), 'wr_2', `download of ${KEY}`);
  assert.not.ok(existsSync(target), 'the half-written file is gone');
});

test('a download whose bytes keep coming is not cut, however long it takes in all', async () => {
  const body = Buffer.from('x,y\n'.repeat(500));
  const store = await storeBehind({ kind: 'trickle', headers: OBJECT_HEADERS, body, chunkBytes: 100, everyMs: 60 });
  const target = path.join(scratch, 'slow.csv');
  const started = Date.now();
  await store.download(KEY, target);
  assert.ok(Date.now() - started > 2 * ANSWER_MS, 'the transfer outlasted the answer limit');
  assert.ok((await readFile(target)).equals(body));
  assert.is(server?.connections(), 1);
});

test('an upload that is never answered times out, is retried, and fails as ours (wr_1)', async () => {
  const store = await storeBehind({ kind: 'silent' });
  const source = path.join(scratch, 'up.csv');
  await writeFile(source, 'a,b\n1,2\n');
  const key = 'submission_files/submission_user_1/submission_2/results/up.csv';
  assertTimedOut(await failureOf(() => store.upload(key, source, 'text/csv')), 'wr_1', `upload of ${key}`);
});

test('a listing that is never answered times out, is retried, and fails as ours (wr_2)', async () => {
  const store = await storeBehind({ kind: 'silent' });
  assertTimedOut(await failureOf(() => store.list('evaluation_scripts/1/')), 'wr_2', 'list of evaluation_scripts/1/');
});

test("the store's signal abandons a stalled request at once, and tries no more", async () => {
  const stop = new AbortController();
  const store = await storeBehind({ kind: 'silent' }, 60_000, stop.signal);
  const source = path.join(scratch, 'log.txt');
  await writeFile(source, 'the job log\n');
  setTimeout(() => stop.abort('SIGTERM'), 200);
  const { error, ms } = await failureOf(() => store.upload('submission_files/x/logs/log.txt', source, 'text/plain'));
  assert.is((error as Error).name, 'AbortError');
  assert.ok(ms < 1500, `abandoned in ${ms} ms`);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.is(server?.connections(), 1, 'no try after the abort');
  // Requests after the stop's deadline are not even sent.
  assert.is(((await failureOf(() => store.list('evaluation_scripts/1/'))).error as Error).name, 'AbortError');
  assert.is(server?.connections(), 1);
});

test.run();
