import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRequirements, prepareBuildContext, submissionImageTag } from '../../src/adapters/build-context.js';
import { WorkerError } from '../../src/domain/errors.js';

let scratch = '';
let builds = 0;

const BASE = { pythonVersion: '3.11', baseImage: 'python:3.11-slim' };
const CODE = 'from helpers.scale import scale\ndef f(ts):\n    return scale(ts)\n';

/** A submission folder with a nested package, and a requirements.txt unless `requirements` is undefined. */
async function submission(name: string, requirements: string | undefined, code = CODE): Promise<string> {
  const dir = path.join(scratch, name);
  await mkdir(path.join(dir, 'helpers'), { recursive: true });
  await writeFile(path.join(dir, 'submission_wrapper.py'), code);
  await writeFile(path.join(dir, 'helpers/scale.py'), 'def scale(ts):\n    return ts * 2\n');
  if (requirements !== undefined) await writeFile(path.join(dir, 'requirements.txt'), requirements);
  return dir;
}

function prepare(submissionDir: string, extra: { hostPython?: string } = {}) {
  const workDir = path.join(scratch, `build-${builds++}`);
  return mkdir(workDir, { recursive: true }).then(() => prepareBuildContext({ submissionDir, workDir, onLog: () => undefined, ...BASE, ...extra }));
}

async function workerError(action: () => unknown): Promise<WorkerError> {
  try {
    await action();
  } catch (error) {
    assert.instance(error, WorkerError);
    return error as WorkerError;
  }
  throw new Error('expected a WorkerError');
}

test.before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-context-'));
});

test.after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

test('requirement lines keep names, extras, versions and markers, without comments', () => {
  const text = [
    '# pinned by the author',
    'pandas>=1.5,<3',
    'numpy==1.26.4  # inline comment',
    'scikit-learn[alldeps] ~= 1.3',
    'pvlib ; python_version >= "3.9"',
    'statsmodels \\',
    '  ==0.14.1',
    '',
  ].join('\n');
  assert.equal(parseRequirements(text), ['pandas>=1.5,<3', 'numpy==1.26.4', 'scikit-learn[alldeps] ~= 1.3', 'pvlib ; python_version >= "3.9"', 'statsmodels    ==0.14.1']);
});

test('options, URLs, files and malformed lines are op_2 naming the line', async () => {
  const refused: Array<[string, string]> = [
    ['-e git+https://example.com/x.git#egg=x', 'options are not accepted'],
    ['--index-url https://example.com/simple', 'options are not accepted'],
    ['-f https://example.com/wheels', 'options are not accepted'],
    ['https://example.com/x-1.0-py3-none-any.whl', 'URLs are not accepted'],
    ['x @ https://example.com/x.zip', 'URLs are not accepted'],
    ['x-1.0-py3-none-any.whl', 'files are not accepted'],
    ['./local/package', 'malformed requirement'],
    ['pandas >= ', 'malformed requirement'],
    ['not a requirement!', 'malformed requirement'],
  ];
  for (const [line, reason] of refused) {
    const error = await workerError(() => parseRequirements(`pandas\n${line}\n`));
    assert.is(error.code, 'op_2');
    assert.match(error.message, reason);
    assert.match(error.message, line.trim());
  }
});

test('the tag depends on content only: same code elsewhere ⇒ same tag; code, requirements or python ⇒ another', async () => {
  const original = await submission('tag-a', 'pandas\n');
  const copy = path.join(scratch, 'tag-copy');
  await cp(original, copy, { recursive: true });
  const tag = await submissionImageTag({ submissionDir: original, ...BASE });
  assert.match(tag, /^pvhub-submission:[0-9a-f]{32}$/);
  assert.is(await submissionImageTag({ submissionDir: copy, ...BASE }), tag);
  const otherCode = await submission('tag-b', 'pandas\n', `${CODE}# changed\n`);
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

test('the context holds the recipe, the wrapper, the code as uploaded and wheels for the target python', async () => {
  const dir = await submission('context', 'pandas==2.2.3\n');
  const { contextDir, tag } = await prepare(dir);
  assert.is(tag, await submissionImageTag({ submissionDir: dir, ...BASE }));
  assert.equal((await readdir(contextDir)).sort(), ['Dockerfile', 'pvhub_wrapper.py', 'submission', 'wheelhouse']);
  assert.equal((await readdir(path.join(contextDir, 'submission'), { recursive: true })).sort(), ['helpers', 'helpers/scale.py', 'requirements.txt', 'submission_wrapper.py']);
  assert.match(await readFile(path.join(contextDir, 'Dockerfile'), 'utf8'), /^ARG BASE_IMAGE=python:3\.11-slim$/m);
  const wheels = await readdir(path.join(contextDir, 'wheelhouse'));
  assert.ok(wheels.every((wheel) => wheel.endsWith('.whl')), wheels.join(' '));
  // The submission's pin wins over the wrapper's unpinned pandas.
  assert.ok(wheels.some((wheel) => /^pandas-2\.2\.3-cp311-cp311-manylinux.*_x86_64\.whl$/.test(wheel)), wheels.join(' '));
  assert.ok(wheels.some((wheel) => /^numpy-[\d.]+-cp311-cp311-manylinux.*_x86_64\.whl$/.test(wheel)), wheels.join(' '));
});

test('without requirements.txt the wheelhouse still has what the wrapper needs', async () => {
  const { contextDir } = await prepare(await submission('no-requirements', undefined));
  const wheels = await readdir(path.join(contextDir, 'wheelhouse'));
  assert.ok(wheels.some((wheel) => wheel.startsWith('pandas-')) && wheels.some((wheel) => wheel.startsWith('numpy-')), wheels.join(' '));
});

test('a requirement nobody can satisfy is op_2 naming the package', async () => {
  const dir = await submission('unsatisfiable', 'pandas\npvhub-no-such-package-for-tests==1.0\n');
  const error = await workerError(() => prepare(dir));
  assert.is(error.code, 'op_2');
  assert.match(error.message, 'pvhub-no-such-package-for-tests');
});

test('a host python that cannot run pip is the worker\'s problem (wr_500), not the submission\'s', async () => {
  const error = await workerError(async () => prepare(await submission('no-python', 'pandas\n'), { hostPython: path.join(scratch, 'no-such-python') }));
  assert.is(error.code, 'wr_500');
  assert.match(error.message, 'PVHUB_HOST_PYTHON');
});

test.run();
