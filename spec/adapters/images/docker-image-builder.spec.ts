import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DockerEngine } from '../../../src/adapters/docker-engine.js';
import { DockerImageBuilder } from '../../../src/adapters/images/docker-image-builder.js';
import { loadConfig } from '../../../src/config.js';
import type { SubmissionImageRequest } from '../../../src/ports/image-builder.js';
import { HOST_PYTHON, run } from '../../helpers/cli.js';
import { writeSubmission } from '../../helpers/images.js';

const engine = new DockerEngine();
const limits = loadConfig({ PVHUB_CONTAINER_MEMORY: '1g' }).limits;
const builder = new DockerImageBuilder({ engine, limits, hostPython: HOST_PYTHON });
const log = pino({ level: 'silent' });
/** Not pvhub.managed: a worker started meanwhile (another spec) removes every container so labelled. */
const LABELS = { 'pvhub.spec': 'docker-image-builder', 'pvhub.submission': '4242' };
let scratch = '';
let requests = 0;

/** A request for the submission in `dir`, with a fresh work folder. */
async function request(
  submissionDir: string,
  extra: Partial<SubmissionImageRequest> = {},
): Promise<SubmissionImageRequest> {
  const workDir = path.join(scratch, `work-${requests++}`);
  await mkdir(workDir, { recursive: true });
  return {
    submissionDir,
    pythonVersion: '3.11',
    workDir,
    labels: LABELS,
    log,
    signal: new AbortController().signal,
    ...extra,
  };
}

async function imageLabels(tag: string): Promise<Record<string, string>> {
  const inspected = await run('docker', ['image', 'inspect', '--format', '{{json .Config.Labels}}', tag]);
  assert.is(inspected.status, 0, inspected.stderr);
  return JSON.parse(inspected.stdout) as Record<string, string>;
}

test.before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-image-builder-'));
});

test.after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

test('a submission image is built once, then reused by its content tag; it is labelled for its submission, not as a leftover of the job', async () => {
  // Unique code, so no earlier run left this image in the engine.
  const dir = await writeSubmission(
    path.join(scratch, 'submission'),
    '# nothing beyond the wrapper\n',
    `def f(ts):\n    return ts  # ${process.pid}-${Date.now()}\n`,
  );
  const built = await builder.submissionImage(await request(dir));
  try {
    assert.match(built.tag, /^pvhub-submission:[0-9a-f]{32}$/);
    assert.is(built.cached, false);
    const labels = await imageLabels(built.tag);
    assert.is(labels['pvhub.built-for-submission'], '4242');
    assert.is(labels['pvhub.spec'], 'docker-image-builder');
    assert.is(labels['pvhub.submission'], undefined, 'not removed with the job');
    const again = await builder.submissionImage(await request(dir));
    assert.equal(again, { tag: built.tag, cached: true, warnings: [] });
  } finally {
    await run('docker', ['image', 'rm', '--force', built.tag]);
  }
});

test.run();
