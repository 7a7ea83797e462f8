import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LocalTaskStore } from '../../src/adapters/local-task-store.js';
import { EXAMPLE_TASK } from '../../src/adapters/simulated/hub.js';
import type { EgressSettings } from '../../src/domain/egress-policy.js';
import type { Job } from '../../src/domain/job.js';
import type { JobEvent } from '../../src/domain/job-event.js';
import { LOOPBACK_HOSTS } from '../../src/domain/workspace.js';
import { evaluateSubmission, type JobOptions } from '../../src/operators/evaluate-submission.js';
import {
  CORRECT_SUBMISSION,
  FAKE_JOB,
  type FakeJobWorld,
  fakeJobOptions,
  fakeJobWorld,
} from '../helpers/fake-ports.js';

/** The job's egress over the simulated engine: when a network and proxy are made, what the runs get, and that both go. */

const ALLOWED: EgressSettings = { enabled: true, cap: undefined, outwardNetwork: 'outward', deny: [] };
const worlds: FakeJobWorld[] = [];
test.after.each(async () => {
  for (const world of worlds.splice(0)) await rm(world.workDir, { recursive: true, force: true });
});

/** The job's log as it was published (the scope removes the file after that). */
const publishedLogs = new Map<FakeJobWorld['publisher'], string>();

/** The example task, with this network_allowlist in its config.json (none when undefined). */
async function world(
  allowlist: readonly string[] | undefined,
  options: Parameters<typeof fakeJobWorld>[0] = {},
): Promise<FakeJobWorld> {
  const made = await fakeJobWorld(options);
  worlds.push(made);
  const { publisher } = made;
  const publishLogs = async (job: Job, dir: string) => {
    publishedLogs.set(publisher, await readFile(made.jobLog.file, 'utf8'));
    await publisher.publishLogs(job, dir);
  };
  const ports = {
    ...made.ports,
    publisher: {
      publishResults: publisher.publishResults.bind(publisher),
      publishReport: publisher.publishReport.bind(publisher),
      publishLogs,
    },
  };
  if (allowlist === undefined) return { ...made, ports };
  const task = path.join(made.workDir, 'task');
  await cp(EXAMPLE_TASK, task, { recursive: true });
  const config = JSON.parse(await readFile(path.join(task, 'config.json'), 'utf8')) as Record<string, unknown>;
  await writeFile(path.join(task, 'config.json'), JSON.stringify({ ...config, network_allowlist: allowlist }));
  return { ...made, ports: { ...ports, store: new LocalTaskStore(task, CORRECT_SUBMISSION) } };
}

function run(w: FakeJobWorld, overrides: Partial<JobOptions> = {}, job: Job = FAKE_JOB): Promise<JobEvent[]> {
  return lastValueFrom(
    evaluateSubmission(job, w.ports, fakeJobOptions(w, { egress: ALLOWED, ...overrides })).pipe(toArray()),
  );
}

