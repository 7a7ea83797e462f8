import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type BuildContextOptions,
  dockerfileFor,
  prepareBuildContext,
  submissionImageTag,
} from '../../../src/adapters/images/build-context.js';
import { HOST_PYTHON } from '../../helpers/cli.js';
import { GIB, noSourceBuild, SUBMISSION_CODE, workerError, writeSubmission } from '../../helpers/images.js';

let scratch = '';
let builds = 0;

const BASE = { pythonVersion: '3.11', baseImage: 'python:3.11-slim' };

const submission = (name: string, requirements: string | undefined, code?: string) =>
  writeSubmission(path.join(scratch, name), requirements, code);

function prepare(submissionDir: string, extra: Partial<Pick<BuildContextOptions, 'maxWheelhouseBytes'>> = {}) {
  const workDir = path.join(scratch, `build-${builds++}`);
  return mkdir(workDir, { recursive: true }).then(() =>
    prepareBuildContext({
      submissionDir,
      workDir,
      onLog: () => undefined,
      buildFromSource: noSourceBuild,
      maxWheelhouseBytes: GIB,
      hostPython: HOST_PYTHON,
      signal: new AbortController().signal,
      ...BASE,
      ...extra,
    }),
  );
}

test.before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-context-'));
});

test.after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

test('the tag depends on content only: same code elsewhere ⇒ same tag; code, requirements or python ⇒ another', async () => {
  const original = await submission('tag-a', 'pandas\n');
  const copy = path.join(scratch, 'tag-copy');
  await cp(original, copy, { recursive: true });
  const tag = await submissionImageTag({ submissionDir: original, ...BASE });
  assert.match(tag, /^pvhub-submission:[0-9a-f]{32}$/);
  assert.is(await submissionImageTag({ submissionDir: copy, ...BASE }), tag);
  const otherCode = await submission('tag-b', 'pandas\n', `${SUBMISSION_CODE}# changed\n`);
  const otherRequirements = await submission('tag-c', 'pandas==2.2.3\n');
  await writeFile(path.join(copy, 'helpers/extra.py'), '');
  const others = [
    await submissionImageTag({ submissionDir: otherCode, ...BASE }),
    await submissionImageTag({ submissionDir: otherRequirements, ...BASE }),
    await submissionImageTag({ submissionDir: copy, ...BASE }),
    await submissionImageTag({ submissionDir: original, pythonVersion: '3.13', baseImage: 'python:3.13-slim' }),
  ];
  assert.is(new Set([tag, ...others]).size, 5);
});

test("names that are not a python version or an image name are the worker's problem (wr_500)", async () => {
  const dir = await submission('names', 'pandas\n');
  assert.is(
    (
      await workerError(() =>
        submissionImageTag({ submissionDir: dir, pythonVersion: '3.11; rm -rf /', baseImage: 'python:3.11-slim' }),
      )
    ).code,
    'wr_500',
  );
  assert.is(
    (
      await workerError(() =>
        submissionImageTag({ submissionDir: dir, pythonVersion: '3.11', baseImage: 'python:3.11 slim' }),
      )
    ).code,
    'wr_500',
  );
  assert.is((await workerError(() => dockerfileFor('FROM python:3.11-slim\n', 'python:3.11-slim'))).code, 'wr_500');
});

test('the context holds the recipe, the wrapper, the code as uploaded and wheels for the target python', async () => {
  const dir = await submission('context', 'pandas==2.2.3\n');
  const { contextDir, tag } = await prepare(dir);
  assert.is(tag, await submissionImageTag({ submissionDir: dir, ...BASE }));
  assert.equal((await readdir(contextDir)).sort(), ['Dockerfile', 'pvhub_wrapper.py', 'submission', 'wheelhouse']);
  assert.equal((await readdir(path.join(contextDir, 'submission'), { recursive: true })).sort(), [
    'helpers',
    'helpers/scale.py',
    'requirements.txt',
    'submission_wrapper.py',
  ]);
  assert.match(await readFile(path.join(contextDir, 'Dockerfile'), 'utf8'), /^ARG BASE_IMAGE=python:3\.11-slim$/m);
  const wheels = await readdir(path.join(contextDir, 'wheelhouse'));
  assert.ok(
    wheels.every((wheel) => wheel.endsWith('.whl')),
    wheels.join(' '),
  );
  // The submission's pin wins over the wrapper's unpinned pandas.
  assert.ok(
    wheels.some((wheel) => /^pandas-2\.2\.3-cp311-cp311-manylinux.*_x86_64\.whl$/.test(wheel)),
    wheels.join(' '),
  );
  assert.ok(
    wheels.some((wheel) => /^numpy-[\d.]+-cp311-cp311-manylinux.*_x86_64\.whl$/.test(wheel)),
    wheels.join(' '),
  );
});

test('without requirements.txt the wheelhouse still has what the wrapper needs', async () => {
  const { contextDir } = await prepare(await submission('no-requirements', undefined));
  const wheels = await readdir(path.join(contextDir, 'wheelhouse'));
  assert.ok(
    wheels.some((wheel) => wheel.startsWith('pandas-')) && wheels.some((wheel) => wheel.startsWith('numpy-')),
    wheels.join(' '),
  );
});

test('wheels whose unpacked size is over the image size limit are op_2 before any image is built', async () => {
  const error = await workerError(async () =>
    prepare(await submission('too-big', 'pandas\n'), { maxWheelhouseBytes: 1024 * 1024 }),
  );
  assert.is(error.code, 'op_2');
  assert.match(error.message, /bytes of wheels once unpacked, over the image size limit of 1048576 bytes/);
  // pandas and its dependencies come to some 30 MB of wheels, some 100 MB unpacked: the unpacked size is what counts.
  const unpacked = await workerError(async () =>
    prepare(await submission('too-big-unpacked', 'pandas==2.2.3\n'), { maxWheelhouseBytes: 60 * 1024 * 1024 }),
  );
  assert.match(unpacked.message, /once unpacked, over the image size limit of 62914560 bytes/);
});

test.run();
