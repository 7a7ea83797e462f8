import { existsSync, readdirSync } from 'node:fs';
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WorkerError } from '../../src/domain/errors.js';
import type { JobEvent } from '../../src/domain/job-event.js';
import { keptWorkspaceName, ownedFolder } from '../../src/domain/ownership.js';
import { evaluateSubmission, type JobOptions } from '../../src/operators/evaluate-submission.js';
import {
  CORRECT_SUBMISSION,
  FAKE_JOB,
  FAKE_LIMITS,
  FAKE_WORKER,
  type FakeJobWorld,
  fakeJobOptions,
  fakeJobWorld,
} from '../helpers/fake-ports.js';

/** The job's own operators against in-memory ports: no engine, no servers; a job of 13 files takes milliseconds. */

const worlds: FakeJobWorld[] = [];
test.after.each(async () => {
  for (const world of worlds.splice(0)) await rm(world.workDir, { recursive: true, force: true });
});

async function world(options: Parameters<typeof fakeJobWorld>[0] = {}): Promise<FakeJobWorld> {
  const made = await fakeJobWorld(options);
  worlds.push(made);
  return made;
}

function run(w: FakeJobWorld, overrides: Partial<JobOptions> = {}, ports = w.ports): Promise<JobEvent[]> {
  return lastValueFrom(evaluateSubmission(FAKE_JOB, ports, fakeJobOptions(w, overrides)).pipe(toArray()));
}

const types = (events: readonly JobEvent[]) => events.map((event) => event.type);

/** Nothing of the job stays: no container running, no workspace, no log folder. */
async function assertReleased(w: FakeJobWorld): Promise<void> {
  assert.is(w.engine.running.size, 0, 'no container left running');
  assert.equal([...w.engine.openHolders], [], 'the group of results holders is closed');
  assert.equal(
    (await readdir(w.workDir)).filter((name) => name.startsWith('submission-')),
    [],
    'no workspace left',
  );
  assert.not.ok(existsSync(w.jobLog.dir), 'the log folder went once published');
  assert.equal(w.publisher.logs, [w.jobLog.dir], 'the log was published once');
}

test('happy path: staged, image, one file event per file, scored, finished; the Hub in the original order', async () => {
  const w = await world();
  const events = await run(w);
  assert.equal(types(events), ['staged', 'building', 'image', ...Array<string>(13).fill('file'), 'scored', 'finished']);
  const finished = events.at(-1);
  assert.ok(finished?.type === 'finished');
  assert.is(finished.privateResults.number_of_files, 13);
  assert.is(finished.publicResults.metrics['mean_mean_absolute_error_time_series'], 0);
  assert.equal(w.hub.statuses, ['running', 'finished']);
  assert.equal(w.hub.calls.slice(0, 4), ['status running', 'file metadata', 'versions', 'systems']);
  assert.not.ok(w.hub.calls.includes('blank error report'), 'no file failed: no error report');
  assert.equal(w.hub.calls.slice(-2), ['result', 'status finished']);
  assert.is(w.hub.progress.length, 13);
  assert.is(w.engine.started.length, 13);
  assert.equal(
    new Set(w.engine.runHolders),
    new Set(['holders-1']),
    "every file's results held by the job's one group",
  );
  assert.is(w.images.requests[0]?.pythonVersion, '3.11');
  await assertReleased(w);
});

test('an image from the cache: no building event, the files run on it', async () => {
  const w = await world({ cachedImage: true });
  const events = await run(w);
  assert.equal(types(events).slice(0, 2), ['staged', 'image']);
  assert.not.ok(types(events).includes('building'));
  assert.equal(events.at(-1)?.type, 'finished');
});

test("the image's warnings (no requirements.txt) reach the job log, and the job goes on", async () => {
  const submission = await mkdtemp(path.join(os.tmpdir(), 'pvhub-no-requirements-'));
  try {
    await copyFile(
      path.join(CORRECT_SUBMISSION, 'submission_wrapper.py'),
      path.join(submission, 'submission_wrapper.py'),
    );
    const w = await world({ submission });
    const events = await run(w);
    const image = events.find((event) => event.type === 'image');
    assert.equal(image?.type === 'image' && image.warnings, ['no requirements.txt']);
    assert.match(w.publisher.logTexts.join(''), '"msg":"no requirements.txt"');
    assert.equal(events.at(-1)?.type, 'finished');
  } finally {
    await rm(submission, { recursive: true, force: true });
  }
});

