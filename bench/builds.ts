/**
 * What a participant waits for before the first file runs: `npm run bench:builds` (or `npx tsx bench/builds.ts`),
 * some 10 minutes on 2 cores. On the real engine and the real index:
 *
 * - `build_vs_pip_install_ratio`: a cold build of the pvanalytics set by DockerImageBuilder (no image, no layer of an
 *   earlier build, an empty wheel cache; the base image present) ÷ a plain `pip install` of the same set into a fresh
 *   venv in a container of the builder image (the base image with a C toolchain, as a source build needs), with no
 *   pip cache. Alternating A B B A, medians.
 * - `cached_image_seconds`: after each cold build, a new submission (other code) with the same requirement set, from
 *   the builder call to the image ready.
 * - values.resolution: the resolution alone by uv (what the builder runs) and by pip (`pip install --dry-run
 *   --report`, for the same target), alternating, and whether both pin the same versions.
 *
 * Writes `results.builds` into bench/results.json, leaving every other key.
 * Environment: BENCH_BUILDS_REPEATS (default 1) pairs of cold build and pip install; BENCH_RESOLVE_REPEATS (default 3).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { DockerEngine } from '../src/adapters/docker-engine.js';
import { builderImage } from '../src/adapters/images/base-images.js';
import { builtWheelCache } from '../src/adapters/images/built-wheel-cache.js';
import { DockerImageBuilder } from '../src/adapters/images/docker-image-builder.js';
import { runHostProcess } from '../src/adapters/images/host-process.js';
import { loadConfig } from '../src/config.js';
import type { DependenciesReport } from '../src/ports/image-builder.js';
import {
  type BenchSection,
  alternating,
  median,
  positiveInt,
  resultSections,
  round,
  seconds,
  writeResults,
} from './common.js';

const REPEATS = positiveInt(process.env['BENCH_BUILDS_REPEATS'], 1);
const RESOLVE_REPEATS = positiveInt(process.env['BENCH_RESOLVE_REPEATS'], 3);
const PYTHON = '3.11';
/** A real Hub submission's set (spec/integration/real-requirements.spec.ts), with ruptures at 1.1.8. */
const REQUIREMENTS =
  'numpy==1.24.4\npandas==1.5.3\npvanalytics==0.2.0\npvlib==0.10.3\nrdtools==2.1.8\nruptures==1.1.8\n';
const HOST_PYTHON = loadConfig(process.env).hostPython;
const LABELS = { 'pvhub.bench': `builds-${process.pid}` };
const exec = promisify(execFile);

interface BuildRun {
  readonly ms: number;
  readonly tag: string;
  /** Requirements built from source in the sandbox, and taken from the wheel cache. */
  readonly sourceBuilds: number;
  readonly fromWheelCache: number;
  /** Engine build steps answered from the layer cache: 0 for a cold build. */
  readonly layersFromCache: number;
  /** Images this build made (its layers and stages), to remove so the next cold build finds none of them. */
  readonly madeImages: readonly string[];
  /** The dependencies image this build made, if it made one: removed after the images built on it. */
  readonly madeDependencies: string | undefined;
  /** The dependencies image it was built on: made by this build (not reused), and whether the set was resolved. */
  readonly dependencies: DependenciesReport | undefined;
}

async function writeSubmission(dir: string, marker: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'requirements.txt'), REQUIREMENTS);
  await writeFile(path.join(dir, 'submission_wrapper.py'), `def f(ts):\n    return ts  # ${marker}\n`);
  return dir;
}

