import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DockerEngine } from '../../../src/adapters/docker-engine.js';
import { builtWheelCache } from '../../../src/adapters/images/built-wheel-cache.js';
import { DockerImageBuilder } from '../../../src/adapters/images/docker-image-builder.js';
import { loadConfig } from '../../../src/config.js';
import { sandboxLimits } from '../../../src/domain/sandbox.js';
import type { SubmissionImage, SubmissionImageRequest } from '../../../src/ports/image-builder.js';
import { HOST_PYTHON, run } from '../../helpers/cli.js';
import { writeSubmission } from '../../helpers/images.js';

const engine = new DockerEngine();
const limits = loadConfig({ PVHUB_CONTAINER_MEMORY: '1g' }).limits;
const builder = new DockerImageBuilder({ engine, limits, hostPython: HOST_PYTHON, baseImageRepository: 'python' });
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

test('a submission without requirements.txt gets its image with a warning in the result, built or cached (the build step logs it, once)', async () => {
  const lines: string[] = [];
  const warnLog = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
  const dir = await writeSubmission(
    path.join(scratch, 'no-requirements'),
    undefined,
    `def f(ts):\n    return ts  # ${process.pid}-${Date.now()}\n`,
  );
  const warning = "the submission has no requirements.txt: only the wrapper's pandas and numpy are installed";
  const built = await builder.submissionImage(await request(dir, { log: warnLog }));
  try {
    assert.equal(built.warnings, [warning]);
    const cached = await builder.submissionImage(await request(dir, { log: warnLog }));
    assert.equal(cached, { tag: built.tag, cached: true, warnings: [warning] });
    assert.equal(lines, [], 'the adapter does not log it: the job log would hold it twice');
  } finally {
    await run('docker', ['image', 'rm', '--force', built.tag]);
  }
});

test('a second submission with the same requirement set is built on the same dependencies image: the same text is not resolved again, another text with the same pins is', async () => {
  const made: string[] = [];
  const code = (n: number) => `def f(ts):\n    return ts  # ${n} ${process.pid}-${Date.now()}\n`;
  const build = async (name: string, requirements: string, n: number) => {
    const dir = await writeSubmission(path.join(scratch, name), requirements, code(n));
    const image = await builder.submissionImage(await request(dir));
    made.push(image.tag);
    return image;
  };
  let first: SubmissionImage | undefined;
  try {
    first = await build('set-first', 'pandas==2.2.3\n', 1);
    const second = await build('set-second', 'pandas==2.2.3\n', 2);
    // Another text, of this run alone, that pins the same set.
    const third = await build('set-third', `pandas==2.2.3\nnumpy!=0.0.${process.pid}${Date.now()}\n`, 3);
    assert.is(first.cached, false);
    assert.match(first.dependencies?.image ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.equal(second.dependencies, { image: first.dependencies?.image, reused: true, resolved: false });
    assert.equal(third.dependencies, { image: first.dependencies?.image, reused: true, resolved: true });
    assert.is(new Set(made).size, 3, 'each submission has its own image');
    const labels = await imageLabels(second.tag);
    assert.is(labels['pvhub.dependencies-image'], first.dependencies?.image);
  } finally {
    for (const tag of made) await run('docker', ['image', 'rm', '--force', tag]);
    // Only an image this spec made: another run's may be in use.
    if (first?.dependencies?.reused === false) await engine.removeImage(first.dependencies.image);
  }
});

/** Debug lines of the builder, as the job log has them. */
function recordingLog(lines: string[]) {
  return pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line).msg as string) });
}

test('ruptures 1.1.8 (no wheel for python 3.13 on the index) is built from source once: a second, different submission needing it takes the built wheel from the cache', async () => {
  // A cache of its own, so the first build really builds; the images have unique code, so neither is cached.
  const cached = new DockerImageBuilder({
    engine,
    limits: loadConfig({ PVHUB_CONTAINER_MEMORY: '2g', PVHUB_BUILD_TIME_LIMIT: '900' }).limits,
    hostPython: HOST_PYTHON,
    baseImageRepository: 'python',
    wheelCache: builtWheelCache({
      dir: path.join(scratch, 'wheel-cache'),
      onWarning: (message) => assert.unreachable(message),
    }),
  });
  const tags: string[] = [];
  const made: string[] = [];
  const logs: string[][] = [[], []];
  try {
    for (const [index, lines] of logs.entries()) {
      // A requirement text of this submission alone (the pins are the same): a text seen before would go straight
      // to its dependencies image, resolving nothing, so building nothing.
      const dir = await writeSubmission(
        path.join(scratch, `ruptures-${index}`),
        `ruptures==1.1.8\nnumpy!=0.0.${index}${process.pid}${Date.now()}\n`,
        `import ruptures\ndef f(ts):\n    return ts  # ${index} ${process.pid}-${Date.now()}\n`,
      );
      const image = await cached.submissionImage(
        await request(dir, { pythonVersion: '3.13', log: recordingLog(lines) }),
      );
      assert.is(image.cached, false);
      assert.is(image.dependencies?.resolved, true);
      tags.push(image.tag);
      if (image.dependencies?.reused === false) made.push(image.dependencies.image);
    }
    const [first, second] = logs.map((lines) => lines.join('\n'));
    assert.match(first ?? '', 'no wheel of ruptures==1.1.8 for python 3.13: building it from source in a sandbox');
    assert.not.match(second ?? '', 'building it from source');
    assert.match(
      second ?? '',
      /ruptures-1\.1\.8-cp313-cp313-linux_x86_64\.whl, built here before from the same ruptures-1\.1\.8\.tar\.gz, is taken from the wheel cache/,
    );
    const imported = await engine.runContainer(
      {
        image: tags[1] ?? '',
        command: ['python', '-c', 'import ruptures; print(ruptures.__version__)'],
        mounts: [],
        ...sandboxLimits(limits),
        timeoutMs: 120_000,
        labels: LABELS,
      },
      new AbortController().signal,
    );
    assert.is(imported.exitCode, 0, imported.output);
    assert.match(imported.output, '1.1.8');
  } finally {
    for (const tag of tags) await run('docker', ['image', 'rm', '--force', tag]);
    for (const image of made) await engine.removeImage(image);
  }
});

test.run();
