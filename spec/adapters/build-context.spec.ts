import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type BuildContextOptions, directReferences, parseRequirements, prepareBuildContext, requirementWithoutWheel, type SourceBuild, submissionImageTag } from '../../src/adapters/build-context.js';
import { DockerEngine } from '../../src/adapters/docker-engine.js';
import { loadConfig } from '../../src/config.js';
import { sandboxedSourceBuild } from '../../src/pipeline/build-sdist.js';
import { HOST_PYTHON, python } from '../helpers/cli.js';
import { withFindLinks, writeSdist } from '../helpers/sdist.js';
import { WorkerError } from '../../src/domain/errors.js';

let scratch = '';
let builds = 0;

const BASE = { pythonVersion: '3.11', baseImage: 'python:3.11-slim' };
const GIB = 1024 ** 3;
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

/** Where a spec expects every requirement to have a wheel: a source build is a failure of the spec. */
async function noSourceBuild(build: SourceBuild): Promise<void> {
  throw new Error(`unexpected source build of ${build.requirement}`);
}

/** The real sandbox on the engine, 1 GiB, with these labels on its containers (to find leftovers). */
function sandboxWith(labels: Readonly<Record<string, string>> = { 'pvhub.managed': 'true', 'pvhub.spec': 'source-build' }, env: Record<string, string> = {}) {
  return sandboxedSourceBuild({ engine: new DockerEngine(), limits: loadConfig({ PVHUB_CONTAINER_MEMORY: '1g', ...env }).limits, pythonVersion: '3.11', labels });
}

type Extra = Partial<Pick<BuildContextOptions, 'hostPython' | 'buildFromSource' | 'maxWheelhouseBytes' | 'signal'>>;

