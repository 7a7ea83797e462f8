import { rm } from 'node:fs/promises';
import { lastValueFrom, toArray } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FileBehaviour } from '../../src/adapters/simulated/file-outcomes.js';
import { InfrastructureFault } from '../../src/domain/infrastructure-fault.js';
import type { JobEvent } from '../../src/domain/job-event.js';
import { evaluateSubmission } from '../../src/operators/evaluate-submission.js';
import { FILE_TRIES } from '../../src/operators/retry-infrastructure-faults.js';
import { FAKE_JOB, type FakeJobWorld, fakeJobOptions, fakeJobWorld } from '../helpers/fake-ports.js';

/**
 * Faults of the worker's own infrastructure under a job (over the simulated engine): a container removed from
 * outside, an engine that does not answer, a host out of memory. Retried in a fresh container, or the job fails as
 * ours and retryable, never as the submission's file.
 */

const FILES = 13;
const VICTIM = '1002_ac_power_ts03.csv';
const GIB = 1024 ** 3;

const worlds: FakeJobWorld[] = [];
test.after.each(async () => {
  for (const world of worlds.splice(0)) await rm(world.workDir, { recursive: true, force: true });
});

async function run(options: Parameters<typeof fakeJobWorld>[0]): Promise<{ w: FakeJobWorld; events: JobEvent[] }> {
  const w = await fakeJobWorld(options);
  worlds.push(w);
  const events = await lastValueFrom(
    evaluateSubmission(FAKE_JOB, w.ports, fakeJobOptions(w, { retryLater: (error) => error.retryable })).pipe(
      toArray(),
    ),
  );
  return { w, events };
}

/** The victim behaves so on its first `times` starts, correctly after. */
const victimFirst =
  (behaviour: FileBehaviour, times = 1) =>
  (name: string, start: number): FileBehaviour =>
    name === VICTIM && start <= times ? behaviour : { kind: 'correct' };
const startsOf = (w: FakeJobWorld, name: string) => w.engine.started.filter((started) => started === name).length;
/** The non-breaking errors of data files (the simulated engine runs no report: the template's is always there). */
const fileErrors = (w: FakeJobWorld) => w.hub.fileErrors.filter((error) => error.file_name.endsWith('.csv'));

test('a container removed under a running file: the file runs again in a fresh one, and the job finishes with every file scored', async () => {
  const { w, events } = await run({ behaviour: victimFirst({ kind: 'vanishes' }) });
  assert.is(events.at(-1)?.type, 'finished');
  assert.is(startsOf(w, VICTIM), 2);
  assert.is(w.hub.progress.length, FILES, 'each file reported once');
  assert.ok(
    w.hub.progress.every((seconds) => seconds !== null),
    'every file scored',
  );
  assert.equal(fileErrors(w), [], 'nothing put down to the submission');
  assert.is(w.engine.running.size, 0);
});

test('an engine that refuses a container started ahead, then answers: the next try has its turn and its file', async () => {
  // The files before it run longer than the pause before the next try: its turn comes while that try warms up.
  const { w, events } = await run({ behaviour: victimFirst({ kind: 'engine-down' }), delayMs: 700 });
  assert.is(events.at(-1)?.type, 'finished', JSON.stringify(events.at(-1)));
  assert.is(startsOf(w, VICTIM), 2);
  assert.equal(fileErrors(w), [], 'nothing put down to the submission');
  assert.is(w.hub.progress.filter((seconds) => seconds !== null).length, FILES);
});

test('a file whose container keeps vanishing: the job fails as ours (wr_500, retryable), never as the file', async () => {
  const { w, events } = await run({ behaviour: victimFirst({ kind: 'vanishes' }, FILE_TRIES) });
  const failed = events.at(-1);
  assert.ok(failed?.type === 'failed');
  assert.instance(failed.error, InfrastructureFault);
  assert.equal([failed.error.code, failed.error.retryable], ['wr_500', true]);
  assert.match(failed.error.message, 'the container was removed from outside while it ran');
  assert.is(startsOf(w, VICTIM), FILE_TRIES, 'a bounded number of tries');
  assert.equal(
    fileErrors(w).filter((error) => error.file_name === VICTIM),
    [],
    'no error of that file',
  );
  assert.ok(fileErrors(w).every((error) => !error.error_code.startsWith('sb_')));
  // Files were reported before the last try failed: the ledger lets the next attempt resume without counting them twice.
  assert.ok(w.hub.progress.length > 0);
  assert.equal([failed.retry, w.hub.breakingErrors], [true, []]);
});

test('an engine that does not answer before any file was reported: the job goes back to the queue, the Hub not told', async () => {
  const { w, events } = await run({ behaviour: () => ({ kind: 'engine-down' }) });
  const failed = events.at(-1);
  assert.ok(failed?.type === 'failed');
  assert.equal([failed.error.code, failed.retry, failed.told], ['wr_500', true, false]);
  assert.match(failed.error.message, 'ECONNREFUSED');
  assert.equal(w.hub.statuses, ['running']);
  assert.equal([w.hub.progress, fileErrors(w), w.hub.breakingErrors], [[], [], []]);
});

test('killed for memory while the host had less free than its limit: the host ran out, the file runs again', async () => {
  let hostShort = false;
  const { w, events } = await run({
    behaviour: (name, start) => {
      // Short from the victim's first start until its second: the other files' runs do not change that.
      if (name === VICTIM) hostShort = start === 1;
      return name === VICTIM && start === 1 ? { kind: 'out-of-memory' } : { kind: 'correct' };
    },
    freeMemory: () => (hostShort ? GIB / 2 : 4 * GIB),
  });
  assert.is(events.at(-1)?.type, 'finished');
  assert.is(startsOf(w, VICTIM), 2);
  assert.equal(fileErrors(w), []);
  assert.is(w.hub.progress.filter((seconds) => seconds !== null).length, FILES);
});

test('killed for memory with the host well off: its own limit, the submission’s failure (sb_500), not retried', async () => {
  const { w, events } = await run({ behaviour: victimFirst({ kind: 'out-of-memory' }, FILE_TRIES) });
  assert.is(events.at(-1)?.type, 'finished');
  assert.is(startsOf(w, VICTIM), 1);
  assert.equal(
    fileErrors(w).map((error) => [error.file_name, error.error_code]),
    [[VICTIM, 'sb_500']],
  );
  assert.match(fileErrors(w)[0]?.error_message ?? '', 'exceeded the memory limit');
});

test.run();
