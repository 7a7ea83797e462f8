import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { prepareBuildContext, submissionImageTag } from '../../../src/adapters/images/build-context.js';
import { dockerfileFor } from '../../../src/adapters/images/recipes.js';
import { SUBMISSION_CODE, workerError, writeSubmission } from '../../helpers/images.js';

let scratch = '';
let builds = 0;

const BASE = { pythonVersion: '3.11', baseImage: 'python:3.11-slim' };

const submission = (name: string, requirements: string | undefined, code?: string) =>
  writeSubmission(path.join(scratch, name), requirements, code);

/** A dependencies image id: the context only names it, no engine is asked. */
const DEPENDENCIES = `sha256:${'d'.repeat(64)}`;

function prepare(submissionDir: string) {
  const workDir = path.join(scratch, `build-${builds++}`);
  return mkdir(workDir, { recursive: true }).then(() =>
    prepareBuildContext({ submissionDir, workDir, dependenciesImage: DEPENDENCIES, ...BASE }),
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

test('the context holds the recipe on the dependencies image, the wrapper and the code as uploaded, nothing to install', async () => {
  const dir = await submission('context', 'pandas==2.2.3\n');
  const { contextDir, tag } = await prepare(dir);
  assert.is(tag, await submissionImageTag({ submissionDir: dir, ...BASE }));
  assert.equal((await readdir(contextDir)).sort(), ['Dockerfile', 'pvhub_call.py', 'pvhub_wrapper.py', 'submission']);
  assert.equal((await readdir(path.join(contextDir, 'submission'), { recursive: true })).sort(), [
    'helpers',
    'helpers/scale.py',
    'requirements.txt',
    'submission_wrapper.py',
  ]);
  const recipe = await readFile(path.join(contextDir, 'Dockerfile'), 'utf8');
  assert.match(recipe, new RegExp(`^ARG DEPENDENCIES_IMAGE=${DEPENDENCIES}$`, 'm'));
  assert.not.match(recipe, /^(RUN|ADD) /m);
});

test.run();
