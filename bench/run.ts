/**
 * The worker's benchmarks: `npx tsx bench/run.ts` (or `npm run bench`), a few minutes on a 2-core machine.
 * Needs the set-up of scripts/setup.sh (Docker engine running, python:3.11-slim, .cache/venv for the wheels).
 *
 * Timings on small shared machines are noisy, so every comparison is made side by side in one run: the variants
 * alternate (A B B A A B …), each is repeated, and the figures are medians and ratios of medians.
 * Writes bench/results.json; bench/README.md explains every figure.
 *
 * Environment: BENCH_REPEATS (default 3) repeats of each scoring and container variant; BENCH_EVALUATE_REPEATS
 * (default 2, an evaluate takes ~20 s) repeats of each evaluate variant; BENCH_CONTAINERS (default 6) containers per batch.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, copyFile, link, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { lastValueFrom } from 'rxjs';
import pino from 'pino';
import { DockerEngine } from '../src/adapters/docker-engine.js';
import { loadConfig } from '../src/config.js';
import type { FileRun } from '../src/domain/file-run.js';
import { parseTaskConfigText } from '../src/domain/task-config.js';
import { RUNNER_USER } from '../src/domain/sandbox.js';
import { hubFileFormats } from '../src/adapters/file-formats.js';
import { scoreFile } from '../src/operators/score-file.js';
import { type BuiltWorkspace, workspacePaths } from '../src/domain/workspace.js';
import type { ContainerRunSpec } from '../src/ports/container-engine.js';
import { ObjectNotFoundError, type ObjectStore } from '../src/ports/object-store.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const THIS_FILE = fileURLToPath(import.meta.url);
const COMMAND = 'npx tsx bench/run.ts';
const RESULTS_FILE = path.join(ROOT, 'bench', 'results.json');
const TASK_DIR = 'examples/tasks/time-shift-detection';
const SUBMISSION = 'examples/submissions/time-shift-correct.zip';
const BASE_IMAGE = 'python:3.11-slim';
const MIB = 1024 ** 2;

const REPEATS = positiveInt(process.env['BENCH_REPEATS'], 3);
const EVALUATE_REPEATS = positiveInt(process.env['BENCH_EVALUATE_REPEATS'], 2);
const CONTAINERS_PER_BATCH = positiveInt(process.env['BENCH_CONTAINERS'], 6);
/** Rows of the two scoring sizes; the output differs from the reference by exactly OFFSET on every row. */
const SMALL_ROWS = 10_000;
const LARGE_ROWS = 1_000_000;
const OFFSET = 0.5;
/**
 * V8 flags of the bounded-heap scoring runs: a 1 MiB young generation (V8 otherwise grows it to tens of MiB under a
 * high allocation rate) and a 32 MiB old generation, far less than either series would take if it were held.
 */
const BOUNDED_HEAP_FLAGS = ['--max-semi-space-size=1', '--max-old-space-size=32'];

