import { rm } from 'node:fs/promises';
import { pino } from 'pino';
import { lastValueFrom, NEVER, toArray } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { MessageOptions } from '../src/operators/settle-message.js';
import type { QueueMessage } from '../src/ports/job-queue.js';
import { serveJobs } from '../src/worker.js';
import { FAKE_LIMITS, type FakeJobWorld, fakeJobWorld, RecordingQueue } from './helpers/fake-ports.js';

const BODY = JSON.stringify({ analysis_pk: 1, submission_pk: 7, user_pk: 'u', submission_filename: 'time-shift-correct', python_version: '3.11' });
const message = (id: string): QueueMessage => ({ id, body: BODY, receiptHandle: id, receiveCount: 1, firstReceivedAt: Date.now() });

const worlds: FakeJobWorld[] = [];
test.after.each(async () => {
  for (const world of worlds.splice(0)) await rm(world.workDir, { recursive: true, force: true });
});

async function serving(messages: QueueMessage[], maxJobs: number, signal: AbortSignal) {
  const world = await fakeJobWorld();
  worlds.push(world);
  const queue = new RecordingQueue(messages);
  const options: MessageOptions = {
    limits: FAKE_LIMITS,
    jobTimeLimitMs: 3_600_000,
    maxReceives: 3,
    workDir: world.workDir,
    keepWorkspace: false,
    logLevel: 'silent',
    log: pino({ level: 'silent' }),
    signal,
  };
  const outcomes = await lastValueFrom(serveJobs({ ...world.ports, queue, heartbeat: () => NEVER }, options, 0, maxJobs).pipe(toArray()));
  return { outcomes, queue };
}

test('maxJobs messages, one after another, each settled; then the loop ends', async () => {
  const { outcomes, queue } = await serving([message('a'), message('b'), message('c')], 2, new AbortController().signal);
  assert.equal(outcomes.map((outcome) => outcome.action), ['deleted', 'deleted']);
  assert.equal(queue.actions, ['delete', 'delete']);
});

test('a stop while polling ends the loop at once, with no message taken', async () => {
  const stop = new AbortController();
  setTimeout(() => stop.abort('SIGTERM'), 50);
  const started = Date.now();
  const { outcomes, queue } = await serving([], 0, stop.signal);
  assert.equal(outcomes, []);
  assert.equal(queue.actions, []);
  assert.ok(Date.now() - started < 1000, 'the poll is cut, not waited out');
});

test('a stop given before the loop starts takes no message', async () => {
  const stop = new AbortController();
  stop.abort('SIGINT');
  const { outcomes, queue } = await serving([message('a')], 0, stop.signal);
  assert.equal(outcomes, []);
  assert.equal(queue.actions, []);
});

test.run();
