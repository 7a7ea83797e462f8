/**
 * Requirement files of real Hub submissions build: the libraries the leaderboard's authors pin (pvanalytics, pvlib,
 * rdtools, ruptures, solar-data-tools, older numpy and pandas) resolve to wheels for the target Python, install with
 * no network, and import in a hardened container. Slow the first time on a machine (the wheels are downloaded, the
 * image built); the pip cache and the content-addressed image make later runs fast.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { prepareBuildContext } from '../../src/adapters/images/build-context.js';
import { DockerEngine } from '../../src/adapters/docker-engine.js';
import { loadConfig } from '../../src/config.js';
import { sandboxedSourceBuild } from '../../src/adapters/images/source-build.js';
import { RUNNER_USER } from '../../src/domain/sandbox.js';
import { HOST_PYTHON } from '../helpers/cli.js';

const LABELS = { 'pvhub.managed': 'true', 'pvhub.spec': 'real-requirements' };
const engine = new DockerEngine();
const limits = loadConfig({ PVHUB_CONTAINER_MEMORY: '2g' }).limits;
let scratch = '';

test.before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-real-requirements-'));
});

test.after(async () => {
  await engine.removeContainers(LABELS);
  await rm(scratch, { recursive: true, force: true });
});

/** Builds the image of a submission with these requirements, then imports `modules` in it, printing versions. */
async function buildAndImport(name: string, requirements: string, modules: readonly string[]): Promise<string> {
  const submission = path.join(scratch, name, 'submission');
  await mkdir(submission, { recursive: true });
  await writeFile(path.join(submission, 'requirements.txt'), requirements);
  await writeFile(path.join(submission, 'submission_wrapper.py'), `import ${modules.join(', ')}\n`);
  const { contextDir, tag } = await prepareBuildContext({
    submissionDir: submission,
    pythonVersion: '3.11',
    baseImage: 'python:3.11-slim',
    workDir: path.join(scratch, name),
    onLog: () => undefined,
    buildFromSource: sandboxedSourceBuild({ engine, limits, pythonVersion: '3.11', labels: LABELS }),
    maxWheelhouseBytes: limits.imageSizeLimitBytes,
    hostPython: HOST_PYTHON,
    signal: new AbortController().signal,
  });
  if (!(await engine.imageExists(tag))) {
    await engine.buildImage(
      {
        tag,
        contextDir,
        labels: { 'pvhub.managed': 'true' },
        timeoutMs: limits.buildTimeLimitMs,
        maxSizeBytes: limits.imageSizeLimitBytes,
      },
      () => undefined,
    );
  }
  const code = `import importlib\nfor name in ${JSON.stringify(modules)}:\n    module = importlib.import_module(name)\n    print(name, getattr(module, "__version__", "?"))\n`;
  const outcome = await engine.runContainer(
    {
      image: tag,
      command: ['python', '-c', code],
      mounts: [],
      memoryBytes: limits.containerMemoryBytes,
      nanoCpus: limits.containerNanoCpus,
      pidsLimit: limits.containerPidsLimit,
      timeoutMs: 120_000,
      outputCapBytes: 64 * 1024,
      labels: LABELS,
      user: RUNNER_USER,
    },
    new AbortController().signal,
  );
  assert.is(outcome.exitCode, 0, outcome.output);
  return outcome.output;
}

test('a pvanalytics / rdtools submission pinning older numpy and pandas builds and imports', async () => {
  const output = await buildAndImport(
    'az-tilt',
    'numpy==1.24.4\npandas==1.5.3\npvanalytics==0.2.0\npvlib==0.10.3\nrdtools==2.1.8\nruptures==1.1.9\n',
    ['numpy', 'pandas', 'pvanalytics', 'pvlib', 'rdtools', 'ruptures'],
  );
  assert.match(output, 'numpy 1.24.4');
  assert.match(output, 'pandas 1.5.3');
  assert.match(output, 'pvlib 0.10.3');
  assert.match(output, 'rdtools 2.1.8');
});

test('a solar-data-tools submission (cvxpy and its solvers, unpinned) builds and imports', async () => {
  const output = await buildAndImport('solar-data-tools', 'solar-data-tools\npvanalytics\npvlib\n', [
    'solardatatools',
    'cvxpy',
    'pvanalytics',
    'pvlib',
  ]);
  assert.match(output, /solardatatools \S+/);
  assert.match(output, /cvxpy \S+/);
});

test.run();
