import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DockerEngine } from '../../../src/adapters/docker-engine.js';
import { baseImage } from '../../../src/adapters/images/base-images.js';
import { submissionImageTag } from '../../../src/adapters/images/build-context.js';
import { DockerImageBuilder } from '../../../src/adapters/images/docker-image-builder.js';
import { loadConfig } from '../../../src/config.js';
import { HOST_PYTHON, run } from '../../helpers/cli.js';
import { SPEC_LABELS, workerError, writeSubmission } from '../../helpers/images.js';
import { requireRegistry, uniqueName } from '../../helpers/services.js';

const engine = new DockerEngine();
const limits = loadConfig({}).limits;
const log = pino({ level: 'silent' });
/** Nothing listens on the discard port: a registry that cannot be reached. */
const UNREACHABLE = '127.0.0.1:9/pvhub-spec/python';
let scratch = '';

async function docker(...args: string[]): Promise<void> {
  const result = await run('docker', args);
  assert.is(result.status, 0, `docker ${args.join(' ')}: ${result.stderr}`);
}

function builderPullingFrom(repository: string): DockerImageBuilder {
  return new DockerImageBuilder({ engine, limits, hostPython: HOST_PYTHON, baseImageRepository: repository });
}

test.before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-base-images-'));
});

test.after(async () => {
  await engine.removeContainers(SPEC_LABELS);
  await rm(scratch, { recursive: true, force: true });
});

test("the builder pulls <repository>:<v>-slim from the registry when the engine lacks it, and builds the submission's image on it", async () => {
  const registry = await requireRegistry();
  // A real 3.13 to serve: the one made here from Debian, pushed under a repository no other run uses.
  const source = await baseImage(engine, 'python', '3.13');
  const repository = `${registry}/${uniqueName('pvhub-spec')}/python`;
  const pulled = `${repository}:3.13-slim`;
  await docker('tag', source, pulled);
  await docker('push', '--quiet', pulled);
  await docker('image', 'rm', pulled);
  assert.not.ok(await engine.imageExists(pulled));
  const dir = await writeSubmission(path.join(scratch, 'pulled'), 'six\n');
  const workDir = path.join(scratch, 'pulled-build');
  await mkdir(workDir, { recursive: true });
  const image = await builderPullingFrom(repository).submissionImage({
    submissionDir: dir,
    pythonVersion: '3.13',
    workDir,
    labels: SPEC_LABELS,
    log,
    signal: new AbortController().signal,
  });
  try {
    assert.ok(await engine.imageExists(pulled), 'pulled into the engine');
    assert.is(
      image.tag,
      await submissionImageTag({ submissionDir: dir, pythonVersion: '3.13', baseImage: pulled }),
      'built on the pulled image',
    );
    assert.is(await baseImage(engine, repository, '3.13'), pulled, 'and used from the engine after that');
  } finally {
    await run('docker', ['image', 'rm', '--force', image.tag, pulled]);
  }
});

test('a Python neither pulled nor buildable from Debian fails the job at once (wr_500), saying how to provide the image', async () => {
  const started = Date.now();
  const dir = await writeSubmission(path.join(scratch, 'unavailable'), 'six\n');
  const error = await workerError(() =>
    builderPullingFrom(UNREACHABLE).submissionImage({
      submissionDir: dir,
      pythonVersion: '3.12',
      workDir: scratch,
      labels: SPEC_LABELS,
      log,
      signal: new AbortController().signal,
    }),
  );
  assert.is(error.code, 'wr_500');
  assert.match(
    error.message,
    `python 3.12 cannot be provided on this worker: ${UNREACHABLE}:3.12-slim could not be pulled`,
  );
  assert.match(error.message, 'only 3.9, 3.11, 3.13 can be built from Debian');
  assert.match(error.message, 'docker pull python:3.12-slim');
  assert.match(error.message, 'PVHUB_BASE_IMAGE_REPOSITORY');
  assert.ok(Date.now() - started < 15_000, `at once, not after ${Date.now() - started} ms`);
});

test('where the registry cannot be reached, a version Debian ships comes from the engine or from Debian', async () => {
  assert.is(await baseImage(engine, UNREACHABLE, '3.11'), 'python:3.11-slim');
});

test.run();
