import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeKeyPath, S3EmulatorHttpError, S3EmulatorStore } from '../../src/adapters/s3-emulator-store.js';
import { ObjectNotFoundError } from '../../src/ports/object-store.js';
import { type S3EmulatorServer, startS3EmulatorServer } from '../helpers/s3-emulator-server.js';

const FAST_RETRY = { attempts: 4, baseDelayMs: 5, maxDelayMs: 20 };
const BUCKET = 'valhub-bucket';

let scratch: string;
let emulator: S3EmulatorServer;
let store: S3EmulatorStore;

test.before.each(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-s3emu-'));
  const root = path.join(scratch, 'root');
  await mkdir(path.join(root, BUCKET), { recursive: true });
  emulator = await startS3EmulatorServer(root);
  // A trailing slash on the base URL is allowed.
  store = new S3EmulatorStore(`${emulator.url}/`, BUCKET, { retry: FAST_RETRY });
});
test.after.each(async () => {
  await emulator.close();
  await rm(scratch, { recursive: true, force: true });
});

test('a 2 MB object goes up, is listed and comes back byte for byte, streamed, with its content type and length', async () => {
  const content = randomBytes(2 * 1024 * 1024 + 5);
  const source = path.join(scratch, 'big.bin');
  await writeFile(source, content);
  const key = 'submission_files/submission_user_3/submission_9/results/big.bin';
  await store.upload(key, source, 'application/octet-stream');
  await store.upload('submission_files/submission_user_3/submission_9/results/report.html', source, 'text/html');

  const put = emulator.requests.filter((request) => request.method === 'PUT');
  assert.equal(
    put.map((request) => [
      request.rawPath,
      request.headers['content-type'],
      request.headers['content-length'],
      request.bodyBytes,
    ]),
    [
      [`/put_object/${BUCKET}/${key}`, 'application/octet-stream', String(content.length), content.length],
      [
        `/put_object/${BUCKET}/submission_files/submission_user_3/submission_9/results/report.html`,
        'text/html',
        String(content.length),
        content.length,
      ],
    ],
  );
  assert.ok((await readFile(path.join(emulator.root, BUCKET, key))).equals(content));

  const listed = await store.list('submission_files/submission_user_3/submission_9/');
  assert.equal([...listed].sort(), [key, 'submission_files/submission_user_3/submission_9/results/report.html']);
  assert.equal(await store.list('submission_files/none/'), []);

  const target = path.join(scratch, 'back.bin');
  await store.download(key, target);
  assert.ok((await readFile(target)).equals(content));
  assert.equal(emulator.calls().slice(-2), [`GET list_bucket submission_files/none/`, `GET get_object ${key}`]);
});

test('list keeps only keys that start with the prefix (the emulator lists a folder)', async () => {
  const folder = path.join(emulator.root, BUCKET, 'evaluation_scripts', '7');
  await mkdir(path.join(folder, 'sub'), { recursive: true });
  await writeFile(path.join(folder, 'config.json'), '{}');
  await writeFile(path.join(folder, 'sub', 'template.py'), 'x');
  await mkdir(path.join(emulator.root, BUCKET, 'evaluation_scripts', '70'), { recursive: true });
  await writeFile(path.join(emulator.root, BUCKET, 'evaluation_scripts', '70', 'other.py'), 'x');
  assert.equal([...(await store.list('evaluation_scripts/7/'))].sort(), [
    'evaluation_scripts/7/config.json',
    'evaluation_scripts/7/sub/template.py',
  ]);
  assert.equal(
    [...(await store.list('evaluation_scripts/7/con'))].sort(),
    [],
    'a partial name is not a folder for the emulator',
  );
});

test('a missing key is ObjectNotFoundError naming the key, is not retried, and leaves no file', async () => {
  const target = path.join(scratch, 'missing.csv');
  await writeFile(target, 'stale');
  try {
    await store.download('data_files/files/missing.csv', target);
    assert.unreachable();
  } catch (error) {
    assert.instance(error, ObjectNotFoundError);
    assert.is((error as ObjectNotFoundError).key, 'data_files/files/missing.csv');
  }
  assert.not.ok(existsSync(target));
  assert.is(emulator.requests.length, 1);
});

