import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type ArchiveEntry, checkArchive, safeEntryPath, submissionRoot } from '../../src/domain/archive-policy.js';
import { WorkerError } from '../../src/domain/errors.js';

const file = (path: string, size = 100, compressed = 50, mode = 0o100644): ArchiveEntry => ({
  path,
  uncompressedSize: size,
  compressedSize: compressed,
  unixMode: mode,
  isDirectory: false,
});

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.instance(error, WorkerError);
    assert.is((error as WorkerError).code, 'op_1');
    return (error as Error).message;
  }
  return assert.unreachable('accepted') as never;
}

test('plain archives pass, directories are skipped', () => {
  const entries = [file('a/submission_wrapper.py'), { ...file('a/'), isDirectory: true }, file('a/requirements.txt')];
  assert.equal(
    checkArchive(entries).map((entry) => entry.path),
    ['a/submission_wrapper.py', 'a/requirements.txt'],
  );
});

test('traversal, absolute paths, links, special files, duplicates are refused with their own message', () => {
  assert.match(
    refusal(() => safeEntryPath('../etc/passwd')),
    'path traversal',
  );
  assert.match(
    refusal(() => safeEntryPath('a/../../x')),
    'path traversal',
  );
  assert.match(
    refusal(() => safeEntryPath('/etc/passwd')),
    'absolute path',
  );
  assert.match(
    refusal(() => safeEntryPath('C:\\x')),
    'absolute path',
  );
  assert.match(
    refusal(() => checkArchive([file('link', 10, 10, 0o120777)])),
    'symbolic link',
  );
  assert.match(
    refusal(() => checkArchive([file('fifo', 0, 0, 0o010644)])),
    'special file',
  );
  assert.match(
    refusal(() => checkArchive([file('x.py'), file('./x.py')])),
    'appears twice',
  );
});

test('zip bombs: ratio, total size and entry count', () => {
  assert.match(
    refusal(() => checkArchive([file('big', 500 * 1024 ** 2, 1024 ** 2)])),
    'expands more than',
  );
  assert.match(
    refusal(() => checkArchive([file('a', 600 * 1024 ** 2, 300 * 1024 ** 2)])),
    'uncompressed size',
  );
  assert.match(
    refusal(() =>
      checkArchive(
        Array.from({ length: 11 }, (_, i) => file(`f${i}`)),
        { maxEntries: 10, maxTotalBytes: 1e9, maxRatio: 100 },
      ),
    ),
    '11 entries',
  );
});

test('the module is found at the root or inside one top-level folder', () => {
  assert.is(submissionRoot(['submission_wrapper.py', 'requirements.txt']), '');
  assert.is(submissionRoot(['mine/submission_wrapper.py', 'mine/requirements.txt', '__MACOSX/mine/._x']), 'mine/');
  assert.match(
    refusal(() => submissionRoot(['a/submission_wrapper.py', 'b/requirements.txt'])),
    'no submission_wrapper.py',
  );
  assert.match(
    refusal(() => submissionRoot(['solution.py'])),
    'no submission_wrapper.py',
  );
});

test.run();
