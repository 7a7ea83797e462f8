import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type BuiltWheelKey, builtWheelCache } from '../../../src/adapters/images/built-wheel-cache.js';
import { createS3Client, S3ObjectStore } from '../../../src/adapters/s3-store.js';
import { python } from '../../helpers/cli.js';
import { createBucket, localAwsSettings, requireServices } from '../../helpers/services.js';

let scratch = '';
const TARGET = { pythonVersion: '3.13', machine: 'x86_64', glibcMinor: 41 };
const KEY: BuiltWheelKey = { project: 'Spec_Pkg', version: '1.0', sdistSha256: 'a'.repeat(64), target: TARGET };

/** A real (tiny) wheel of spec-pkg 1.0 with these tags, as a source build would write it. */
async function wheel(tags = 'cp313-cp313-linux_x86_64', body = 'X = 1\n'): Promise<string> {
  const dir = await mkdtemp(path.join(scratch, 'built-'));
  const file = path.join(dir, `spec_pkg-1.0-${tags}.whl`);
  await python(
    'import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], "w") as z:\n' +
      '    z.writestr("spec_pkg.py", sys.argv[2])\n' +
      '    z.writestr("spec_pkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\\nName: spec-pkg\\nVersion: 1.0\\n")\n',
    [file, body],
  );
  return file;
}

const warnings: string[] = [];
const cacheIn = (dir: string) => builtWheelCache({ dir, onWarning: (message) => void warnings.push(message) });

async function destination(): Promise<string> {
  return mkdtemp(path.join(scratch, 'dest-'));
}

/** Every file under dir, relative. */
async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

test.before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-wheel-cache-'));
});
test.after(async () => {
  await rm(scratch, { recursive: true, force: true });
});
test.before.each(() => {
  warnings.length = 0;
});

test('a kept wheel is taken back by a new cache on the same folder (a restarted worker), for its target only', async () => {
  const dir = path.join(scratch, 'restart');
  await cacheIn(dir).keep(KEY, await wheel());
  const again = cacheIn(dir);
  const taken = await again.take(KEY, await destination());
  assert.ok(taken?.endsWith('spec_pkg-1.0-cp313-cp313-linux_x86_64.whl'), taken);
  assert.match(await readFile(taken ?? '', 'latin1'), 'spec_pkg.py');
  // The same archive for another python, another glibc, or another archive of the same version: not that wheel.
  for (const other of [
    { ...KEY, target: { ...TARGET, pythonVersion: '3.12' } },
    { ...KEY, target: { ...TARGET, glibcMinor: 36 } },
    { ...KEY, sdistSha256: 'b'.repeat(64) },
    { ...KEY, version: '1.1' },
  ]) {
    assert.is(await again.take(other, await destination()), undefined, JSON.stringify(other));
  }
  assert.equal(
    (await filesUnder(dir)).filter((file) => !file.endsWith('.sha256')),
    [`x86_64-glibc_2_41/spec-pkg/1.0/${'a'.repeat(64)}/spec_pkg-1.0-cp313-cp313-linux_x86_64.whl`],
    'no temporary file is left',
  );
});

test("a pure wheel's own tags decide: built once, it serves a later python of the same platform", async () => {
  const dir = path.join(scratch, 'pure');
  await cacheIn(dir).keep(KEY, await wheel('py3-none-any'));
  const later = await cacheIn(dir).take({ ...KEY, target: { ...TARGET, pythonVersion: '3.14' } }, await destination());
  assert.ok(later?.endsWith('spec_pkg-1.0-py3-none-any.whl'), later);
});

