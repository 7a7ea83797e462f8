import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HolderAnswers } from '../../src/adapters/holder-answers.js';
import { InfrastructureFault } from '../../src/domain/infrastructure-fault.js';

let dir = '';
test.before.each(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pvhub-holder-answers-'));
});
test.after.each(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Bytes that hold line feeds and what looks like the holder's own lines: a copy is read by its size, not by lines. */
const TRICKY = Buffer.concat([Buffer.from('F 0 12 12\nE 0 81a4 3 x\n'), Buffer.from([0, 255, 10, 13, 10])]);

/** What the holder's commands write for volume 3 asked for output.csv, status.json, folder, link, fifo and gone. */
const SAID = Buffer.concat([
  Buffer.from(`E 3 81a4 ${TRICKY.length} output.csv\n`),
  TRICKY,
  Buffer.from('E 3 8180 0 status.json\n'),
  Buffer.from('E 3 41c0 40 folder\nE 3 a1ff 11 link\nE 3 11a4 0 fifo\nE 3 missing 0 gone\n'),
  Buffer.from('F 3 2040 9994\n'),
]);
const NAMES = ['output.csv', 'status.json', 'folder', 'link', 'fifo', 'gone'];

/** Splits bytes into pieces of `size`: the attach stream cuts them anywhere. */
const pieces = (bytes: Buffer, size: number) =>
  Array.from({ length: Math.ceil(bytes.length / size) }, (_, index) =>
    bytes.subarray(index * size, (index + 1) * size),
  );

test('names are told by their kind; regular files are copied byte for byte, read by size, however the bytes are cut', async () => {
  for (const size of [1, 2, 7, 64, SAID.length]) {
    const hostDir = await mkdtemp(path.join(dir, `cut-${size}-`));
    const answers = new HolderAnswers();
    const answer = answers.expect(3, NAMES, hostDir);
    for (const piece of pieces(SAID, size)) await answers.read(piece);
    assert.equal(await answer, {
      collected: {
        'output.csv': 'file',
        'status.json': 'file',
        folder: 'folder',
        link: 'symbolic link',
        fifo: 'FIFO',
        gone: 'missing',
      },
      full: false,
    });
    assert.equal((await readdir(hostDir)).sort(), ['output.csv', 'status.json']);
    assert.equal(await readFile(path.join(hostDir, 'output.csv')), TRICKY);
    assert.is((await readFile(path.join(hostDir, 'status.json'))).length, 0);
    assert.is((await stat(path.join(hostDir, 'output.csv'))).mode & 0o7777, 0o644);
  }
});

test('answers come in the order asked; no free block or no free inode is full', async () => {
  const answers = new HolderAnswers();
  const first = answers.expect(0, ['output.csv'], dir);
  const second = answers.expect(1, [], dir);
  const third = answers.expect(2, [], dir);
  await answers.read(Buffer.from('E 0 missing 0 output.csv\nF 0 0 17\nF 1 17 0\nF 2 unmeasured\n'));
  assert.equal(await first, { collected: { 'output.csv': 'missing' }, full: true });
  assert.equal(await second, { collected: {}, full: true });
  assert.equal(await third, { collected: {}, full: undefined });
});

test('a copy of ours that fails fails its answer only: the bytes are still read, and the next answer is kept', async () => {
  await writeFile(path.join(dir, 'output.csv'), 'already there');
  const answers = new HolderAnswers();
  const refused = answers.expect(0, ['output.csv'], dir).then(
    () => assert.unreachable('the answer whose copy failed is kept'),
    (error: NodeJS.ErrnoException) => error.code,
  );
  const next = answers.expect(1, ['other.csv'], dir);
  await answers.read(Buffer.from('E 0 81a4 5 output.csv\nE 0 wF 0 1 1\nE 1 81a4 2 other.csv\nokF 1 1 1\n'));
  assert.is(await refused, 'EEXIST');
  assert.equal(await next, { collected: { 'other.csv': 'file' }, full: false });
  assert.is(await readFile(path.join(dir, 'output.csv'), 'utf8'), 'already there');
  assert.is(await readFile(path.join(dir, 'other.csv'), 'utf8'), 'ok');
});

test('a line out of step, or the holder ending, fails every open question as a fault of ours, and any later one', async () => {
  const outOfStep = new HolderAnswers();
  const asked = outOfStep.expect(4, ['output.csv'], dir).catch((reason: unknown) => reason);
  await outOfStep.read(Buffer.from('E 4 81a4 1 status.json\n'));
  const error = await asked;
  assert.instance(error, InfrastructureFault);
  assert.match((error as Error).message, /out of step: E 4 81a4 1 status.json/);
  assert.ok(outOfStep.failed);
  assert.instance(await outOfStep.expect(5, [], dir).catch((reason: unknown) => reason), InfrastructureFault);

  const ended = new HolderAnswers();
  const midCopy = ended.expect(0, ['output.csv'], dir).catch((reason: unknown) => reason);
  await ended.read(Buffer.from('E 0 81a4 100 output.csv\npartial'));
  ended.fail(new InfrastructureFault('engine-unavailable', 'the results holder ended'));
  assert.match(String(await midCopy), /the results holder ended/);
  for (const line of ['F 9 1 1\n', 'F 0 1 1\n', 'nonsense\n']) {
    const other = new HolderAnswers();
    const open = other.expect(0, ['output.csv'], dir).catch((reason: unknown) => reason);
    await other.read(Buffer.from(line));
    assert.instance(await open, InfrastructureFault, line);
  }
});

test.run();
