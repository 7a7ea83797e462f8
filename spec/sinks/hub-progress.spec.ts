import { pino } from 'pino';
import { from, lastValueFrom, toArray } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type FileScore, type FileTask, fileNameOf } from '../../src/domain/file-run.js';
import { reportFileProgress } from '../../src/sinks/hub-progress.js';
import { MemoryLedger } from '../../src/adapters/memory-ledger.js';
import { RecordingHub } from '../../src/adapters/simulated/hub.js';
import { LedgerSession } from '../../src/sinks/ledger-session.js';

const task = (name: string): FileTask => ({
  index: 0,
  metadata: { file_id: 1, system_id: 1, file_name: name, include_on_leaderboard: true },
  kwargs: [],
});
const scored = (name: string, wallTimeMs: number): FileScore => ({
  kind: 'scored',
  run: {
    kind: 'ran',
    task: task(name),
    executionTime: 0.02,
    outputPath: '/x',
    functionParameters: ['time_series'],
    wallTimeMs,
  },
  row: { file_name: name, data_requirements: ['time_series'], values: { runtime: 0.02 } },
});
const failed = (name: string, wallTimeMs: number): FileScore => ({
  kind: 'failed',
  task: task(name),
  failure: { code: 'sb_500', message: 'ValueError: boom' },
  wallTimeMs,
});

const silent = pino({ level: 'silent' });

const JOB = { analysisId: 1, submissionId: 7, userId: 'u', submissionFilename: 's.zip', pythonVersion: '3.11' };

/** A job's ledger with these files scored, as run-files keeps them before reporting. */
async function ledgerWith(scores: readonly FileScore[], ledgers = new MemoryLedger()): Promise<LedgerSession> {
  const ledger = await LedgerSession.open(ledgers, JOB, silent);
  for (const score of scores) await ledger.recordScore(fileNameOf(score), score);
  return ledger;
}

async function reported(hub: RecordingHub, scores: readonly FileScore[], ledgers?: MemoryLedger): Promise<FileScore[]> {
  const ledger = await ledgerWith(scores, ledgers);
  // A report whose creation went unanswered is given no time to land: the spec's Hub answers at once.
  return lastValueFrom(from(scores).pipe(reportFileProgress(hub, ledger, 7, silent, 0), toArray()));
}

test("a refused file error does not skip that file's progress, nor the next file's calls", async () => {
  const hub = new RecordingHub();
  hub.unreachableFor('file error');
  const scores = [failed('a.csv', 1500), failed('b.csv', 2500), scored('c.csv', 1000)];
  assert.equal(await reported(hub, scores), scores, 'every score passes through');
  assert.equal(hub.progress, [1.5, 2.5, 1], 'one progress per file, with its wall time');
  assert.equal(
    hub.calls.filter((call) => call !== 'blank error report'),
    ['file error', 'progress', 'file error', 'progress', 'progress'],
  );
});

test('a refused progress does not skip the next file', async () => {
  const hub = new RecordingHub();
  hub.unreachableFor('progress');
  await reported(hub, [scored('a.csv', 1000), failed('b.csv', 1000)]);
  assert.equal(
    hub.calls.filter((call) => call !== 'blank error report'),
    ['progress', 'file error', 'progress'],
  );
  assert.equal(
    hub.fileErrors.map((error) => error.file_name),
    ['b.csv'],
  );
});

test('the error report is made at the first failed file, once, right before its error; a job without one makes none', async () => {
  const hub = new RecordingHub();
  await reported(hub, [scored('a.csv', 1000), failed('b.csv', 1000), scored('c.csv', 1000), failed('d.csv', 1000)]);
  assert.equal(hub.calls, [
    'progress',
    'blank error report',
    'file error',
    'progress',
    'progress',
    'file error',
    'progress',
  ]);

  const clean = new RecordingHub();
  await reported(clean, [scored('a.csv', 1000), scored('b.csv', 1000)]);
  assert.equal(clean.calls, ['progress', 'progress'], 'no blank report: a later breaking one stays the first row');
});

test('each job makes its own report: the once-per-job is the job ledger, not the operator', async () => {
  const hub = new RecordingHub();
  for (let job = 0; job < 2; job += 1) await reported(hub, [failed('a.csv', 1000)]);
  assert.equal(hub.calls, [
    'blank error report',
    'file error',
    'progress',
    'blank error report',
    'file error',
    'progress',
  ]);
});