test("the image's warnings reach the job log once, and the image event", async () => {
  const submission = await mkdtemp(path.join(os.tmpdir(), 'pvhub-no-requirements-'));
  await copyFile(
    path.join(CORRECT_SUBMISSION, 'submission_wrapper.py'),
    path.join(submission, 'submission_wrapper.py'),
  );
  const w = await world({ submission });
  const events = await run(w);
  const image = events.find((event) => event.type === 'image');
  assert.equal(image?.type === 'image' ? image.warnings : undefined, ['no requirements.txt']);
  const log = w.publisher.logTexts.join('');
  assert.is(log.split('no requirements.txt').length - 1, 1, 'logged once');
  await rm(submission, { recursive: true, force: true });
});

test('a failing build: failed with its own code after the Hub was told; no container ran', async () => {
  const w = await world({ buildFailure: new WorkerError('op_2', 'requirement nosuchpackage has no wheel') });
  const events = await run(w);
  assert.equal(types(events), ['staged', 'building', 'failed']);
  const failed = events.at(-1);
  assert.ok(failed?.type === 'failed');
  assert.is(failed.error.code, 'op_2');
  assert.ok(failed.told);
  assert.equal(w.hub.statuses, ['running', 'failed']);
  assert.is(w.hub.breakingErrors[0]?.error_code, 'op_2');
  assert.equal(
    w.hub.calls.filter((call) => call.endsWith('error report') || call.endsWith('error')),
    ['breaking error'],
    "the breaking report is the submission's first: the one the front end shows",
  );
  assert.equal(w.engine.started, []);
  await assertReleased(w);
});

test('a file failing is a non-breaking error of that file; the others are scored and the job finishes', async () => {
  const w = await world({
    behaviour: (name) =>
      name === '1001_ac_power_ts02.csv' ? { kind: 'raises', message: 'bad data' } : { kind: 'correct' },
  });
  const events = await run(w);
  const finished = events.at(-1);
  assert.ok(finished?.type === 'finished');
  assert.is(finished.tally.rows.length, 12);
  assert.equal(
    finished.tally.failed.map((file) => [file.fileName, file.failure.code]),
    [['1001_ac_power_ts02.csv', 'sb_500']],
  );
  assert.equal(
    w.hub.fileErrors
      .filter((error) => error.file_name.endsWith('.csv'))
      .map((error) => [error.file_name, error.error_code]),
    [['1001_ac_power_ts02.csv', 'sb_500']],
  );
  const failedAt = w.hub.calls.indexOf('file error');
  assert.equal(
    w.hub.calls.slice(failedAt - 1, failedAt + 1),
    ['blank error report', 'file error'],
    'the report those errors go to is made at the first',
  );
  assert.is(w.hub.calls.filter((call) => call === 'blank error report').length, 1);
  await assertReleased(w);
});

test("every file's progress carries its container's wall time in seconds, a failed file's too, not the function's runtime", async () => {
  const w = await world({
    delayMs: 40,
    behaviour: (name) =>
      name === '1001_ac_power_ts02.csv' ? { kind: 'raises', message: 'bad data' } : { kind: 'correct', seconds: 0.01 },
  });
  await run(w);
  assert.is(w.hub.progress.length, 13, 'one progress per file, the failed one included');
  assert.equal(
    w.hub.progress,
    Array<number>(13).fill(0.04),
    'the wall time the engine measured (40 ms), not the 0.01 s the function took',
  );
});

test('a file that fails on a name lookup says that submission containers have no network', async () => {
  const lookup = 'URLError: <urlopen error [Errno -3] Temporary failure in name resolution>';
  const w = await world({
    behaviour: (name) =>
      name === '1001_ac_power_ts02.csv' ? { kind: 'raises', message: lookup } : { kind: 'correct' },
  });
  await run(w);
  assert.equal(
    w.hub.fileErrors.map((error) => error.error_message),
    [
      `${lookup} (submission containers have no network in this task: a function gets its data from its arguments and cannot download any)`,
    ],
  );
});

test("a file whose output the engine found to be a folder or a link is that file's op_8, saying so; the job finishes", async () => {
  const left = new Map<string, 'folder' | 'symbolic link'>([
    ['1001_ac_power_ts02.csv', 'folder'],
    ['1002_ac_power_ts03.csv', 'symbolic link'],
  ]);
  const w = await world({
    behaviour: (name) => {
      const output = left.get(name);
      return output === undefined ? { kind: 'correct' } : { kind: 'leaves', output };
    },
  });
  const events = await run(w);
  const finished = events.at(-1);
  assert.ok(finished?.type === 'finished', JSON.stringify(finished));
  assert.is(finished.tally.rows.length, 11);
  assert.equal(
    // In the order the files ended, which two at a time need not be theirs.
    finished.tally.failed.map((file) => [file.fileName, file.failure.code, file.failure.message]).sort(),
    [
      ['1001_ac_power_ts02.csv', 'op_8', 'the output is a folder, not a regular file, and was not kept'],
      ['1002_ac_power_ts03.csv', 'op_8', 'the output is a symbolic link, not a regular file, and was not kept'],
    ],
  );
  await assertReleased(w);
});