function positiveInt(text: string | undefined, fallback: number): number {
  const value = Number(text);
  return text !== undefined && Number.isSafeInteger(value) && value > 0 ? value : fallback;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

const round = (value: number, digits = 3) => Number(value.toFixed(digits));
const seconds = (ms: number) => round(ms / 1000);

/** A B B A A B …: each variant runs first as often as the other, so a drift of the machine does not favour one. */
function alternating<T>(a: T, b: T, repeats: number): T[] {
  const order: T[] = [];
  for (let i = 0; i < repeats; i += 1) order.push(...(i % 2 === 0 ? [a, b] : [b, a]));
  return order;
}

interface Finished {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

// ---------------------------------------------------------------------------------------------------------------
// 1. Parallelism from memory: the whole `evaluate` command with PVHUB_MAX_PARALLEL=1 and 2.

interface EvaluateRun {
  readonly wallMs: number;
  /** From "running files" to the last per-file log line: the part that parallelism can shorten. */
  readonly filesPhaseMs: number | undefined;
}

async function filesPhase(outDir: string): Promise<number | undefined> {
  const text = await readFile(path.join(outDir, 'logs', 'submission.log.jsonl'), 'utf8').catch(() => '');
  let start: number | undefined;
  let end: number | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const entry = JSON.parse(line) as { time?: string; msg?: string; file?: string };
    const time = entry.time === undefined ? NaN : Date.parse(entry.time);
    if (entry.msg === 'running files') start = time;
    else if (start !== undefined && entry.file !== undefined) end = time;
  }
  return start !== undefined && end !== undefined ? end - start : undefined;
}

async function evaluateOnce(parallel: number, tmp: string, label: string): Promise<EvaluateRun> {
  const outDir = path.join(tmp, `evaluate-${label}`);
  const started = performance.now();
  const result = await run(
    process.execPath,
    [
      path.join(ROOT, 'bin/pvhub-worker.js'),
      'evaluate',
      '--task',
      TASK_DIR,
      '--submission',
      SUBMISSION,
      '--out',
      outDir,
    ],
    { PVHUB_MAX_PARALLEL: String(parallel), PVHUB_CONTAINER_MEMORY: '1g' },
  );
  const wallMs = performance.now() - started;
  if (result.status !== 0)
    throw new Error(`evaluate (parallel ${parallel}) exited ${result.status}: ${result.stderr || result.stdout}`);
  const phase = await filesPhase(outDir);
  await rm(outDir, { recursive: true, force: true });
  return { wallMs, filesPhaseMs: phase };
}

async function benchEvaluate(tmp: string) {
  progress('evaluate: warm-up (builds or reuses the submission image)');
  await evaluateOnce(2, tmp, 'warm-up');
  const runs: Record<1 | 2, EvaluateRun[]> = { 1: [], 2: [] };
  for (const [index, parallel] of alternating<1 | 2>(1, 2, EVALUATE_REPEATS).entries()) {
    const result = await evaluateOnce(parallel, tmp, String(index));
    progress(
      `evaluate: PVHUB_MAX_PARALLEL=${parallel} ${seconds(result.wallMs)} s (files phase ${seconds(result.filesPhaseMs ?? NaN)} s)`,
    );
    runs[parallel].push(result);
  }
  const summary = (list: readonly EvaluateRun[]) => {
    const phases = list.map((r) => r.filesPhaseMs).filter((ms): ms is number => ms !== undefined);
    return {
      wallSeconds: list.map((r) => seconds(r.wallMs)),
      medianWallSeconds: seconds(median(list.map((r) => r.wallMs))),
      filesPhaseSeconds: phases.map(seconds),
      medianFilesPhaseSeconds: phases.length > 0 ? seconds(median(phases)) : null,
    };
  };
  const one = summary(runs[1]);
  const two = summary(runs[2]);
  return {
    description:
      'Wall time of the evaluate command (13 files of the example time-shift task, image cached, PVHUB_CONTAINER_MEMORY=1g) ' +
      'with at most 1 and at most 2 containers at once; speed-up = median(parallel 1) / median(parallel 2).',
    command: `PVHUB_MAX_PARALLEL={1,2} PVHUB_CONTAINER_MEMORY=1g node bin/pvhub-worker.js evaluate --task ${TASK_DIR} --submission ${SUBMISSION} --out <tmp>`,
    files: 13,
    repeats: EVALUATE_REPEATS,
    order: alternating(1, 2, EVALUATE_REPEATS),
    values: { maxParallel1: one, maxParallel2: two },
    ratios: {
      wallSpeedup: round(one.medianWallSeconds / two.medianWallSeconds),
      filesPhaseSpeedup:
        one.medianFilesPhaseSeconds !== null && two.medianFilesPhaseSeconds !== null
          ? round(one.medianFilesPhaseSeconds / two.medianFilesPhaseSeconds)
          : null,
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// 2. Streamed scoring: scoreFile on a time series of 10k and of 1M rows, each in its own process.

/** Writes the reference and an output that is off by OFFSET on every row (so the expected MAE is OFFSET). */
async function writeSeries(dir: string, rows: number): Promise<{ output: string; reference: string }> {
  const output = path.join(dir, `output-${rows}.csv`);
  const reference = path.join(dir, `reference-${rows}.csv`);
  const outStream = createWriteStream(output);
  const refStream = createWriteStream(reference);
  const write = async (stream: NodeJS.WritableStream, text: string) => {
    if (!stream.write(text)) await once(stream, 'drain');
  };
  await write(outStream, ',0\n');
  await write(refStream, ',0\n');
  const start = Date.UTC(2015, 0, 1);
  const CHUNK = 5_000;
  for (let first = 0; first < rows; first += CHUNK) {
    let outText = '';
    let refText = '';
    for (let i = first; i < Math.min(rows, first + CHUNK); i += 1) {
      const stamp = new Date(start + i * 60_000).toISOString().slice(0, 19).replace('T', ' ');
      const value = (i % 1000) / 10;
      outText += `${stamp},${value + OFFSET}\n`;
      refText += `${stamp},${value}\n`;
    }
    await write(outStream, outText);
    await write(refStream, refText);
  }
  outStream.end();
  refStream.end();
  await Promise.all([once(outStream, 'finish'), once(refStream, 'finish')]);
  return { output, reference };
}

interface ScoreChildReport {
  readonly rows: number;
  readonly scoreMs: number;
  readonly rssBeforeMiB: number;
  readonly peakRssWhileScoringMiB: number;
  readonly maxRssMiB: number;
  readonly meanAbsoluteError: number | null;
}

/** The child's side: scoreFile over a workspace in a temp folder and an ObjectStore that serves the reference file. */
async function scoreChild(outputFile: string, referenceFile: string, rows: number): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pvhub-bench-ws-'));
  try {
    const config = parseTaskConfigText(await readFile(path.join(ROOT, TASK_DIR, 'config.json'), 'utf8'));
    const ws: BuiltWorkspace = {
      job: { analysisId: 1, submissionId: 1, userId: 'bench', submissionFilename: 'bench.zip', pythonVersion: '3.11' },
      dir,
      log: pino({ level: 'silent' }),
      config,
      files: [],
      fileMetadata: [],
      systems: new Map(),
      templatePath: undefined,
      submissionDir: path.join(dir, 'submission'),
      image: 'bench',
    };
    const store: ObjectStore = {
      list: async () => [],
      download: async (key, destination) => {
        if (!key.startsWith('data_files/references/')) throw new ObjectNotFoundError(key);
        await copyFile(referenceFile, destination);
      },
      upload: async (key) => {
        throw new Error(`read-only (${key})`);
      },
    };
    const resultsDir = path.join(workspacePaths(dir).runs, '0', 'results');
    await mkdir(resultsDir, { recursive: true });
    const outputPath = path.join(resultsDir, 'output.csv');
    // scoreFile moves the output into the results; a link leaves the generated file for the next repeat.
    await link(outputFile, outputPath).catch(() => copyFile(outputFile, outputPath));
    const task = {
      index: 0,
      metadata: { file_id: 1, system_id: 1, file_name: 'series.csv', include_on_leaderboard: true },
      kwargs: [],
    };
    const ran: FileRun = { kind: 'ran', task, executionTime: 1, outputPath, functionParameters: [], wallTimeMs: 0 };

    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const started = performance.now();
    const score = await lastValueFrom(scoreFile(ws, ran, { store, files: hubFileFormats }));
    const scoreMs = performance.now() - started;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    const report: ScoreChildReport = {
      rows,
      scoreMs,
      rssBeforeMiB: rssBefore / MIB,
      peakRssWhileScoringMiB: peak / MIB,
      maxRssMiB: (process.resourceUsage().maxRSS * 1024) / MIB,
      meanAbsoluteError: score.kind === 'scored' ? (score.row.values['mean_absolute_error_time_series'] ?? null) : null,
    };
    if (score.kind !== 'scored')
      throw new Error(`the series did not score: ${score.failure.code} ${score.failure.message}`);
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function scoreInChild(
  files: { output: string; reference: string },
  rows: number,
  v8Flags: readonly string[],
): Promise<ScoreChildReport> {
  const result = await run(process.execPath, [
    ...v8Flags,
    '--import',
    'tsx',
    THIS_FILE,
    '--score-child',
    files.output,
    files.reference,
    String(rows),
  ]);
  if (result.status !== 0) throw new Error(`scoring child (${rows} rows) exited ${result.status}: ${result.stderr}`);
  const report = JSON.parse(result.stdout.trim().split('\n').pop() ?? '') as ScoreChildReport;
  if (report.meanAbsoluteError === null || Math.abs(report.meanAbsoluteError - OFFSET) > 1e-9) {
    throw new Error(`scoring ${rows} rows gave MAE ${report.meanAbsoluteError}, expected ${OFFSET}`);
  }
  return report;
}

async function benchScoring(tmp: string) {
  progress(`scoring: generating ${SMALL_ROWS} and ${LARGE_ROWS} rows`);
  const small = await writeSeries(tmp, SMALL_ROWS);
  const large = await writeSeries(tmp, LARGE_ROWS);
  type Variant = 'small' | 'large' | 'smallBounded' | 'largeBounded';
  const reports: Record<Variant, ScoreChildReport[]> = { small: [], large: [], smallBounded: [], largeBounded: [] };
  const forward: Variant[] = ['small', 'large', 'smallBounded', 'largeBounded'];
  for (let repeat = 0; repeat < REPEATS; repeat += 1) {
    for (const variant of repeat % 2 === 0 ? forward : [...forward].reverse()) {
      const rows = variant.startsWith('small') ? SMALL_ROWS : LARGE_ROWS;
      const bounded = variant.endsWith('Bounded');
      const report = await scoreInChild(rows === SMALL_ROWS ? small : large, rows, bounded ? BOUNDED_HEAP_FLAGS : []);
      progress(
        `scoring: ${rows} rows${bounded ? ' (bounded heap)' : ''} in ${seconds(report.scoreMs)} s, ` +
          `peak RSS ${round(report.peakRssWhileScoringMiB, 1)} MiB (before ${round(report.rssBeforeMiB, 1)})`,
      );
      reports[variant].push(report);
    }
  }
  const summary = (list: readonly ScoreChildReport[], rows: number) => ({
    rows,
    scoreSeconds: list.map((r) => seconds(r.scoreMs)),
    medianRowsPerSecond: Math.round(median(list.map((r) => rows / (r.scoreMs / 1000)))),
    medianMicrosecondsPerRow: round(median(list.map((r) => (r.scoreMs * 1000) / rows)), 3),
    medianRssBeforeMiB: round(median(list.map((r) => r.rssBeforeMiB)), 1),
    medianPeakRssWhileScoringMiB: round(median(list.map((r) => r.peakRssWhileScoringMiB)), 1),
    medianRssGrowthMiB: round(median(list.map((r) => r.peakRssWhileScoringMiB - r.rssBeforeMiB)), 1),
    medianProcessMaxRssMiB: round(median(list.map((r) => r.maxRssMiB)), 1),
  });
  const s = summary(reports.small, SMALL_ROWS);
  const l = summary(reports.large, LARGE_ROWS);
  const sb = summary(reports.smallBounded, SMALL_ROWS);
  const lb = summary(reports.largeBounded, LARGE_ROWS);
  return {
    description:
      'scoreFile (src/operators/score-file.ts, the job step itself) on one time-series output against its reference ' +
      '(index + one value column, generated; expected MAE 0.5 checked), each run in a fresh Node process. Time includes ' +
      'fetching the reference from a local ObjectStore (a file copy). RSS is sampled every 5 ms while scoring; ' +
      'maxRSS is process.resourceUsage() of the whole child (includes loading tsx and the worker). Default V8 settings, ' +
      `and again with a bounded heap (${BOUNDED_HEAP_FLAGS.join(' ')}): a series held in memory could not fit there.`,
    repeats: REPEATS,
    boundedHeapFlags: BOUNDED_HEAP_FLAGS,
    values: { rows10k: s, rows1M: l, rows10kBoundedHeap: sb, rows1MBoundedHeap: lb },
    ratios: {
      rows: LARGE_ROWS / SMALL_ROWS,
      peakRssWhileScoring1MOver10k: round(l.medianPeakRssWhileScoringMiB / s.medianPeakRssWhileScoringMiB),
      processMaxRss1MOver10k: round(l.medianProcessMaxRssMiB / s.medianProcessMaxRssMiB),
      rowsPerSecond1MOver10k: round(l.medianRowsPerSecond / s.medianRowsPerSecond),
      boundedHeapPeakRssWhileScoring1MOver10k: round(lb.medianPeakRssWhileScoringMiB / sb.medianPeakRssWhileScoringMiB),
      boundedHeapProcessMaxRss1MOver10k: round(lb.medianProcessMaxRssMiB / sb.medianProcessMaxRssMiB),
      boundedHeapRowsPerSecond1MOverDefault: round(lb.medianRowsPerSecond / l.medianRowsPerSecond),
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// 3. Container start cost: DockerEngine.runContainer of `python -c pass`, one after another and two at once.

async function benchContainers(tmp: string) {
  const config = loadConfig({ ...process.env, PVHUB_CONTAINER_MEMORY: '1g' });
  const engine = new DockerEngine();
  if (!(await engine.imageExists(BASE_IMAGE))) throw new Error(`${BASE_IMAGE} is missing: run bash scripts/setup.sh`);
  const labels = { 'pvhub.bench': String(process.pid) };
  let counter = 0;
  /** Folders as run-file.ts prepares them (read-only data, writable results), made before the clock starts. */
  const prepare = async (): Promise<ContainerRunSpec> => {
    const dir = path.join(tmp, 'containers', String(counter++));
    const data = path.join(dir, 'data');
    const results = path.join(dir, 'results');
    await mkdir(data, { recursive: true });
    await mkdir(results, { recursive: true });
    await chmod(results, 0o777);
    await writeFile(path.join(data, 'series.csv'), ',0\n2015-01-01,0\n');
    return {
      image: BASE_IMAGE,
      command: ['python', '-c', 'pass'],
      mounts: [
        { hostPath: data, containerPath: '/data', readOnly: true },
        { hostPath: results, containerPath: '/results', readOnly: false },
      ],
      memoryBytes: config.limits.containerMemoryBytes,
      nanoCpus: config.limits.containerNanoCpus,
      pidsLimit: config.limits.containerPidsLimit,
      timeoutMs: 60_000,
      labels,
      outputCapBytes: config.limits.outputCapBytes,
      resultsCapBytes: config.limits.resultsCapBytes,
      user: RUNNER_USER,
    };
  };
  const runOne = async (spec: ContainerRunSpec) => {
    const outcome = await engine.runContainer(spec, new AbortController().signal);
    if (outcome.exitCode !== 0) throw new Error(`python -c pass exited ${outcome.exitCode}: ${outcome.output}`);
  };
  /** Wall seconds per container for a batch run with this many lanes. */
  const batch = async (lanes: number): Promise<number> => {
    const specs = await Promise.all(Array.from({ length: CONTAINERS_PER_BATCH }, prepare));
    const queue = [...specs];
    const started = performance.now();
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        for (let spec = queue.shift(); spec !== undefined; spec = queue.shift()) await runOne(spec);
      }),
    );
    return (performance.now() - started) / 1000 / CONTAINERS_PER_BATCH;
  };
  try {
    progress('containers: warm-up');
    await runOne(await prepare());
    const perContainer: Record<1 | 2, number[]> = { 1: [], 2: [] };
    for (const lanes of alternating<1 | 2>(1, 2, REPEATS)) {
      const value = await batch(lanes);
      progress(`containers: ${lanes === 1 ? 'sequential' : 'two at once'} ${round(value)} s per container`);
      perContainer[lanes].push(round(value));
    }
    const sequential = round(median(perContainer[1]));
    const twoAtOnce = round(median(perContainer[2]));
    return {
      description:
        `DockerEngine.runContainer (create, attach, start, wait, inspect, force-remove) of \`python -c pass\` in ${BASE_IMAGE} ` +
        "with the worker's hardening (no network, all capabilities dropped, read-only root, tmpfs /tmp, memory 1g, " +
        `CPU and pids limits, ulimits, uid ${RUNNER_USER}, results watch) and two bind mounts as run-file.ts makes them; ` +
        `batches of ${CONTAINERS_PER_BATCH} containers, wall seconds per container, one after another vs two at once.`,
      containersPerBatch: CONTAINERS_PER_BATCH,
      repeats: REPEATS,
      values: {
        sequentialSecondsPerContainer: perContainer[1],
        twoAtOnceSecondsPerContainer: perContainer[2],
        medianSequentialSecondsPerContainer: sequential,
        medianTwoAtOnceSecondsPerContainer: twoAtOnce,
        architectureFigures: {
          bindMountsSequential: 0.5,
          bindMountsTwoAtOnce: 0.4,
          source: '/work/shared/design/architecture.md',
        },
      },
      ratios: {
        twoAtOnceOverSequential: round(twoAtOnce / sequential),
        sequentialOverArchitecture: round(sequential / 0.5),
        twoAtOnceOverArchitecture: round(twoAtOnce / 0.4),
      },
    };
  } finally {
    await engine.removeContainers(labels);
  }
}

// ---------------------------------------------------------------------------------------------------------------

async function dockerVersion(): Promise<string | null> {
  const result = await run('docker', ['version', '--format', '{{.Server.Version}}']).catch(() => undefined);
  return result?.status === 0 ? result.stdout.trim() : null;
}

async function main(): Promise<void> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'pvhub-bench-'));
  const started = Date.now();
  const loadAtStart = os.loadavg()[0] ?? NaN;
  try {
    const scoring = await benchScoring(tmp);
    const containers = await benchContainers(tmp);
    const evaluate = await benchEvaluate(tmp);
    const results = {
      measuredAt: new Date().toISOString(),
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? null,
        memGiB: round(os.totalmem() / 1024 ** 3, 1),
        node: process.version,
        docker: await dockerVersion(),
      },
      command: COMMAND,
      // Other work on the machine skews every figure; the ratios, measured side by side, suffer least.
      loadAverage1m: { atStart: round(loadAtStart, 2), atEnd: round(os.loadavg()[0] ?? NaN, 2) },
      durationSeconds: Math.round((Date.now() - started) / 1000),
      results: { evaluateParallelism: evaluate, streamingScoring: scoring, containerStart: containers },
    };
    await writeFile(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
    progress(`wrote ${path.relative(ROOT, RESULTS_FILE)} in ${results.durationSeconds} s`);
    console.log(
      JSON.stringify(
        {
          evaluateSpeedup: evaluate.ratios,
          scoring: scoring.ratios,
          rowsPerSecond: {
            rows10k: scoring.values.rows10k.medianRowsPerSecond,
            rows1M: scoring.values.rows1M.medianRowsPerSecond,
          },
          containerSecondsPerContainer: {
            sequential: containers.values.medianSequentialSecondsPerContainer,
            twoAtOnce: containers.values.medianTwoAtOnceSecondsPerContainer,
          },
        },
        null,
        2,
      ),
    );
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
if (args[0] === '--score-child') {
  const [, output, reference, rows] = args;
  if (output === undefined || reference === undefined || rows === undefined)
    throw new Error('usage: --score-child <output> <reference> <rows>');
  await scoreChild(output, reference, Number(rows));
} else {
  await main();
}
