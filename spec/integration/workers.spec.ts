import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ownedFolder } from '../../src/domain/ownership.js';
import { uniqueName } from '../helpers/services.js';
import {
  appliedBodies,
  disposeWorlds,
  containersOwnedBy,
  keysUnder,
  objectText,
  prefixOf,
  startWorker,
  storeTask,
  submit,
  SUBMISSIONS,
  type World,
  world,
  WORKER_TIME_LIMIT_MS,
} from '../helpers/hub-world.js';
import { until } from '../helpers/until.js';

/**
 * Several workers on one Docker engine and one work folder, as ECS places tasks on one instance: each removes only
 * what it owns and what provably dead workers left. Three run at once: one is killed with -9, one stopped, and the
 * third runs a job that must finish with every file scored, though one of its containers is removed under it; a
 * fourth, started after, cleans up after the killed one.
 */

test.after.each(disposeWorlds);

/** A worker process and what it printed; its id is read from its first line. */
class Worker {
  stdout = '';
  readonly exited: Promise<number | null>;
  constructor(readonly child: ReturnType<typeof startWorker>) {
    child.stdout.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    this.exited = new Promise((resolve) => child.on('close', resolve));
  }
  /** The worker's id, from its 'worker starting' line. */
  async id(): Promise<string> {
    await until(() => this.stdout.includes('"worker starting"'), 60_000, 'the worker to start');
    const line = this.stdout.split('\n').find((text) => text.includes('"worker starting"')) ?? '';
    return String((JSON.parse(line) as { worker: unknown }).worker);
  }
  async containers(only: 'all' | 'files' = 'all'): Promise<string[]> {
    return containersOwnedBy(await this.id(), only);
  }
  /** Its exit status, within `ms`; past it the spec fails with what the worker printed. */
  exit(ms = WORKER_TIME_LIMIT_MS): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new Error(`the worker did not exit within ${ms / 1000} s; it printed: ${this.stdout.slice(-3000)}`)),
        ms,
      );
    });
    return Promise.race([this.exited, late]).finally(() => clearTimeout(timer));
  }
  /** Waits until it runs a file's container; a worker that ends first, or never gets there, fails with its log. */
  async running(what: string): Promise<void> {
    let ended = false;
    void this.exited.then(() => (ended = true));
    await until(async () => ended || (await this.containers('files')).length > 0, WORKER_TIME_LIMIT_MS, what).catch(
      (error: Error) => {
        throw new Error(`${error.message}; the worker printed: ${this.stdout.slice(-3000)}`);
      },
    );
    if (ended) throw new Error(`the worker ended before running ${what}: ${this.stdout.slice(-3000)}`);
  }
}

function launch(w: World, env: Record<string, string> = {}): Worker {
  // One container at a time each (three workers share two cores); long enough for the sleeping files to be alive.
  return new Worker(
    startWorker(w, ['--max-jobs', '1'], { PVHUB_MAX_PARALLEL: '1', PVHUB_FILE_TIME_LIMIT: '600', ...env }),
  );
}

/** The correct submission, `seconds` slower on every file, zipped in `dir`. */
async function slowedCorrectSubmission(dir: string, seconds: number): Promise<string> {
  const source = path.join(dir, `sleeps-${seconds}`);
  await cp(path.join(SUBMISSIONS, 'time-shift-correct'), source, { recursive: true });
  const wrapper = path.join(source, 'submission_wrapper.py');
  const code = await readFile(wrapper, 'utf8');
  const signature =
    'def detect_time_shifts(time_series, latitude=None, longitude=None, data_sampling_frequency=None):\n';
  assert.ok(code.includes(signature));
  await writeFile(wrapper, code.replace(signature, `${signature}    import time\n\n    time.sleep(${seconds})\n`));
  const zip = path.join(dir, `time-shift-correct-after-${seconds}s.zip`);
  await promisify(execFile)('python3', ['-m', 'zipfile', '-c', zip, path.join(source, 'requirements.txt'), wrapper]);
  return zip;
}

