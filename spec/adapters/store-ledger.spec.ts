import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { callFactOfKey, keyOfCallFact, StoreLedger } from '../../src/adapters/store-ledger.js';
import type { CallFact, LedgerRecord, LedgerScore } from '../../src/domain/ledger.js';
import { s3Keys } from '../../src/domain/s3-keys.js';
import { FAKE_JOB } from '../helpers/fake-ports.js';
import { MemoryStore } from '../helpers/memory-store.js';

const LEDGER_PREFIX = `${s3Keys.submissionPrefix(FAKE_JOB)}ledger/`;

const SCORED: LedgerScore = {
  kind: 'scored',
  row: { file_name: 'a b/c%.csv', data_requirements: ['time_index'], values: { mae: 0.5 } },
  executionTime: 1.25,
  functionParameters: ['time_series'],
  wallTimeMs: 1800,
};
const FAILED: LedgerScore = { kind: 'failed', failure: { code: 'op_2', message: 'raised' }, wallTimeMs: 900 };

let scratch = '';
test.before.each(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-store-ledger-'));
});
test.after.each(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** A job's ledger as an attempt leaves it: two scores, calls sent, one refused and withdrawn. */
async function attempt(store: MemoryStore): Promise<void> {
  const ledger = new StoreLedger(store);
  const output = path.join(scratch, 'output.csv');
  await writeFile(output, 'time,value\n');
  await ledger.saveScore(FAKE_JOB, 'a b/c%.csv', SCORED, output);
  await ledger.saveCallFact(FAKE_JOB, { file: 'a b/c%.csv', call: 'progress', tryId: 't1', kind: 'sent' });
  await ledger.saveScore(FAKE_JOB, 'd.csv', FAILED);
  await ledger.saveCallFact(FAKE_JOB, { call: 'error-report', tryId: 't2', kind: 'sent' });
  await ledger.saveCallFact(FAKE_JOB, { file: 'd.csv', call: 'file-error', tryId: 't3', kind: 'sent' });
  await ledger.saveCallFact(FAKE_JOB, { file: 'd.csv', call: 'file-error', tryId: 't3', kind: 'withdrawn' });
  await ledger.saveCallFact(FAKE_JOB, { file: 'd.csv', call: 'progress', tryId: 't4', kind: 'sent' });
  await ledger.saveStop(FAKE_JOB, 'an-attempt-stopped');
  await ledger.saveStop(FAKE_JOB, 'another-attempt-stopped');
}

function plain(record: LedgerRecord) {
  return {
    files: Object.fromEntries([...record.files].map(([name, entry]) => [name, { ...entry }])),
    applied: [...record.applied].sort(),
    stops: record.stops,
  };
}

const EXPECTED = {
  files: {
    'a b/c%.csv': { score: SCORED, applied: ['progress'] },
    'd.csv': { score: FAILED, applied: ['progress'] },
  },
  applied: ['error-report'],
  stops: 2,
};

test('a rerun reads back the scores, the calls applied and the attempts stopped; a withdrawn try is not; the output went to the results', async () => {
  const store = new MemoryStore();
  await attempt(store);
  assert.equal(plain(await new StoreLedger(store).load(FAKE_JOB)), EXPECTED);
  assert.ok(store.objects.has(s3Keys.result(FAKE_JOB, 'files/a b/c%.csv')), 'the output is kept among the results');
  await access(path.join(scratch, 'output.csv')).then(
    () => assert.unreachable('the output left the workspace'),
    () => undefined,
  );
});

test('writes that land late, in any order, and twice (a request held past its timeout, then applied) take nothing back', async () => {
  const first = new MemoryStore();
  await attempt(first);
  const late = new MemoryStore();
  // Every write applied in the reverse order, then each again: the last to land is always an earlier one.
  for (const upload of [...first.uploads].reverse()) late.put(upload.key, upload.text, upload.contentType);
  for (const upload of first.uploads) late.put(upload.key, upload.text, upload.contentType);
  assert.equal(plain(await new StoreLedger(late).load(FAKE_JOB)), EXPECTED);
  const keys = first.uploads.map((upload) => upload.key);
  assert.is(new Set(keys).size, keys.length, 'no object is written twice, so none can be written over');
});

test('keys another version wrote, or damaged entries, are left out', async () => {
  const store = new MemoryStore();
  await attempt(store);
  store.put(`${LEDGER_PREFIX}calls/job/an-unknown-call/t9.sent`, '{}');
  store.put(`${LEDGER_PREFIX}calls/file-d.csv/progress/t9.applied`, '{}');
  store.put(`${LEDGER_PREFIX}calls/file-%E0%A4%A/progress/t9.sent`, '{}');
  store.put(`${LEDGER_PREFIX}calls/job/status-finished/t9/extra.sent`, '{}');
  store.put(`${LEDGER_PREFIX}files/e.csv.json`, 'not json');
  store.put(`${LEDGER_PREFIX}files/f.csv.json`, '{"score":{"kind":"guessed"}}');
  assert.equal(plain(await new StoreLedger(store).load(FAKE_JOB)), EXPECTED);
});

test('a fact survives its key: any file name, the job scope, either kind', () => {
  const facts: CallFact[] = [
    { file: 'a b/c%.csv', call: 'file-error', tryId: 'f6c1e7d2-1b2a-4c3d-9e8f-0a1b2c3d4e5f', kind: 'withdrawn' },
    { file: 'job', call: 'progress', tryId: 'x', kind: 'sent' },
    { call: 'status-failed', tryId: 'y', kind: 'sent' },
  ];
  for (const fact of facts) assert.equal(callFactOfKey(keyOfCallFact(fact)), fact);
});

test.run();