test('a corrupt or half-written entry is not taken, and is removed so the wheel is built and kept again', async () => {
  const dir = path.join(scratch, 'corrupt');
  const cache = cacheIn(dir);
  const entry = path.join(dir, `x86_64-glibc_2_41/spec-pkg/1.0/${'a'.repeat(64)}`);
  const name = 'spec_pkg-1.0-cp313-cp313-linux_x86_64.whl';
  await cache.keep(KEY, await wheel());
  await truncate(path.join(entry, name), 20);
  assert.is(await cache.take(KEY, await destination()), undefined, 'truncated');
  assert.equal(await readdir(entry), [], 'the bad entry is gone');
  await cache.keep(KEY, await wheel());
  await writeFile(path.join(entry, `${name}.sha256`), 'not a digest\n');
  assert.is(await cache.take(KEY, await destination()), undefined, 'its digest differs');
  // A wheel without its digest is one another worker is still writing.
  await cache.keep(KEY, await wheel());
  await rm(path.join(entry, `${name}.sha256`));
  assert.is(await cache.take(KEY, await destination()), undefined, 'no digest yet');
  await cache.keep(KEY, await wheel());
  assert.ok(await cache.take(KEY, await destination()), 'kept again, taken');
  assert.equal(warnings, []);
});

test('workers of one host keeping the same wheel at once leave one whole entry', async () => {
  const dir = path.join(scratch, 'concurrent');
  const built = await Promise.all(Array.from({ length: 8 }, () => wheel()));
  await Promise.all(built.map((file) => cacheIn(dir).keep(KEY, file)));
  const taken = await cacheIn(dir).take(KEY, await destination());
  assert.ok(taken);
  assert.equal((await filesUnder(dir)).length, 2, 'the wheel and its digest, no temporary files');
});

test('a folder that cannot be written is a warning, not a failure: the job has its wheel', async () => {
  const file = path.join(scratch, 'not-a-folder');
  await writeFile(file, '');
  await cacheIn(file).keep(KEY, await wheel());
  assert.is(warnings.length, 1);
  assert.match(warnings[0] ?? '', 'the wheel cache cannot keep spec_pkg-1.0-cp313-cp313-linux_x86_64.whl');
  assert.is(await cacheIn(file).take(KEY, await destination()), undefined);
});

test('with a bucket, a wheel kept by one host is taken by another (a fleet builds it once)', async () => {
  const services = await requireServices();
  const bucket = await createBucket(services);
  const timeouts = { connectMs: 1000, answerMs: 5000 };
  const store = new S3ObjectStore(createS3Client(localAwsSettings({ s3: services.s3Endpoint }, timeouts)), bucket);
  const onWarning = (message: string) => void warnings.push(message);
  const prefix = 'wheel-cache/';
  await builtWheelCache({ dir: path.join(scratch, 'host-a'), bucket: { store, prefix }, onWarning }).keep(
    KEY,
    await wheel(),
  );
  assert.equal((await store.list('wheel-cache/')).sort(), [
    `wheel-cache/x86_64-glibc_2_41/spec-pkg/1.0/${'a'.repeat(64)}/spec_pkg-1.0-cp313-cp313-linux_x86_64.whl`,
    `wheel-cache/x86_64-glibc_2_41/spec-pkg/1.0/${'a'.repeat(64)}/spec_pkg-1.0-cp313-cp313-linux_x86_64.whl.sha256`,
  ]);
  const hostB = path.join(scratch, 'host-b');
  const taken = await builtWheelCache({ dir: hostB, bucket: { store, prefix }, onWarning }).take(
    KEY,
    await destination(),
  );
  assert.ok(taken?.endsWith('spec_pkg-1.0-cp313-cp313-linux_x86_64.whl'), taken);
  assert.is((await filesUnder(hostB)).length, 2, 'and it is now in the host folder too');
  // A bucket that does not answer: no wheel from it, a warning, the build goes on.
  const gone = new S3ObjectStore(createS3Client(localAwsSettings({ s3: 'http://127.0.0.1:9' }, timeouts)), bucket, {
    retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
  });
  assert.is(
    await builtWheelCache({ dir: path.join(scratch, 'host-c'), bucket: { store: gone, prefix }, onWarning }).take(
      KEY,
      await destination(),
    ),
    undefined,
  );
  assert.match(warnings.join('\n'), 'the wheel cache in the bucket cannot be read');
});

test.run();