test('a second attempt of the same job sends none of the calls the Hub applied in the first', async () => {
  const hub = new RecordingHub();
  const ledgers = new MemoryLedger();
  hub.unreachableFor('progress');
  await reported(hub, [failed('a.csv', 1000), scored('b.csv', 1000)], ledgers);
  hub.failing.delete('progress');
  await reported(hub, [failed('a.csv', 1000), scored('b.csv', 1000)], ledgers);
  assert.equal(
    hub.calls,
    ['blank error report', 'file error', 'progress', 'progress', 'progress', 'progress'],
    'the refused progress calls only are sent again',
  );
  assert.is(hub.fileErrors.length, 1);
});

test("a refused report creation is made again when the file's error finds no report, and not again once made", async () => {
  const hub = new RecordingHub();
  hub.unreachableFor('blank error report');
  const create = hub.createBlankErrorReport.bind(hub);
  // Down for the first try only.
  hub.createBlankErrorReport = () => create().finally(() => hub.failing.delete('blank error report'));
  await reported(hub, [failed('a.csv', 1000), failed('b.csv', 1000), failed('c.csv', 1000)]);
  assert.equal(hub.calls, [
    'blank error report',
    'file error',
    'blank error report',
    'file error',
    'progress',
    'file error',
    'progress',
    'file error',
    'progress',
  ]);
  assert.equal([hub.blankReports, hub.fileErrors.length], [1, 3]);
});

test('a report whose creation was applied but went unanswered is not made again, in this attempt or the next', async () => {
  const hub = new RecordingHub();
  const ledgers = new MemoryLedger();
  hub.answerLost.set('blank error report', 'applied');
  await reported(hub, [failed('a.csv', 1000), failed('b.csv', 1000)], ledgers);
  hub.answerLost.clear();
  await reported(hub, [failed('a.csv', 1000), failed('b.csv', 1000), failed('c.csv', 1000)], ledgers);
  assert.is(hub.blankReports, 1);
  assert.equal(
    hub.fileErrors.map((error) => error.file_name),
    ['a.csv', 'b.csv', 'c.csv'],
  );
  assert.equal(hub.progress.length, 3);
});

test('a report whose creation never landed (its answer lost too) is made again once the Hub proves it has none', async () => {
  const hub = new RecordingHub();
  hub.answerLost.set('blank error report', 'dropped');
  const create = hub.createBlankErrorReport.bind(hub);
  hub.createBlankErrorReport = () => create().finally(() => hub.answerLost.clear());
  await reported(hub, [failed('a.csv', 1000), failed('b.csv', 1000)]);
  assert.equal(hub.calls, [
    'blank error report',
    'file error',
    'file error',
    'blank error report',
    'file error',
    'progress',
    'file error',
    'progress',
  ]);
  assert.equal([hub.blankReports, hub.fileErrors.length], [1, 2]);
});

test('a progress or file error whose answer was lost counts as applied: the next attempt does not send it again', async () => {
  const hub = new RecordingHub();
  const ledgers = new MemoryLedger();
  hub.answerLost.set('progress', 'applied');
  hub.answerLost.set('file error', 'applied');
  await reported(hub, [failed('a.csv', 1000), scored('b.csv', 1000)], ledgers);
  hub.answerLost.clear();
  await reported(hub, [failed('a.csv', 1000), scored('b.csv', 1000)], ledgers);
  assert.equal([hub.progress.length, hub.fileErrors.length], [2, 1]);
});

test('an attempt that dies while its progress call is under way (applied, not yet answered): the next does not send it again', async () => {
  const hub = new RecordingHub();
  const ledgers = new MemoryLedger();
  const progress = hub.progressIncrement.bind(hub);
  // Applied, and then the process is gone before the answer: the call never returns.
  hub.progressIncrement = (id, seconds) => progress(id, seconds).then(() => new Promise<never>(() => undefined));
  const ledger = await ledgerWith([scored('a.csv', 1000)], ledgers);
  void lastValueFrom(from([scored('a.csv', 1000)]).pipe(reportFileProgress(hub, ledger, 7, silent, 0)));
  await new Promise((resolve) => setTimeout(resolve, 20));
  hub.progressIncrement = progress;
  await reported(hub, [scored('a.csv', 1000), scored('b.csv', 1000)], ledgers);
  assert.equal(hub.progress, [1, 1], "a.csv's progress once, b.csv's once");
});

test.run();
