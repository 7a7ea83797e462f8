import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Dockerode from 'dockerode';
import { lastValueFrom, tap, toArray } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DockerEngine } from '../../src/adapters/docker-engine.js';
import { DockerImageBuilder } from '../../src/adapters/images/docker-image-builder.js';
import { SimulatedImages } from '../../src/adapters/simulated/images.js';
import { loadConfig } from '../../src/config.js';
import type { Job } from '../../src/domain/job.js';
import { jobLabels } from '../../src/domain/job.js';
import type { JobEvent } from '../../src/domain/job-event.js';
import { evaluateSubmission } from '../../src/operators/evaluate-submission.js';
import type { ImageBuilder } from '../../src/ports/image-builder.js';
import { CORRECT_SUBMISSION, FAKE_JOB, fakeJobOptions, fakeJobWorld } from '../helpers/fake-ports.js';

/**
 * runFiles on the real engine, through the whole job: containers started ahead of their turn. The probe's warm-up
 * (its import) takes WARM_UP_SECONDS, far more than its call.
 */

const WARM_UP_SECONDS = 5;
const engine = new DockerEngine();
const docker = new Dockerode();
const config = loadConfig({ PVHUB_CONTAINER_MEMORY: '512m', PVHUB_FILE_TIME_LIMIT: '30' });
// Two at once, and no early abort: every file of the example task runs.
const limits = { ...config.limits, maxParallel: 2, earlyAbortFiles: 0 };
let scratch = '';

/** The real submission image builder; the report falls back to the built-in one (no report image is built). */
const images: ImageBuilder = {
  submissionImage: (request) =>
    new DockerImageBuilder({
      engine,
      limits,
      hostPython: config.hostPython,
      baseImageRepository: config.baseImageRepository,
    }).submissionImage(request),
  reportImage: () => new SimulatedImages().reportImage(),
  pruneSubmissionImages: async () => [],
};

/** A job of its own: its containers carry its submission id, and nothing else's. */
const jobFor = (offset: number): Job => ({ ...FAKE_JOB, submissionId: 800_000 + (process.pid % 1000) * 10 + offset });

/** The example's correct submission, whose import first notes what /data holds, then takes WARM_UP_SECONDS. */
async function probeSubmission(name: string, call: string): Promise<string> {
  const dir = path.join(scratch, name);
  await mkdir(dir, { recursive: true });
  await copyFile(path.join(CORRECT_SUBMISSION, 'requirements.txt'), path.join(dir, 'requirements.txt'));
  const correct = await readFile(path.join(CORRECT_SUBMISSION, 'submission_wrapper.py'), 'utf8');
  const probe = [
    'import os, time',
    'SEEN_AT_WARM_UP = sorted(os.listdir("/data"))',
    'RESULTS_AT_WARM_UP = sorted(os.listdir("/results"))',
    `time.sleep(${WARM_UP_SECONDS})`,
    correct.replace('def detect_time_shifts(', 'def correct_detect_time_shifts('),
    'def detect_time_shifts(time_series, latitude=None, longitude=None, data_sampling_frequency=None):',
    call,
    '    return correct_detect_time_shifts(time_series, latitude, longitude, data_sampling_frequency)',
  ].join('\n');
  await writeFile(path.join(dir, 'submission_wrapper.py'), probe);
  return dir;
}

async function worldFor(submission: string) {
  const w = await fakeJobWorld({ submission });
  return { ...w, ports: { ...w.ports, engine, images, freeMemory: () => 64 * limits.containerMemoryBytes } };
}

/** The job's containers and volumes still on the engine. */
async function leftovers(job: Job) {
  const filters = { label: [`pvhub.submission=${job.submissionId}`, 'pvhub.managed=true'] };
  const containers = await docker.listContainers({ all: true, filters });
  const { Volumes } = await docker.listVolumes({ filters });
  return { containers, volumes: Volumes ?? [] };
}

test.before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-run-files-'));
});

