/**
 * Requirement files of real Hub submissions build: the libraries the leaderboard's authors pin (pvanalytics, pvlib,
 * rdtools, ruptures, solar-data-tools, older numpy and pandas) resolve to wheels for the target Python, install with
 * no network, and import in a hardened container. Slow the first time on a machine (the wheels are downloaded, the
 * image built); the caches and the content-addressed image make later runs fast.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DockerEngine } from '../../src/adapters/docker-engine.js';
import { DockerImageBuilder } from '../../src/adapters/images/docker-image-builder.js';
import { loadConfig } from '../../src/config.js';
import { HOST_PYTHON } from '../helpers/cli.js';
import { buildAndImport, SPEC_LABELS } from '../helpers/images.js';

const engine = new DockerEngine();
const builder = new DockerImageBuilder({
  engine,
  limits: loadConfig({ PVHUB_CONTAINER_MEMORY: '2g' }).limits,
  hostPython: HOST_PYTHON,
  baseImageRepository: 'python',
});
let scratch = '';

test.before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-real-requirements-'));
});

test.after(async () => {
  await engine.removeContainers(SPEC_LABELS);
  await rm(scratch, { recursive: true, force: true });
});

test('a pvanalytics / rdtools submission pinning older numpy and pandas builds and imports', async () => {
  const output = await buildAndImport(
    builder,
    scratch,
    '3.11',
    'numpy==1.24.4\npandas==1.5.3\npvanalytics==0.2.0\npvlib==0.10.3\nrdtools==2.1.8\nruptures==1.1.9\n',
    ['numpy', 'pandas', 'pvanalytics', 'pvlib', 'rdtools', 'ruptures'],
  );
  assert.match(output, 'numpy 1.24.4');
  assert.match(output, 'pandas 1.5.3');
  assert.match(output, 'pvlib 0.10.3');
  assert.match(output, 'rdtools 2.1.8');
});

test('a solar-data-tools submission (cvxpy and its solvers, unpinned) builds and imports', async () => {
  const output = await buildAndImport(builder, scratch, '3.11', 'solar-data-tools\npvanalytics\npvlib\n', [
    'solardatatools',
    'cvxpy',
    'pvanalytics',
    'pvlib',
  ]);
  assert.match(output, /solardatatools \S+/);
  assert.match(output, /cvxpy \S+/);
});

test.run();