test('a missing bucket is an error of its own, not a missing object, and is not retried', async () => {
  const other = new S3EmulatorStore(emulator.url, 'absent-bucket', { retry: FAST_RETRY });
  try {
    await other.list('data_files/');
    assert.unreachable();
  } catch (error) {
    assert.instance(error, S3EmulatorHttpError);
    assert.is((error as S3EmulatorHttpError).status, 404);
    assert.match((error as Error).message, 'Bucket not found');
  }
  assert.is(emulator.requests.length, 1);
});

test('a 500 is retried on every route; the transfer then succeeds', async () => {
  const source = path.join(scratch, 'small.csv');
  await writeFile(source, 'a,b\n1,2\n');
  emulator.fail('put_object', { kind: 'status', status: 500 });
  await store.upload('data_files/files/small.csv', source, 'text/csv');
  emulator.fail('get_object', { kind: 'status', status: 503 }, 2);
  const target = path.join(scratch, 'small-back.csv');
  await store.download('data_files/files/small.csv', target);
  assert.is(await readFile(target, 'utf8'), 'a,b\n1,2\n');
  emulator.fail('list_bucket', { kind: 'status', status: 500 });
  assert.equal(await store.list('data_files/files/'), ['data_files/files/small.csv']);
  assert.equal(
    emulator.requests.map((request) => `${request.method} ${request.route} ${request.status}`),
    [
      'PUT put_object 500',
      'PUT put_object 200',
      'GET get_object 503',
      'GET get_object 503',
      'GET get_object 200',
      'GET list_bucket 500',
      'GET list_bucket 200',
    ],
  );
  // The retried upload sent the whole file again.
  assert.is(emulator.requests[1]?.bodyBytes, 8);
});

test('a download cut mid-body is retried whole; when the tries run out, the last error is thrown and no partial file is left', async () => {
  const content = randomBytes(512 * 1024);
  await mkdir(path.join(emulator.root, BUCKET, 'data_files', 'files'), { recursive: true });
  await writeFile(path.join(emulator.root, BUCKET, 'data_files', 'files', 'cut.bin'), content);
  const target = path.join(scratch, 'cut.bin');

  emulator.fail('get_object', { kind: 'cut' });
  await store.download('data_files/files/cut.bin', target);
  assert.ok((await readFile(target)).equals(content));
  assert.is(emulator.requests.length, 2);

  await rm(target);
  emulator.fail('get_object', { kind: 'cut' }, FAST_RETRY.attempts - 1);
  emulator.fail('get_object', { kind: 'status', status: 502 });
  try {
    await store.download('data_files/files/cut.bin', target);
    assert.unreachable();
  } catch (error) {
    assert.instance(error, S3EmulatorHttpError);
    assert.is((error as S3EmulatorHttpError).status, 502);
  }
  assert.is(emulator.requests.length, 2 + FAST_RETRY.attempts);
  assert.not.ok(existsSync(target));
});

test('a refused connection is retried, then thrown', async () => {
  const closed = new S3EmulatorStore(emulator.url, BUCKET, { retry: FAST_RETRY });
  await emulator.close();
  try {
    await closed.list('data_files/');
    assert.unreachable();
  } catch (error) {
    assert.not.instance(error, S3EmulatorHttpError);
    assert.is(((error as Error).cause as { code?: string }).code, 'ECONNREFUSED');
  }
});

test('keys with spaces and other reserved characters are encoded per segment and come back as they were', async () => {
  const key = 'submission_files/submission_user_1/submission_2/my algo #1 (v2)?.zip';
  assert.is(encodeKeyPath(key), 'submission_files/submission_user_1/submission_2/my%20algo%20%231%20(v2)%3F.zip');
  const source = path.join(scratch, 'algo.zip');
  await writeFile(source, 'zip bytes');
  await store.upload(key, source, 'application/zip');
  assert.is(emulator.requests[0]?.rawPath, `/put_object/${BUCKET}/${encodeKeyPath(key)}`);
  assert.is(emulator.requests[0]?.key, key);
  assert.ok(
    existsSync(
      path.join(emulator.root, BUCKET, 'submission_files', 'submission_user_1', 'submission_2', 'my algo #1 (v2)?.zip'),
    ),
  );

  assert.equal(await store.list('submission_files/submission_user_1/submission_2/'), [key]);
  const target = path.join(scratch, 'algo back.zip');
  await store.download(key, target);
  assert.is(await readFile(target, 'utf8'), 'zip bytes');
  assert.is(emulator.requests.at(-1)?.rawPath, `/get_object/${BUCKET}/${encodeKeyPath(key)}`);
});

test.run();