function jobLog(w: FakeJobWorld): Array<Record<string, unknown>> {
  const text = publishedLogs.get(w.publisher) ?? '';
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The job's network and proxy are gone, with its containers and workspace. */
async function assertNothingLeft(w: FakeJobWorld): Promise<void> {
  assert.equal([...w.engine.networks.keys()], [], 'no network left');
  assert.equal([...w.engine.services.keys()], [], 'no proxy left');
  assert.is(w.engine.running.size, 0, 'no run left');
  assert.equal(
    (await readdir(w.workDir)).filter((name) => name.startsWith('submission-')),
    [],
    'no workspace left',
  );
}

test('a task without an allowlist runs exactly as before: no network made, no run on one, nothing to pay', async () => {
  const w = await world(undefined);
  const events = await run(w);
  assert.is(events.at(-1)?.type, 'finished');
  assert.equal(w.engine.madeNetworks, []);
  assert.is(w.engine.runNetworks.length, 13);
  assert.ok(
    w.engine.runNetworks.every((network) => network === undefined),
    'every run has no network',
  );
  assert.ok(
    w.engine.runHosts.every((hosts) => hosts === LOOPBACK_HOSTS),
    "every run resolves the loopback's names alone",
  );
  assert.not.ok(jobLog(w).some((line) => line['msg'] === 'egress ready'));
});

test('a task with an allowlist: one network and one proxy for the job, every run on that network, both gone after', async () => {
  const w = await world(['developer.nrel.gov:443']);
  const events = await run(w);
  assert.is(events.at(-1)?.type, 'finished');
  assert.is(w.engine.madeNetworks.length, 1);
  const [network] = w.engine.madeNetworks;
  assert.match(network ?? '', /^pvhub-job-7-[0-9a-f]{8}$/);
  assert.equal(new Set(w.engine.runNetworks), new Set([network]));
  assert.equal(new Set(w.engine.runHosts), new Set([undefined]), "on a network, the engine's own hosts file");
  const ready = jobLog(w).find((line) => line['msg'] === 'egress ready');
  assert.ok(ready, 'the set-up is logged');
  assert.equal(ready['allowed'], ['developer.nrel.gov:443']);
  assert.type(ready['setupMs'], 'number');
  await assertNothingLeft(w);
});

test('two jobs at once on one engine never share a network or a proxy', async () => {
  const first = await world(['developer.nrel.gov:443'], { delayMs: 20 });
  const second = await world(['developer.nrel.gov:443']);
  const shared = { ...second, ports: { ...second.ports, engine: first.engine } };
  let most = 0;
  const watch = setInterval(() => (most = Math.max(most, first.engine.networks.size, first.engine.services.size)), 2);
  await Promise.all([run(first), run(shared, {}, { ...FAKE_JOB, submissionId: 8 })]);
  clearInterval(watch);
  assert.is(new Set(first.engine.madeNetworks).size, 2, 'one network each');
  assert.is(most, 2, 'both lived at once, each job with its own network and proxy');
  await assertNothingLeft(first);
});

test('a worker that allows no network refuses the task before its image is built (wr_500, the Hub told why)', async () => {
  const w = await world(['developer.nrel.gov:443']);
  const events = await run(w, { egress: { ...ALLOWED, enabled: false } });
  const failed = events.at(-1);
  assert.ok(failed?.type === 'failed');
  assert.is(failed.error.code, 'wr_500');
  assert.match(failed.error.message, 'needs network access to developer.nrel.gov:443');
  assert.is(w.images.requests.length, 0, 'no image was built');
  assert.equal(w.engine.started, []);
  assert.equal(w.engine.madeNetworks, []);
});

test('a task that lists more than the cap is refused, naming the pairs beyond it', async () => {
  const w = await world(['developer.nrel.gov:443', 'api.example.org:443']);
  const events = await run(w, { egress: { ...ALLOWED, cap: [{ host: 'nrel.gov', subdomains: true, port: 443 }] } });
  const failed = events.at(-1);
  assert.ok(failed?.type === 'failed');
  assert.match(failed.error.message, 'api.example.org:443, beyond what this worker allows');
  assert.equal(w.engine.madeNetworks, []);
});

test('a job whose files all fail (op_7) leaves no network or proxy either', async () => {
  const w = await world(['developer.nrel.gov:443'], { behaviour: () => ({ kind: 'raises', message: 'boom' }) });
  const events = await run(w);
  const failed = events.at(-1);
  assert.ok(failed?.type === 'failed');
  assert.is(failed.error.code, 'op_7');
  assert.is(w.engine.madeNetworks.length, 1);
  await assertNothingLeft(w);
});

test('a job cancelled mid-run leaves no network or proxy', async () => {
  const w = await world(['developer.nrel.gov:443'], { behaviour: () => ({ kind: 'hangs' }) });
  const stop = new AbortController();
  const events = run(w, { signal: stop.signal });
  while (w.engine.started.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.is(w.engine.networks.size, 1, 'the network exists while files run');
  stop.abort('SIGTERM');
  assert.equal((await events).at(-1), { type: 'cancelled', reason: 'SIGTERM' });
  await assertNothingLeft(w);
});

test.run();