test('early abort: the first three files all failing stop the job with op_7 before the rest run', async () => {
  // Runs that take longer than a failed file's report, as real ones do: with instant ones the fifth's turn could come
  // while the third is reported, on a busy machine.
  const w = await world({ behaviour: () => ({ kind: 'raises', message: 'always' }), delayMs: 300 });
  const events = await run(w, { limits: { ...FAKE_LIMITS, maxParallel: 1 } });
  const failed = events.at(-1);
  assert.ok(failed?.type === 'failed');
  assert.is(failed.error.code, 'op_7');
  assert.match(failed.error.message, 'the first 3 files all failed');
  // A file's turn comes when the container before it ends, before that file is scored: the fourth may have begun.
  assert.ok(w.engine.ran.length >= 3 && w.engine.ran.length <= 4, `ran ${w.engine.ran.length} of 13`);
  await assertReleased(w);
});

test('a time limit: a job past it fails with op_500 and its running containers are stopped', async () => {
  const w = await world({ behaviour: () => ({ kind: 'hangs' }) });
  const events = await run(w, { timeLimitMs: 200 });
  const failed = events.at(-1);
  assert.ok(failed?.type === 'failed');
  assert.is(failed.error.code, 'op_500');
  assert.match(failed.error.message, 'time limit');
  assert.equal(w.hub.statuses, ['running', 'failed']);
  await assertReleased(w);
});

test('cancellation: an abort mid-run ends with cancelled, after every container, the workspace and the log are released', async () => {
  const w = await world({ behaviour: () => ({ kind: 'hangs' }) });
  const stop = new AbortController();
  // Once files run, however long the staging took on a busy machine.
  const abortWhenRunning = setInterval(() => {
    if (w.engine.started.length > 0) stop.abort('SIGTERM');
  }, 10);
  const events = await run(w, { signal: stop.signal }).finally(() => clearInterval(abortWhenRunning));
  assert.equal(events.at(-1), { type: 'cancelled', reason: 'SIGTERM' });
  assert.ok(w.engine.started.length > 0, 'files were running when the abort came');
  assert.equal(w.hub.statuses, ['running'], 'the Hub is not told: the message goes back to the queue');
  assert.ok(w.engine.removals >= 2, 'removal by label is repeated after a cut');
  await assertReleased(w);
});

