import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builtWheel, checkUnpackedSize, directReferences } from '../../../src/adapters/images/wheel-checks.js';
import { python } from '../../helpers/cli.js';
import { workerError } from '../../helpers/images.js';

let scratch = '';

/** A zip at `<scratch>/<name>` with these entries, and a METADATA of `bombBytes` zero bytes when not 0. */
async function wheel(name: string, entries: ReadonlyArray<readonly [string, string]>, bombBytes = 0): Promise<string> {
  const file = path.join(scratch, name);
  await mkdir(path.dirname(file), { recursive: true });
  await python(
    'import json, sys, warnings, zipfile\nwarnings.simplefilter("ignore")\n' +
      'with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:\n' +
      '    for name, text in json.loads(sys.argv[2]): z.writestr(name, text)\n' +
      '    if int(sys.argv[3]): z.writestr("x-1.0.dist-info/METADATA", bytes(int(sys.argv[3])))\n',
    [file, JSON.stringify(entries), String(bombBytes)],
  );
  return file;
}

const CLEAN =
  'Metadata-Version: 2.1\nName: x\nVersion: 1.0\nRequires-Dist: numpy (>=1.20)\nRequires-Dist: pytest ; extra == "test"\n';
const FOLDED =
  'Metadata-Version: 2.1\nName: x\nVersion: 1.0\nRequires-Dist: evil\n  @ https://example.invalid/evil.tar.gz\n';

test.before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-wheel-checks-'));
});

test.after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

test("a built wheel's URL dependencies are found however it hides them: a second METADATA, a folded line, a bomb", async () => {
  assert.equal(await directReferences(await wheel('x-clean.whl', [['x-1.0.dist-info/METADATA', CLEAN]])), []);
  assert.equal(await directReferences(await wheel('x-folded.whl', [['x-1.0.dist-info/METADATA', FOLDED]])), [
    'evil @ https://example.invalid/evil.tar.gz',
  ]);
  const twice = await workerError(() =>
    wheel('x-twice.whl', [
      ['x-1.0.dist-info/METADATA', CLEAN],
      ['x-1.0.dist-info/METADATA', FOLDED],
    ]).then(directReferences),
  );
  assert.match(twice.message, 'has the entry x-1.0.dist-info/METADATA twice');
  const bomb = await workerError(() => wheel('x-bomb.whl', [], 4 * 1024 * 1024).then(directReferences));
  assert.match(bomb.message, 'its METADATA cannot be read (more than 1048576 bytes)');
  const notZip = path.join(scratch, 'x-text.whl');
  await writeFile(notZip, 'not a zip');
  assert.match((await workerError(() => directReferences(notZip))).message, 'not a readable wheel');
});

test('a source build must write one wheel of the project asked for, and nothing else', async () => {
  const one = await wheel('one/x-1.0-py3-none-any.whl', [['x-1.0.dist-info/METADATA', CLEAN]]);
  assert.is(await builtWheel(path.dirname(one), 'X', 'x==1.0'), one);
  const other = await wheel('other/numpy-9.0-py3-none-any.whl', [['numpy-9.0.dist-info/METADATA', CLEAN]]);
  assert.match(
    (await workerError(() => builtWheel(path.dirname(other), 'x', 'x==1.0'))).message,
    'wrote numpy-9.0-py3-none-any.whl instead of one wheel of x',
  );
  const two = await wheel('two/x-1.0-py3-none-any.whl', [['x-1.0.dist-info/METADATA', CLEAN]]);
  await writeFile(path.join(path.dirname(two), 'extra.pth'), '');
  assert.match(
    (await workerError(() => builtWheel(path.dirname(two), 'x', 'x==1.0'))).message,
    'instead of one wheel of x',
  );
  const urls = await wheel('urls/x-1.0-py3-none-any.whl', [['x-1.0.dist-info/METADATA', FOLDED]]);
  assert.match(
    (await workerError(() => builtWheel(path.dirname(urls), 'x', 'x==1.0'))).message,
    'its built wheel depends on URLs',
  );
});

test('wheels are measured by what they unpack to, against the image size limit, before anything is installed (op_2)', async () => {
  // 2 MB of zeros: a few KiB on disk.
  await wheel('wheelhouse/x-1.0-py3-none-any.whl', [['x-1.0.dist-info/RECORD', '']], 2_000_000);
  const wheelhouse = path.join(scratch, 'wheelhouse');
  await checkUnpackedSize(wheelhouse, 3_000_000);
  const over = await workerError(() => checkUnpackedSize(wheelhouse, 1_000_000));
  assert.is(over.code, 'op_2');
  assert.match(
    over.message,
    /^the requirements come to \d+ bytes of wheels once unpacked, over the image size limit of 1000000 bytes$/,
  );
  await writeFile(path.join(wheelhouse, 'y-1.0-py3-none-any.whl'), 'not a zip');
  const unreadable = await workerError(() => checkUnpackedSize(wheelhouse, 3_000_000));
  assert.is(unreadable.code, 'op_2');
  assert.match(unreadable.message, 'y-1.0-py3-none-any.whl is not a readable wheel');
});

test.run();
