import { mkdtemp, rm, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { lastValueFrom, NEVER, toArray } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { healthProblem } from '../src/domain/health.js';
import type { JobQueue, QueueMessage } from '../src/ports/job-queue.js';
import { healthFileTouchedAt, touchHealthFile } from '../src/sinks/health-file.js';
import { serveJobs, type ServeOptions } from '../src/worker.js';
import { cli } from './helpers/cli.js';
import { RecordingQueue } from '../src/adapters/simulated/queue.js';
import { FAKE_LIMITS, FAKE_WORKER, type FakeJobWorld, fakeJobWorld } from './helpers/fake-ports.js';

const BODY = JSON.stringify({
  analysis_pk: 1,
  submission_pk: 7,
  user_pk: 'u',
  submission_filename: 'time-shift-correct',
  python_version: '3.11',
});
const message = (id: string): QueueMessage => ({
  id,
  body: BODY,
  receiptHandle: id,
  receiveCount: 1,
  firstReceivedAt: Date.now(),
});

const worlds: FakeJobWorld[] = [];
test.after.each(async () => {
  for (const world of worlds.splice(0)) await rm(world.workDir, { recursive: true, force: true });
});

async function serving(
  messages: QueueMessage[],
  maxJobs: number,
  signal: AbortSignal,
  queue: JobQueue = new RecordingQueue(messages),
  onAlive?: () => void,
) {
  const world = await fakeJobWorld();
  worlds.push(world);
  const options: ServeOptions = {
    limits: FAKE_LIMITS,
    jobTimeLimitMs: 3_600_000,
    maxReceives: 3,
    workDir: world.workDir,
    workerId: FAKE_WORKER,
    keepWorkspace: false,
    logLevel: 'silent',
    log: pino({ level: 'silent' }),
    signal,
    pollWaitSeconds: 0,
    maxJobs,
    ...(onAlive ? { onAlive } : {}),
  };
  const outcomes = await lastValueFrom(
    serveJobs({ ...world.ports, queue, heartbeat: () => NEVER, ledgers: world.ledgers }, options).pipe(toArray()),
  );
  return { outcomes, queue };
}

test('maxJobs messages, one after another, each settled; then the loop ends', async () => {
  const queue = new RecordingQueue([message('a'), message('b'), message('c')]);
  const { outcomes } = await serving([], 2, new AbortController().signal, queue);
  assert.equal(
    outcomes.map((outcome) => outcome.action),
    ['deleted', 'deleted'],
  );
  assert.equal(queue.actions, ['delete', 'delete']);
});

test('a stop while polling ends the loop at once, with no message taken', async () => {
  const stop = new AbortController();
  setTimeout(() => stop.abort('SIGTERM'), 50);
  const started = Date.now();
  const queue = new RecordingQueue([]);
  const { outcomes } = await serving([], 0, stop.signal, queue);
  assert.equal(outcomes, []);
  assert.equal(queue.actions, []);
  assert.ok(Date.now() - started < 1000, 'the poll is cut, not waited out');
});

test('a stop given before the loop starts takes no message', async () => {
  const stop = new AbortController();
  stop.abort('SIGINT');
  const queue = new RecordingQueue([message('a')]);
  const { outcomes } = await serving([], 0, stop.signal, queue);
  assert.equal(outcomes, []);
  assert.equal(queue.actions, []);
});

test('health: each poll touches the heartbeat; a loop frozen on a poll that never returns goes stale', async () => {
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'pvhub-health-')), 'worker.alive');
  const check = () => healthProblem(healthFileTouchedAt(file), Date.now(), 1);
  assert.match(check() ?? '', 'no heartbeat yet');
  // Empty polls, one a second: alive all along.
  const polling = new AbortController();
  setTimeout(() => polling.abort('SIGTERM'), 2500);
  const checks: Array<string | undefined> = [];
  const sampler = setInterval(() => checks.push(check()), 500);
  await serving([], 0, polling.signal, new RecordingQueue([]), () => touchHealthFile(file));
  clearInterval(sampler);
  assert.ok(checks.length >= 3);
  assert.equal(
    checks.filter((problem) => problem !== undefined),
    [],
    'healthy while polling',
  );
  // A queue whose receive never answers (the network hung): the heartbeat stops with it.
  const hung = new (class extends RecordingQueue {
    override receive = () => new Promise<QueueMessage | undefined>(() => undefined);
  })();
  const frozen = new AbortController();
  const serve = serving([], 0, frozen.signal, hung, () => touchHealthFile(file));
  await new Promise((resolve) => setTimeout(resolve, 2600));
  assert.match(check() ?? '', 'the worker is hung');
  frozen.abort('SIGTERM');
  await serve;
  await rm(path.dirname(file), { recursive: true, force: true });
});

test('pvhub-worker healthcheck: 0 on a fresh heartbeat, 1 with the reason on a stale or missing one', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pvhub-health-'));
  const file = path.join(dir, 'worker.alive');
  const env = { PVHUB_HEALTH_FILE: file, PVHUB_HEALTH_MAX_AGE: '60' };
  const missing = await cli(['healthcheck'], env);
  assert.is(missing.status, 1);
  assert.match(missing.stderr, 'no heartbeat yet');
  touchHealthFile(file);
  const fresh = await cli(['healthcheck'], env);
  assert.is(fresh.status, 0, fresh.stderr);
  const hourAgo = new Date(Date.now() - 3_600_000);
  await utimes(file, hourAgo, hourAgo);
  const stale = await cli(['healthcheck'], env);
  assert.is(stale.status, 1);
  assert.match(stale.stderr, /last heartbeat 360\d s ago, more than 60 s: the worker is hung/);
  await rm(dir, { recursive: true, force: true });
});

test.run();
