import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client, S3ObjectStore } from '../../src/adapters/s3-store.js';
import { WorkerError } from '../../src/domain/errors.js';
import { ObjectNotFoundError } from '../../src/ports/object-store.js';
import { startFlakyProxy } from '../helpers/flaky-proxy.js';
import { createBucket, localAwsSettings, requireServices, type Services, testS3Client } from '../helpers/services.js';

const FAST_RETRY = { attempts: 4, baseDelayMs: 5, maxDelayMs: 20 };
const TIMEOUTS = { connectMs: 5_000, answerMs: 30_000 };

const settings = (s3Endpoint: string) => localAwsSettings({ s3: s3Endpoint }, TIMEOUTS);

let services: Services;
let bucket: string;
let scratch: string;

test.before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-s3-'));
});
test.after(async () => {
  await rm(scratch, { recursive: true, force: true });
});
// In before.each, not before: a failure here fails each test with the message, where uvu would hide a before's.
test.before.each(async () => {
  services = await requireServices();
  bucket ??= await createBucket(services);
});

test('a file goes up and comes back byte for byte, with its content type, through streams', async () => {
  const store = new S3ObjectStore(createS3Client(settings(services.s3Endpoint)), bucket);
  const source = path.join(scratch, 'big.bin');
  const content = randomBytes(6 * 1024 * 1024 + 17);
  await writeFile(source, content);
  await store.upload(
    'submission_files/submission_user_u/submission_1/results/big.bin',
    source,
    'application/octet-stream',
  );
  await store.upload('submission_files/submission_user_u/submission_1/results/report.html', source, 'text/html');
  const target = path.join(scratch, 'back.bin');
  await store.download('submission_files/submission_user_u/submission_1/results/big.bin', target);
  assert.ok((await readFile(target)).equals(content));
  const head = await testS3Client(services).send(
    new HeadObjectCommand({
      Bucket: bucket,
      Key: 'submission_files/submission_user_u/submission_1/results/report.html',
    }),
  );
  assert.is(head.ContentType, 'text/html');
  assert.is(head.ContentLength, content.length);
});

test('list returns every key under the prefix, across pages (more than 1000 keys)', async () => {
  const client = testS3Client(services);
  const keys = Array.from({ length: 1003 }, (_, i) => `evaluation_scripts/7/file-${String(i).padStart(4, '0')}.csv`);
  for (let i = 0; i < keys.length; i += 50) {
    await Promise.all(
      keys.slice(i, i + 50).map((Key) => client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'x' }))),
    );
  }
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'evaluation_scripts/70/other.csv', Body: 'x' }));
  const store = new S3ObjectStore(createS3Client(settings(services.s3Endpoint)), bucket);
  const listed = await store.list('evaluation_scripts/7/');
  assert.is(listed.length, 1003);
  assert.equal([...listed].sort(), keys);
  assert.equal(await store.list('evaluation_scripts/none/'), []);
});

test('a missing key is ObjectNotFoundError naming the key, and leaves no file', async () => {
  const store = new S3ObjectStore(createS3Client(settings(services.s3Endpoint)), bucket, { retry: FAST_RETRY });
  const target = path.join(scratch, 'missing.csv');
  try {
    await store.download('data_files/files/missing.csv', target);
    assert.unreachable();
  } catch (error) {
    assert.instance(error, ObjectNotFoundError);
    assert.is((error as ObjectNotFoundError).key, 'data_files/files/missing.csv');
  }
  assert.not.ok(existsSync(target));
});

test('a missing bucket is not mistaken for a missing object', async () => {
  const store = new S3ObjectStore(createS3Client(settings(services.s3Endpoint)), `${bucket}-absent`, {
    retry: FAST_RETRY,
  });
  try {
    await store.download('data_files/files/a.csv', path.join(scratch, 'a.csv'));
    assert.unreachable();
  } catch (error) {
    assert.not.instance(error, ObjectNotFoundError);
    assert.is((error as WorkerError).code, 'wr_2', 'a failure of ours');
    assert.is(((error as WorkerError).cause as Error).name, 'NoSuchBucket');
  }
});

test('5xx, throttling and connection resets are retried; the transfer then succeeds', async () => {
  const proxy = await startFlakyProxy(services.s3Endpoint);
  try {
    const store = new S3ObjectStore(createS3Client(settings(proxy.url)), bucket, { retry: FAST_RETRY });
    const source = path.join(scratch, 'small.csv');
    await writeFile(source, 'a,b\n1,2\n');
    proxy.fail('status-503', 1, (method) => method === 'PUT');
    proxy.fail('reset', 1, (method) => method === 'PUT');
    await store.upload('data_files/files/small.csv', source, 'text/csv');
    proxy.fail('status-500', 2, (method) => method === 'GET');
    const target = path.join(scratch, 'small-back.csv');
    await store.download('data_files/files/small.csv', target);
    assert.is(await readFile(target, 'utf8'), 'a,b\n1,2\n');
    assert.is(proxy.seen.filter((line) => line.startsWith('PUT ')).length, 3);
    assert.is(proxy.seen.filter((line) => line.startsWith('GET ')).length, 3);
    proxy.fail('status-503', 1, (method) => method === 'GET');
    assert.ok((await store.list('data_files/files/')).includes('data_files/files/small.csv'));
  } finally {
    await proxy.close();
  }
});

test('retries end after the policy: the last error is the cause of the one thrown', async () => {
  const proxy = await startFlakyProxy(services.s3Endpoint);
  try {
    const store = new S3ObjectStore(createS3Client(settings(proxy.url)), bucket, { retry: FAST_RETRY });
    proxy.fail('status-500', 10);
    try {
      await store.download('data_files/files/small.csv', path.join(scratch, 'never.csv'));
      assert.unreachable();
    } catch (error) {
      assert.not.instance(error, ObjectNotFoundError);
      assert.is((error as WorkerError).code, 'wr_2');
      const cause = (error as WorkerError).cause as { $metadata?: { httpStatusCode?: number } };
      assert.is(cause.$metadata?.httpStatusCode, 500);
    }
    assert.is(proxy.seen.length, FAST_RETRY.attempts);
  } finally {
    await proxy.close();
  }
});

test.run();