test('three workers on one engine: a kill -9, a stop, and a job that finishes with every file scored though a container of it was removed', async () => {
  const w = await world();
  await storeTask(w);
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-workers-spec-'));
  // Asleep on every file for the whole spec, and a job that lasts while the other workers come and go.
  const asleep = await slowedCorrectSubmission(scratch, 3600);
  const slow = await slowedCorrectSubmission(scratch, 2);
  const workers: Worker[] = [];
  try {
    // Each job in its own message group, so each worker takes the one that is visible when it starts.
    const killedJob = await submit(w, asleep, 201, 'killed');
    const killed = launch(w);
    workers.push(killed);
    await killed.running('a container of the worker to be killed');

    const stoppedJob = await submit(w, asleep, 202, 'stopped');
    const stopped = launch(w);
    workers.push(stopped);
    await stopped.running('a container of the worker to be stopped');

    const finishing = await submit(w, slow, 203, 'finishing');
    const finisher = launch(w);
    workers.push(finisher);
    await finisher.running('a container of the job that must finish');
    // Its containers removed from under the running job (as the sweep of an older version did), a file's and the results
    // holder: the file runs again.
    await promisify(execFile)('docker', ['rm', '-f', ...(await finisher.containers())]);
    assert.ok((await killed.containers()).length > 0, "the later workers' start left the first one's containers");
    assert.ok((await stopped.containers()).length > 0);

    killed.child.kill('SIGKILL');
    await killed.exited;
    const orphans = await killed.containers();
    assert.ok(orphans.length > 0, 'kill -9 leaves its container running');

    stopped.child.kill('SIGTERM');
    assert.is(await stopped.exit(30_000), 143, stopped.stdout.slice(-3000));
    assert.equal(await stopped.containers(), [], 'a stopped worker removes its own containers');
    assert.equal(await killed.containers(), orphans, 'and nobody else’s');

    // A fresh worker (ECS replacing the killed one), on a queue of its own: its start cleans up after the dead.
    const cleaner = launch(w, {
      PVHUB_QUEUE_NAME: `${uniqueName('pvhub-workers-spec')}.fifo`,
      PVHUB_CREATE_QUEUE: 'true',
    });
    workers.push(cleaner);
    await until(
      () => cleaner.stdout.includes('removed containers left by workers that died'),
      60_000,
      'the clean-up after the killed worker',
    );
    assert.equal(await killed.containers(), [], "the killed worker's containers are gone");
    const killedId = await killed.id();
    const cleaned = () =>
      ['uploaded the job log of a worker that died', 'removed workspaces left by workers that died'].every((line) =>
        cleaner.stdout.includes(line),
      );
    await until(cleaned, 10_000, "the killed worker's log and workspace");
    assert.equal(
      (await readdir(w.work)).filter((name) => ownedFolder(name)?.owner === killedId),
      [],
      'its workspace and log folder are gone',
    );
    const attempts = await keysUnder(w, `${prefixOf(killedJob)}logs/attempts/`);
    assert.equal(
      attempts.map((key) => key.replace(/^\d{8}T\d{6}Z-/, '')).sort(),
      ['submission.error.log', 'submission.log', 'submission.log.jsonl'].map((name) => `${killedId}/${name}`),
    );
    const killedLog = await objectText(
      w,
      `${prefixOf(killedJob)}logs/attempts/${attempts.find((key) => key.endsWith('.jsonl')) ?? ''}`,
    );
    assert.match(killedLog, '"msg":"running files"', 'the log of the attempt, as far as it went');
    assert.equal(
      await keysUnder(w, `${prefixOf(killedJob)}logs/`),
      attempts.map((key) => `attempts/${key}`),
      'nothing in the place of the log of an attempt that settles the job',
    );
    assert.match(cleaner.stdout, killedId);
    assert.not.match(cleaner.stdout, await finisher.id(), 'the live worker is not among the dead');
    cleaner.child.kill('SIGTERM');
    await cleaner.exit(30_000);

    assert.is(await finisher.exit(), 0, finisher.stdout.slice(-3000));
    assert.match(
      finisher.stdout,
      /was removed from outside while it ran[^\n]*; the file runs again in a fresh container/,
      finisher.stdout.slice(-6000),
    );
    const sid = finishing.submissionId;
    assert.equal(w.hub.statuses.get(sid), ['running', 'finished'], finisher.stdout.slice(-6000));
    assert.is(
      appliedBodies(w.hub.requests, 'POST', `submissions/submission/${sid}/progress_increment`).length,
      w.files.length,
      'every file reported once',
    );
    assert.equal(
      appliedBodies(w.hub.requests, 'POST', `error/error_report/${sid}/update_non_breaking`),
      [],
      'no file failed',
    );
    assert.ok(w.hub.results.has(sid));
    assert.equal(w.hub.statuses.get(stoppedJob.submissionId), ['running'], 'the stopped job went back to the queue');
    assert.equal(w.hub.statuses.get(killedJob.submissionId), ['running']);
  } finally {
    for (const worker of workers) worker.child.kill('SIGKILL');
    for (const worker of workers) {
      await worker.exited;
      // What a spec's failure left of the workers it made.
      const left = await worker.containers().catch(() => []);
      if (left.length > 0) await promisify(execFile)('docker', ['rm', '-f', ...left]);
    }
    await rm(scratch, { recursive: true, force: true });
  }
});

test.run();