function prepare(submissionDir: string, extra: Extra = {}) {
  const workDir = path.join(scratch, `build-${builds++}`);
  return mkdir(workDir, { recursive: true }).then(() =>
    prepareBuildContext({ submissionDir, workDir, onLog: () => undefined, buildFromSource: noSourceBuild, maxWheelhouseBytes: GIB, hostPython: HOST_PYTHON, signal: new AbortController().signal, ...BASE, ...extra }),
  );
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

test('wheels whose unpacked size is over the image size limit are op_2 before any image is built', async () => {
  const error = await workerError(async () => prepare(await submission('too-big', 'pandas\n'), { maxWheelhouseBytes: 1024 * 1024 }));
  assert.is(error.code, 'op_2');
  assert.match(error.message, /bytes of wheels once unpacked, over the image size limit of 1048576 bytes/);
  // pandas and its dependencies come to some 30 MB of wheels, some 100 MB unpacked: the unpacked size is what counts.
  const unpacked = await workerError(async () => prepare(await submission('too-big-unpacked', 'pandas==2.2.3\n'), { maxWheelhouseBytes: 60 * 1024 * 1024 }));
  assert.match(unpacked.message, /once unpacked, over the image size limit of 62914560 bytes/);
});

test('pip\'s "no matching distribution" names the requirement to build from source', () => {
  const output = 'ERROR: Could not find a version that satisfies the requirement qss>=0.2 (from solar-data-tools) (from versions: none)\nERROR: No matching distribution found for qss>=0.2\n';
  assert.is(requirementWithoutWheel(output), 'qss>=0.2');
  assert.is(requirementWithoutWheel('ERROR: ResolutionImpossible: for help visit ...'), undefined);
});

test('a requirement with only a source distribution is built in the sandbox, and so is its own sdist-only dependency', async () => {
  const links = path.join(scratch, 'links');
  await mkdir(links, { recursive: true });
  // outer needs inner (no wheel either), inner needs six (a wheel on the index): the set closes in two builds.
  await writeSdist(links, 'pvhub-spec-outer', '0.2', ['pvhub-spec-inner>=0.1']);
  await writeSdist(links, 'pvhub-spec-inner', '0.1', ['six']);
  const engine = new DockerEngine();
  const labels = { 'pvhub.managed': 'true', 'pvhub.spec': 'source-build' };
  const builds: string[] = [];
  const sandbox = sandboxWith(labels, { PVHUB_BUILD_TIME_LIMIT: '300' });
  const dir = await submission('sdist-only', 'pvhub-spec-outer==0.2\n');
  const { contextDir } = await withFindLinks(links, () =>
    prepare(dir, {
      buildFromSource: (build) => {
        builds.push(build.requirement);
        return sandbox(build);
      },
    }),
  );
  const wheels = await readdir(path.join(contextDir, 'wheelhouse'));
  assert.equal(builds, ['pvhub-spec-outer==0.2', 'pvhub-spec-inner>=0.1']);
  for (const expected of [/^pvhub_spec_outer-0\.2-py3-none-any\.whl$/, /^pvhub_spec_inner-0\.1-py3-none-any\.whl$/, /^six-.*\.whl$/]) {
    assert.ok(wheels.some((wheel) => expected.test(wheel)), `${expected}: ${wheels.join(' ')}`);
  }
  assert.is(await engine.removeContainers(labels), 0, 'the sandbox containers are removed');
});

test('a source distribution whose build fails is op_2 naming the requirement, with the build output', async () => {
  const links = path.join(scratch, 'links-broken');
  await mkdir(links, { recursive: true });
  await writeSdist(links, 'pvhub-spec-broken', '1.0', [], 'raise SystemExit("pvhub-broken-build-marker")');
  const sandbox = sandboxWith();
  const dir = await submission('sdist-broken', 'pvhub-spec-broken\n');
  const error = await workerError(() => withFindLinks(links, () => prepare(dir, { buildFromSource: sandbox })));
  assert.is(error.code, 'op_2');
  assert.match(error.message, 'requirement pvhub-spec-broken has no wheel, and its source distribution failed to build');
  assert.match(error.message, 'pvhub-broken-build-marker');
});

test('URLs in an sdist are refused before host pip sees them: in its build requirements, and in its built wheel', async () => {
  const links = path.join(scratch, 'links-urls');
  await mkdir(links, { recursive: true });
  // Were host pip given this URL, it would build that archive's source on the host, --only-binary or not.
  await writeSdist(links, 'pvhub-spec-url-build', '1.0', [], '', '[build-system]\nrequires = ["wheel", "evil @ https://example.invalid/evil-1.0.tar.gz"]\n');
  await writeSdist(links, 'pvhub-spec-url-dependency', '1.0', ['evil @ https://example.invalid/evil-1.0.tar.gz']);
  const sandbox = sandboxWith();
  const buildRequires = await submission('sdist-url-build', 'pvhub-spec-url-build\n');
  const inBuild = await workerError(() => withFindLinks(links, () => prepare(buildRequires, { buildFromSource: noSourceBuild })));
  assert.is(inBuild.code, 'op_2');
  assert.match(inBuild.message, "pvhub-spec-url-build's [build-system] requires: URLs are not accepted");
  const dependency = await submission('sdist-url-dependency', 'pvhub-spec-url-dependency\n');
  const inWheel = await workerError(() => withFindLinks(links, () => prepare(dependency, { buildFromSource: sandbox })));
  assert.is(inWheel.code, 'op_2');
  assert.match(inWheel.message, /its built wheel depends on URLs \(evil ?@ https:\/\/example\.invalid\/evil-1\.0\.tar\.gz/, inWheel.message);
});

test('aborting the build stops the source build under way: its sandbox container is removed, the build rejects at once', async () => {
  const links = path.join(scratch, 'links-slow');
  await mkdir(links, { recursive: true });
  await writeSdist(links, 'pvhub-spec-slow', '1.0', [], 'import time\ntime.sleep(120)');
  const labels = { 'pvhub.managed': 'true', 'pvhub.spec': 'source-build-abort' };
  const engine = new DockerEngine();
  const sandbox = sandboxWith(labels);
  const abort = new AbortController();
  const dir = await submission('sdist-slow', 'pvhub-spec-slow\n');
  const started = Date.now();
  let error: Error | undefined;
  try {
    await withFindLinks(links, () =>
      prepare(dir, {
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

test('a built wheel\'s URL dependencies are found however it hides them: a second METADATA, a folded line, a bomb', async () => {
  const wheel = async (name: string, entries: ReadonlyArray<readonly [string, string]>, bombBytes = 0) => {
    const file = path.join(scratch, name);
    await python(
      'import json, sys, warnings, zipfile\nwarnings.simplefilter("ignore")\n' +
        'with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:\n' +
        '    for name, text in json.loads(sys.argv[2]): z.writestr(name, text)\n' +
        '    if int(sys.argv[3]): z.writestr("x-1.0.dist-info/METADATA", bytes(int(sys.argv[3])))\n',
      [file, JSON.stringify(entries), String(bombBytes)],
    );
    return file;
  };
  const clean = 'Metadata-Version: 2.1\nName: x\nVersion: 1.0\nRequires-Dist: numpy (>=1.20)\nRequires-Dist: pytest ; extra == "test"\n';
  assert.equal(await directReferences(await wheel('x-clean.whl', [['x-1.0.dist-info/METADATA', clean]])), []);
  const folded = 'Metadata-Version: 2.1\nName: x\nVersion: 1.0\nRequires-Dist: evil\n  @ https://example.invalid/evil.tar.gz\n';
  assert.equal(await directReferences(await wheel('x-folded.whl', [['x-1.0.dist-info/METADATA', folded]])), ['evil @ https://example.invalid/evil.tar.gz']);
  const twice = await workerError(() => wheel('x-twice.whl', [['x-1.0.dist-info/METADATA', clean], ['x-1.0.dist-info/METADATA', folded]]).then(directReferences));
  assert.match(twice.message, 'has the entry x-1.0.dist-info/METADATA twice');
  const bomb = await workerError(() => wheel('x-bomb.whl', [], 4 * 1024 * 1024).then(directReferences));
  assert.match(bomb.message, 'its METADATA cannot be read (more than 1048576 bytes)');
});

test('a host python that cannot run pip is the worker\'s problem (wr_500), not the submission\'s', async () => {
  const error = await workerError(async () => prepare(await submission('no-python', 'pandas\n'), { hostPython: path.join(scratch, 'no-such-python') }));
  assert.is(error.code, 'wr_500');
  assert.match(error.message, 'PVHUB_HOST_PYTHON');
});

test.run();