test.after(async () => {
  for (const offset of [0, 1]) await engine.removeContainers(jobLabels(jobFor(offset)));
  await rm(scratch, { recursive: true, force: true });
});

test('a container started ahead warms up with an empty /data and /results, then sees its own file alone; neither its wall time nor its runtime holds the warm-up', async () => {
  const submission = await probeSubmission(
    'sees',
    '    print("PROBE warm-up %s, call %s, results %s" % (SEEN_AT_WARM_UP, sorted(os.listdir("/data")), RESULTS_AT_WARM_UP))',
  );
  const w = await worldFor(submission);
  const job = jobFor(0);
  const events = await lastValueFrom(
    evaluateSubmission(job, w.ports, fakeJobOptions(w, { limits, timeLimitMs: 600_000 })).pipe(toArray()),
  );
  assert.is(events.at(-1)?.type, 'finished', JSON.stringify(events.at(-1)));
  const files = events.flatMap((event) => (event.type === 'file' ? [event.score] : []));
  assert.is(files.length, 13);
  const log = w.publisher.logTexts.join('');
  for (const score of files) {
    assert.is(score.kind, 'scored', JSON.stringify(score));
    if (score.kind !== 'scored') continue;
    const { task, executionTime, wallTimeMs } = score.run;
    const name = task.metadata.file_name;
    // Those started ahead at once had warmed up long before their turn; a later one's turn may come during its
    // warm-up, and then its file may be in place by its import already.
    const startedAheadAtOnce = task.index >= limits.maxParallel && task.index < 2 * limits.maxParallel;
    const atWarmUp = startedAheadAtOnce ? ['[]'] : ['[]', `['${name}']`];
    assert.ok(
      atWarmUp.some((seen) => log.includes(`PROBE warm-up ${seen}, call ['${name}'], results []`)),
      `${name} saw another file than its own, or its own too early, or results not its own`,
    );
    assert.ok(executionTime < WARM_UP_SECONDS / 2, `${name}: a runtime of ${executionTime} s`);
    // The first two went at once, and warmed up on their own clock; the next two warmed up while those ran.
    if (task.index < limits.maxParallel)
      assert.ok(wallTimeMs >= WARM_UP_SECONDS * 1000, `${name} had no warm-up: ${wallTimeMs} ms`);
    else if (task.index < 2 * limits.maxParallel)
      assert.ok(wallTimeMs < WARM_UP_SECONDS * 1000, `${name}'s wall time holds its warm-up: ${wallTimeMs} ms`);
  }
  assert.equal(await leftovers(job), { containers: [], volumes: [] });
});

test('a cancelled job removes its containers started ahead of their turn with the running ones', async () => {
  const submission = await probeSubmission('cancelled', '    time.sleep(120)');
  const w = await worldFor(submission);
  const job = jobFor(1);
  const abort = new AbortController();
  let seenAtOnce = 0;
  const watch = setInterval(() => {
    leftovers(job)
      .then(({ containers }) => {
        const runs = containers.filter((info) => info.Labels['pvhub.role'] !== 'results-holder');
        seenAtOnce = Math.max(seenAtOnce, runs.length);
        if (runs.length >= 2 * limits.maxParallel) abort.abort('cancelled by the spec');
      })
      .catch(() => undefined);
  }, 250);
  const events = await lastValueFrom(
    evaluateSubmission(job, w.ports, fakeJobOptions(w, { limits, timeLimitMs: 600_000, signal: abort.signal })).pipe(
      tap({ finalize: () => clearInterval(watch) }),
      toArray(),
    ),
  );
  assert.is(events.at(-1)?.type, 'cancelled', JSON.stringify(events.at(-1)));
  assert.is(seenAtOnce, 2 * limits.maxParallel, 'two running and two started ahead');
  assert.not.ok(
    events.some((event: JobEvent) => event.type === 'file'),
    'no file ended',
  );
  assert.equal(await leftovers(job), { containers: [], volumes: [] });
});

test.run();