test('unsubscribing mid-run releases the same way: containers, workspace and log, without a subscriber waiting', async () => {
  const w = await world({ behaviour: () => ({ kind: 'hangs' }) });
  const subscription = evaluateSubmission(FAKE_JOB, w.ports, fakeJobOptions(w)).subscribe();
  while (w.engine.started.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  subscription.unsubscribe();
  const workspaceLeft = async () => (await readdir(w.workDir)).some((name) => name.startsWith('submission-'));
  for (
    let wait = 0;
    wait < 200 && (w.publisher.logs.length === 0 || (await workspaceLeft()) || existsSync(w.jobLog.dir));
    wait += 1
  ) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await assertReleased(w);
});

test("the workspace bears its owner's id while the job runs; a kept one loses it, so no worker removes it later", async () => {
  const w = await world();
  const during: string[] = [];
  w.engine.onRun = (what) => {
    if (what === 'start' && during.length === 0)
      during.push(...readdirSync(w.workDir).filter((name) => name.startsWith('submission-')));
  };
  assert.is(types(await run(w, { keepWorkspace: true })).at(-1), 'finished');
  assert.equal(
    during.map((name) => ownedFolder(name)?.owner),
    [FAKE_WORKER],
  );
  const kept = (await readdir(w.workDir)).filter((name) => name.startsWith('submission-'));
  assert.equal(kept, [keptWorkspaceName(during[0] ?? '', FAKE_WORKER)]);
  assert.is(ownedFolder(kept[0] ?? ''), undefined);
});

test('a retryable failure goes back untold, before or after files were reported: the next attempt resumes from the ledger', async () => {
  const early = await world();
  early.hub.unreachableFor('systems');
  const untold = await run(early, { retryLater: (error) => error.retryable });
  const untoldFailure = untold.at(-1);
  assert.ok(untoldFailure?.type === 'failed');
  assert.equal([untoldFailure.error.code, untoldFailure.retry, untoldFailure.told], ['wr_5', true, false]);
  assert.equal(early.hub.statuses, ['running']);

  // Every file scored and reported, then the Hub down for the result: released, not failed.
  const first = await world({
    behaviour: (name) =>
      name === '1001_ac_power_ts02.csv' ? { kind: 'raises', message: 'bad data' } : { kind: 'correct' },
  });
  first.hub.unreachableFor('result');
  const released = (await run(first, { retryLater: (error) => error.retryable })).at(-1);
  assert.ok(released?.type === 'failed' && released.retry && !released.told);
  assert.equal(first.hub.statuses, ['running']);
  assert.is(first.hub.progress.length, 13);

  // The second attempt, on the same ledger and the same Hub: no file runs again, no progress or error is sent twice.
  first.hub.failing.delete('result');
  const second = await world({ ledgers: first.ledgers });
  const again: FakeJobWorld = { ...second, hub: first.hub, ports: { ...second.ports, hub: first.hub } };
  const finished = (await run(again, { retryLater: (error) => error.retryable })).at(-1);
  assert.ok(finished?.type === 'finished', JSON.stringify(finished));
  assert.is(finished.tally.rows.length, 12, 'the resumed scores are in the results');
  assert.equal(second.engine.started, [], 'no container: every file was scored by the first attempt');
  assert.is(first.hub.progress.length, 13, 'progress reaches the total once');
  assert.is(first.hub.fileErrors.filter((error) => error.file_name.endsWith('.csv')).length, 1);
  assert.is(first.hub.calls.filter((call) => call === 'blank error report').length, 1);
  assert.equal(first.hub.statuses, ['running', 'running', 'finished']);
});

/** Resolves once the Hub stored the job's result (the finish then waits for the report alone). */
function resultStored(w: FakeJobWorld): Promise<void> {
  return new Promise((resolve) => {
    const updateResult = w.hub.updateResult.bind(w.hub);
    w.hub.updateResult = async (id, results) => {
      await updateResult(id, results);
      resolve();
    };
  });
}

test("the report's container starts beside the files when memory has a slot for it; it renders the scored rows", async () => {
  const w = await world({ reportImage: true });
  let render = () => undefined as void;
  const rendered = new Promise<void>((resolve) => (render = resolve));
  w.engine.reportRender = () => rendered;
  const stored = resultStored(w);
  const events = run(w);
  await stored;
  // Prepared at the image, beside the files (4 GiB hold two files and the report), not after them; its own set-up
  // (a folder, its files) races the first files' staging, so only "early" is certain.
  const reportAt = w.engine.started.indexOf('report');
  assert.ok(reportAt >= 0 && reportAt <= 6, `started among the first files: ${w.engine.started.join(', ')}`);
  assert.equal(w.hub.calls.slice(-1), ['result'], 'the result is stored while the report renders');
  assert.equal(w.publisher.reports, []);
  render();
  const finished = (await events).at(-1);
  assert.ok(finished?.type === 'finished');
  assert.is(finished.reportFromTemplate, true);
  assert.is(w.engine.reportRows[0]?.length, 13, 'one row per scored file');
  assert.equal(w.hub.calls.slice(-2), ['result', 'status finished']);
  assert.is(w.publisher.reports.length, 1, 'the report is published, before the status');
  await assertReleased(w);
});

test('without a spare slot the report waits until fewer files are left than run at once', async () => {
  const w = await world({ reportImage: true });
  const onRun = w.engine.onRun;
  let ended = 0;
  const endedWhenReportStarted: number[] = [];
  w.engine.onRun = (what, name) => {
    if (what === 'end' && name !== 'report') ended += 1;
    if (what === 'start' && name === 'report') endedWhenReportStarted.push(ended);
    onRun(what, name);
  };
  // 2.5 GiB hold the two files a time, not a third container: the report takes the slot the twelfth file leaves.
  const events = await run(w, {}, { ...w.ports, freeMemory: () => 2.5 * 1024 ** 3 });
  assert.equal(events.at(-1)?.type, 'finished');
  assert.is(endedWhenReportStarted.length, 1);
  assert.ok((endedWhenReportStarted[0] ?? 0) >= 12, `started after ${endedWhenReportStarted[0]} files ended`);
});

test('a cancel while the report renders removes its container; the report and the status finished are not sent', async () => {
  const w = await world({ reportImage: true });
  w.engine.reportRender = () => new Promise(() => undefined);
  const stored = resultStored(w);
  const stop = new AbortController();
  const events = run(w, { signal: stop.signal });
  await stored;
  assert.ok(w.engine.running.size > 0, 'the report container runs');
  stop.abort('SIGTERM');
  assert.equal((await events).at(-1), { type: 'cancelled', reason: 'SIGTERM' });
  assert.equal(w.publisher.reports, []);
  assert.not.ok(w.hub.calls.includes('status finished'));
  await assertReleased(w);
});

test('an attempt that finds the final status in the ledger sends it never again', async () => {
  const first = await world();
  await run(first);
  const second = await world({ ledgers: first.ledgers });
  assert.equal([...(await first.ledgers.load()).applied], ['status-finished']);
  assert.is(second.ports.ledger.finalStatus, 'finished');
});

test.run();
