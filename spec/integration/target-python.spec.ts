/**
 * Requirements resolve for the image's Python, not the host's (3.11): environment markers are evaluated for the
 * target interpreter, so a dependency that only an older or a newer Python needs is installed there, and one it does
 * not need is not. Needs the base images of 3.9 and 3.13 (built from Debian on first use, minutes each).
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
  limits: loadConfig({}).limits,
  hostPython: HOST_PYTHON,
  baseImageRepository: 'python',
});
let scratch = '';

test.before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-target-python-'));
});

test.after(async () => {
  await engine.removeContainers(SPEC_LABELS);
  await rm(scratch, { recursive: true, force: true });
});

test('anyio on 3.9 builds and imports: exceptiongroup, which it needs below 3.11, is installed', async () => {
  const output = await buildAndImport(builder, scratch, '3.9', 'anyio\n', ['anyio', 'exceptiongroup']);
  assert.match(output, /^3\.9\./);
  assert.match(output, /exceptiongroup \S+/);
});

test('on 3.13 a dependency gated by python_version >= "3.12" is installed, and one gated below it is not', async () => {
  const output = await buildAndImport(
    builder,
    scratch,
    '3.13',
    'idna ; python_version >= "3.12"\npyparsing ; python_version < "3.12"\n',
    ['idna'],
  );
  assert.match(output, /^3\.13\./);
  assert.match(output, /idna \S+/);
  const absent = await buildAndImport(
    builder,
    scratch,
    '3.13',
    'idna ; python_version >= "3.12"\npyparsing ; python_version < "3.12"\n',
    ['pyparsing'],
  ).catch((error: Error) => error.message);
  assert.match(absent, "No module named 'pyparsing'");
});

test.run();
