import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DockerEngine } from '../../../src/adapters/docker-engine.js';
import { downloadSet, type ResolveOptions, resolveSet } from '../../../src/adapters/images/wheel-resolution.js';
import { HOST_PYTHON } from '../../helpers/cli.js';
import { noSourceBuild, sandboxWith, workerError } from '../../helpers/images.js';
import { withFindLinks, writeSdist } from '../../helpers/sdist.js';

let scratch = '';
let resolutions = 0;

/** Resolves `requirements` for python 3.11 in a fresh folder; returns the wheel file names. */
async function resolve(requirements: readonly string[], extra: Partial<ResolveOptions> = {}): Promise<string[]> {
  const workDir = path.join(scratch, `resolution-${resolutions++}`);
  const wheelhouse = path.join(workDir, 'wheelhouse');
  await mkdir(wheelhouse, { recursive: true });
  const options: ResolveOptions = {
    pythonVersion: '3.11',
    workDir,
    onLog: () => undefined,
    hostPython: HOST_PYTHON,
    buildFromSource: noSourceBuild,
    signal: new AbortController().signal,
    ...extra,
  };
  await downloadSet(options, await resolveSet(options, requirements), wheelhouse);
  return readdir(wheelhouse);
}

/** A folder of sdists offered to the resolver (PIP_FIND_LINKS). */
async function links(name: string): Promise<string> {
  const dir = path.join(scratch, name);
  await mkdir(dir, { recursive: true });
  return dir;
}

test.before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-resolution-'));
});

test.after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

test('a requirement nobody can satisfy is op_2 naming the package', async () => {
  const error = await workerError(() => resolve(['pandas', 'pvhub-no-such-package-for-tests==1.0']));
  assert.is(error.code, 'op_2');
  assert.match(error.message, 'pvhub-no-such-package-for-tests');
});

test('a requirement with only a source distribution is built in the sandbox, and so is its own sdist-only dependency', async () => {
  const dir = await links('links');
  // outer needs inner (no wheel either), inner needs six (a wheel on the index): the set closes in two builds.
  await writeSdist(dir, 'pvhub-spec-outer', '0.2', ['pvhub-spec-inner>=0.1']);
  await writeSdist(dir, 'pvhub-spec-inner', '0.1', ['six']);
  const engine = new DockerEngine();
  const labels = { 'pvhub.managed': 'true', 'pvhub.spec': 'source-build' };
  const builds: string[] = [];
  const sandbox = sandboxWith(labels, { PVHUB_BUILD_TIME_LIMIT: '300' });
  const wheels = await withFindLinks(dir, () =>
    resolve(['pvhub-spec-outer==0.2'], {
      buildFromSource: (build) => {
        builds.push(build.requirement);
        return sandbox(build);
      },
    }),
  );
  // Named as the resolver wanted them: the version it chose.
  assert.equal(builds, ['pvhub-spec-outer==0.2', 'pvhub-spec-inner==0.1']);
  for (const expected of [
    /^pvhub_spec_outer-0\.2-py3-none-any\.whl$/,
    /^pvhub_spec_inner-0\.1-py3-none-any\.whl$/,
    /^six-.*\.whl$/,
  ]) {
    assert.ok(
      wheels.some((wheel) => expected.test(wheel)),
      `${expected}: ${wheels.join(' ')}`,
    );
  }
  assert.is(await engine.removeContainers(labels), 0, 'the sandbox containers are removed');
});

test('a source distribution whose build fails is op_2 naming the requirement, with the build output', async () => {
  const dir = await links('links-broken');
  await writeSdist(dir, 'pvhub-spec-broken', '1.0', [], 'raise SystemExit("pvhub-broken-build-marker")');
  const error = await workerError(() =>
    withFindLinks(dir, () => resolve(['pvhub-spec-broken'], { buildFromSource: sandboxWith() })),
  );
  assert.is(error.code, 'op_2');
  assert.match(
    error.message,
    'requirement pvhub-spec-broken==1.0 has no wheel, and its source distribution failed to build',
  );
  assert.match(error.message, 'pvhub-broken-build-marker');
});

test('URLs in an sdist are refused before host pip sees them: in its build requirements, and in its built wheel', async () => {
  const dir = await links('links-urls');
  // Were host pip given this URL, it would build that archive's source on the host, --only-binary or not.
  await writeSdist(
    dir,
    'pvhub-spec-url-build',
    '1.0',
    [],
    '',
    '[build-system]\nrequires = ["wheel", "evil @ https://example.invalid/evil-1.0.tar.gz"]\n',
  );
  await writeSdist(dir, 'pvhub-spec-url-dependency', '1.0', ['evil @ https://example.invalid/evil-1.0.tar.gz']);
  const inBuild = await workerError(() => withFindLinks(dir, () => resolve(['pvhub-spec-url-build'])));
  assert.is(inBuild.code, 'op_2');
  assert.match(inBuild.message, "pvhub-spec-url-build==1.0's [build-system] requires: URLs are not accepted");
  const inWheel = await workerError(() =>
    withFindLinks(dir, () => resolve(['pvhub-spec-url-dependency'], { buildFromSource: sandboxWith() })),
  );
  assert.is(inWheel.code, 'op_2');
  assert.match(
    inWheel.message,
    /its built wheel depends on URLs \(evil ?@ https:\/\/example\.invalid\/evil-1\.0\.tar\.gz/,
    inWheel.message,
  );
});

test('aborting the resolution stops the source build under way: its sandbox container is removed, it rejects at once', async () => {
  const dir = await links('links-slow');
  await writeSdist(dir, 'pvhub-spec-slow', '1.0', [], 'import time\ntime.sleep(120)');
  const labels = { 'pvhub.managed': 'true', 'pvhub.spec': 'source-build-abort' };
  const engine = new DockerEngine();
  const sandbox = sandboxWith(labels);
  const abort = new AbortController();
  const started = Date.now();
  let error: Error | undefined;
  try {
    await withFindLinks(dir, () =>
      resolve(['pvhub-spec-slow'], {
        signal: abort.signal,
        buildFromSource: (build) => {
          setTimeout(() => abort.abort(), 3000);
          return sandbox(build);
        },
      }),
    );
  } catch (caught) {
    error = caught as Error;
  }
  assert.is(error?.name, 'AbortError', error?.message);
  assert.ok(Date.now() - started < 60_000, 'not the sleep of the build script');
  assert.is(await engine.removeContainers(labels), 0, 'no sandbox container left');
});

test("a host python that cannot run pip is the worker's problem (wr_500), not the submission's", async () => {
  const error = await workerError(() => resolve(['pandas'], { hostPython: path.join(scratch, 'no-such-python') }));
  assert.is(error.code, 'wr_500');
  assert.match(error.message, 'PVHUB_HOST_PYTHON');
});

test.run();