async function build(builder: DockerImageBuilder, scratch: string, marker: string): Promise<BuildRun> {
  const lines: { msg?: string; build?: string }[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const submissionDir = await writeSubmission(path.join(scratch, marker, 'submission'), marker);
  const workDir = path.join(scratch, marker, 'build');
  await mkdir(workDir, { recursive: true });
  const started = performance.now();
  const image = await builder.submissionImage({
    submissionDir,
    pythonVersion: PYTHON,
    workDir,
    labels: LABELS,
    log,
    signal: new AbortController().signal,
  });
  const ms = performance.now() - started;
  const messages = lines.map((line) => line.msg ?? '');
  const steps = lines.flatMap((line) => (line.build === undefined ? [] : [line.build]));
  // " ---> <id>" after a step that made a layer (not FROM or a global ARG, not "Using cache") is an image this build made.
  const madeImages: string[] = [];
  let madeByStep = false;
  for (const step of steps) {
    const instruction = /^Step \d+\/\d+ : (\w+)/.exec(step)?.[1];
    if (instruction !== undefined) madeByStep = instruction !== 'FROM' && instruction !== 'ARG';
    if (step.includes('Using cache')) madeByStep = false;
    const made = /^ ---> ([0-9a-f]{12})\s*$/.exec(step)?.[1];
    if (made !== undefined && madeByStep) madeImages.push(made);
  }
  return {
    ms,
    tag: image.tag,
    sourceBuilds: messages.filter((message) => message.includes('building it from source')).length,
    fromWheelCache: messages.filter((message) => message.includes('is taken from the wheel cache')).length,
    layersFromCache: steps.filter((step) => step.includes('Using cache')).length,
    madeImages,
    madeDependencies: image.dependencies?.reused === false ? image.dependencies.image : undefined,
    dependencies: image.dependencies,
  };
}

async function removeImages(references: readonly string[]): Promise<void> {
  for (const reference of [...references].reverse())
    // Never forced: an image another build shares (a child of its own) or a container uses stays.
    await exec('docker', ['image', 'rm', reference]).catch(() => undefined);
}

/**
 * What the runs made, the images built on a dependencies image before it. The dependencies image carries two tags
 * (its set's and its requirement text's), which a plain `docker image rm` of its id refuses: the engine's own
 * removal takes them tag by tag.
 */
async function removeRuns(engine: DockerEngine, runs: readonly BuildRun[]): Promise<void> {
  for (const run of runs) await removeImages([run.tag, ...run.madeImages]);
  for (const run of runs)
    if (run.madeDependencies !== undefined) await engine.removeImage(run.madeDependencies).catch(() => false);
}

/** The host's CA bundle, for an index behind a TLS-inspecting proxy; the container's own otherwise. */
function caBundle(): string | undefined {
  return process.env['PIP_CERT'] ?? process.env['SSL_CERT_FILE'];
}

/** A plain `pip install` of the set into a fresh venv, no pip cache, in a new container of the builder image. */
async function pipInstall(image: string, scratch: string): Promise<number> {
  const requirements = path.join(scratch, 'pip-requirements.txt');
  await writeFile(requirements, REQUIREMENTS);
  const ca = caBundle();
  const args = [
    'run',
    '--rm',
    '--label',
    `pvhub.bench=${LABELS['pvhub.bench']}`,
    '-v',
    `${requirements}:/requirements.txt:ro`,
    ...(ca === undefined ? [] : ['-v', `${ca}:/ca.pem:ro`, '-e', 'PIP_CERT=/ca.pem']),
    ...(process.env['PIP_INDEX_URL'] === undefined ? [] : ['-e', `PIP_INDEX_URL=${process.env['PIP_INDEX_URL']}`]),
    image,
    'sh',
    '-c',
    'python -m venv /tmp/venv && /tmp/venv/bin/pip install --quiet --no-cache-dir --disable-pip-version-check -r /requirements.txt',
  ];
  const started = performance.now();
  await exec('docker', args, { maxBuffer: 64 * 1024 * 1024 });
  return performance.now() - started;
}

/** The platform arguments the builder's own resolution uses (src/adapters/images/wheel-download.ts). */
const UV_TARGET = ['--python-version', PYTHON, '--python-platform', 'x86_64-manylinux_2_36', '--only-binary', ':all:'];
const PIP_TARGET = [
  '--python-version',
  PYTHON,
  '--implementation',
  'cp',
  '--abi',
  `cp${PYTHON.replace('.', '')}`,
  '--only-binary=:all:',
  ...Array.from({ length: 32 }, (_, index) => ['--platform', `manylinux_2_${36 - index}_x86_64`]).flat(),
  '--platform',
  'manylinux2014_x86_64',
];

async function resolveWith(tool: 'uv' | 'pip', dir: string): Promise<{ ms: number; pins: string[] }> {
  const input = path.join(dir, 'requirements.in');
  await writeFile(input, `${REQUIREMENTS}pandas\nnumpy\n`);
  const started = performance.now();
  if (tool === 'uv') {
    const out = path.join(dir, `pins-${Date.now()}.txt`);
    const uv = path.join(path.dirname(HOST_PYTHON), 'uv');
    const args = ['pip', 'compile', '--quiet', '--no-header', '--no-annotate', '--no-config', '--python', HOST_PYTHON];
    const result = await runHostProcess(uv, [...args, ...UV_TARGET, '--output-file', out, input], dir, () => undefined);
    if (result.status !== 0) throw new Error(`uv failed: ${result.output}`);
    const ms = performance.now() - started;
    return { ms, pins: (await readFile(out, 'utf8')).split('\n').filter((line) => line.includes('==')) };
  }
  const report = path.join(dir, `report-${Date.now()}.json`);
  const args = ['-m', 'pip', 'install', '--dry-run', '--ignore-installed', '--quiet', '--target', path.join(dir, 't')];
  const result = await runHostProcess(
    HOST_PYTHON,
    [...args, ...PIP_TARGET, '--report', report, '-r', input],
    dir,
    () => undefined,
  );
  if (result.status !== 0) throw new Error(`pip failed: ${result.output}`);
  const ms = performance.now() - started;
  const installed = (JSON.parse(await readFile(report, 'utf8')) as { install: { metadata: Record<string, string> }[] })
    .install;
  return {
    ms,
    pins: installed.map(
      ({ metadata }) =>
        `${String(metadata['name'])
          .toLowerCase()
          .replace(/[-_.]+/g, '-')}==${metadata['version']}`,
    ),
  };
}

async function measureResolution(scratch: string) {
  const timings: Record<'uv' | 'pip', number[]> = { uv: [], pip: [] };
  const pins: Record<'uv' | 'pip', string[]> = { uv: [], pip: [] };
  for (const tool of alternating<'uv' | 'pip'>(['uv', 'pip'], RESOLVE_REPEATS)) {
    const dir = await mkdtemp(path.join(scratch, `resolve-${tool}-`));
    const result = await resolveWith(tool, dir);
    timings[tool].push(result.ms);
    pins[tool] = result.pins.sort();
    process.stderr.write(`[bench] builds: ${tool} resolves in ${seconds(result.ms)} s (${result.pins.length} pins)\n`);
  }
  const differ = pins.uv
    .filter((pin) => !pins.pip.includes(pin))
    .concat(pins.pip.filter((pin) => !pins.uv.includes(pin)));
  return {
    uvSeconds: timings.uv.map(seconds),
    pipSeconds: timings.pip.map(seconds),
    medianUvSeconds: seconds(median(timings.uv)),
    medianPipSeconds: seconds(median(timings.pip)),
    pins: pins.uv.length,
    identical: differ.length === 0,
    differing: differ,
  };
}

export async function measureBuilds(): Promise<BenchSection> {
  const engine = new DockerEngine();
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-bench-builds-'));
  const limits = loadConfig({ PVHUB_CONTAINER_MEMORY: '2g' }).limits;
  const reference = await builderImage(engine, PYTHON);
  const cold: BuildRun[] = [];
  const warm: BuildRun[] = [];
  const pip: number[] = [];
  try {
    const resolution = await measureResolution(scratch);
    for (const [index, variant] of alternating<'build' | 'pip'>(['build', 'pip'], REPEATS).entries()) {
      if (variant === 'pip') {
        const ms = await pipInstall(reference, scratch);
        pip.push(ms);
        process.stderr.write(`[bench] builds: pip install ${seconds(ms)} s\n`);
        continue;
      }
      // A wheel cache of its own each time: cold.
      const builder = new DockerImageBuilder({
        engine,
        limits,
        hostPython: HOST_PYTHON,
        baseImageRepository: 'python',
        wheelCache: builtWheelCache({ dir: path.join(scratch, `wheel-cache-${index}`), onWarning: () => undefined }),
      });
      const first = await build(builder, scratch, `cold-${index}-${process.pid}-${Date.now()}`);
      const second = await build(builder, scratch, `warm-${index}-${process.pid}-${Date.now()}`);
      process.stderr.write(
        `[bench] builds: cold build ${seconds(first.ms)} s (${first.layersFromCache} layers from cache), ` +
          `same set, new code ${seconds(second.ms)} s\n`,
      );
      cold.push(first);
      warm.push(second);
      await removeRuns(engine, [second, first]);
    }
    const ratio = median(cold.map((run) => run.ms)) / median(pip);
    const cachedSeconds = seconds(median(warm.map((run) => run.ms)));
    const summary = (runs: readonly BuildRun[]) =>
      runs.map(({ ms, sourceBuilds, fromWheelCache, layersFromCache, dependencies }) => ({
        seconds: seconds(ms),
        sourceBuilds,
        fromWheelCache,
        layersFromCache,
        dependenciesReused: dependencies?.reused ?? null,
        dependenciesResolved: dependencies?.resolved ?? null,
      }));
    return {
      description:
        `DockerImageBuilder on the real engine and index, python ${PYTHON}, the pvanalytics set (${REQUIREMENTS.trim().replace(/\n/g, ', ')}): ` +
        'a cold build ÷ a plain pip install into a fresh venv in a container of the builder image with no pip cache, ' +
        'alternating; a new submission with the set already built; the resolution alone by uv and by pip.',
      command: 'npm run bench:builds',
      figures: {
        build_vs_pip_install_ratio: {
          value: round(ratio, 2),
          unit: '×',
          target: '≤ 1.3',
          met: ratio <= 1.3,
          reference: `pip install into a fresh venv: median ${seconds(median(pip))} s`,
        },
        cached_image_seconds: {
          value: cachedSeconds,
          unit: 's',
          target: '≤ 5',
          met: cachedSeconds <= 5,
          reference: `the cold build of the same set: median ${seconds(median(cold.map((run) => run.ms)))} s`,
        },
      },
      values: {
        measuredAt: new Date().toISOString(),
        loadAverage1m: round(os.loadavg()[0] ?? NaN, 2),
        repeats: REPEATS,
        coldBuilds: summary(cold),
        newSubmissionSameSet: summary(warm),
        pipInstallSeconds: pip.map(seconds),
        resolution,
      },
    };
  } finally {
    await removeRuns(engine, [...warm, ...cold]);
    await engine.removeContainers(LABELS);
    await rm(scratch, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const section = await measureBuilds();
  await writeResults({ results: { ...(await resultSections()), builds: section } });
  console.log(JSON.stringify(section.figures));
}
