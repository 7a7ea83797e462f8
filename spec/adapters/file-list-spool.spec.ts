import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openFileListSpool } from '../../src/adapters/file-list-spool.js';
import type { FileTask } from '../../src/domain/file-run.js';
import type { FileMetadata } from '../../src/domain/metadata.js';

const metadata = (id: number, name: string): FileMetadata => ({
  file_id: id,
  system_id: 7,
  file_name: name,
  include_on_leaderboard: id % 2 === 0,
  timezone: 'Etc/GMT+5',
});

const toTask = (file: FileMetadata, index: number): FileTask => ({
  index,
  metadata: file,
  kwargs: [['id', file.file_id]],
});

let dir = '';
test.before.each(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pvhub-file-list-'));
});
test.after.each(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Names of more than one byte per character: where a line starts is counted in bytes, not characters.
const FILES = [metadata(1, 'a.csv'), metadata(2, 'ünïcødé-日本.csv'), metadata(3, 'c.csv'), metadata(4, 'd "q".csv')];

test('files written in batches are read back in order, one by its place or all one at a time', async () => {
  const spool = await openFileListSpool(path.join(dir, 'files.jsonl'));
  await spool.add(FILES.slice(0, 3));
  await spool.add([]);
  await spool.add(FILES.slice(3));
  assert.is(spool.count, 4);
  const list = await spool.close(toTask);
  assert.is(list.count, 4);
  for (const [index, file] of FILES.entries()) assert.equal(await list.at(index), toTask(file, index));
  const all: FileTask[] = [];
  for await (const task of list.each()) all.push(task);
  assert.equal(all, FILES.map(toTask));
});

test('a place outside the list is refused, and an empty list reads nothing', async () => {
  const list = await (await openFileListSpool(path.join(dir, 'empty.jsonl'))).close(toTask);
  assert.is(list.count, 0);
  for await (const task of list.each()) assert.unreachable(`read ${JSON.stringify(task)}`);
  await list.at(0).then(
    () => assert.unreachable('at(0) of an empty list answered'),
    (error: unknown) => assert.instance(error, RangeError),
  );
});

test('a reading stopped early leaves the list readable', async () => {
  const spool = await openFileListSpool(path.join(dir, 'files.jsonl'));
  await spool.add(FILES);
  const list = await spool.close(toTask);
  for await (const task of list.each()) if (task.index === 1) break;
  assert.equal(await list.at(3), toTask(FILES[3] as FileMetadata, 3));
});

test('a list is never written over an earlier one', async () => {
  const file = path.join(dir, 'files.jsonl');
  await (await openFileListSpool(file)).close(toTask);
  await openFileListSpool(file).then(
    () => assert.unreachable('a second spool opened on the same file'),
    (error: unknown) => assert.is((error as NodeJS.ErrnoException).code, 'EEXIST'),
  );
});

test.run();
