/**
 * The per-file floor of the containers: `npm run bench:containers` (or `npx tsx bench/containers.ts`), a few minutes.
 * Needs the Docker engine, python:3.11-slim and .cache/venv (pip, for the wheels), as scripts/setup.sh makes them.
 *
 * Two variants on the same trivial files (BENCH_CONTAINER_FILES, default 100), each BENCH_CONTAINER_REPEATS times
 * (default 2), alternating, at parallel 2 (the issue's figures) or BENCH_CONTAINER_PARALLEL (figures of their own,
 * named for it, under the key `containers_parallel_<n>`):
 * - `worker`: runFiles (src/operators/run-files.ts), the job's own step, on the real engine: each file in a fresh
 *   container started ahead of its turn, its output scored against its reference, its progress told to a Hub stand-in.
 * - `plainLoop`: as many lanes as the parallel, each running one file after the other with DockerEngine.runContainer, the same wrapper
 *   command, hardening, mounts and results volume, and its go at once: nothing started ahead.
 * - `dockerRunLoop`: the same lanes of `docker run` (the CLI), as a person would run the files by hand: the same
 *   hardening and wrapper, the data and a results folder bind-mounted, the network sandbox `--network none` makes.
 * - `bareDockerRunLoop`: the same lanes of `docker run` with the same flags and no mounts, of `/bin/true`: the container
 *   floor the issue names, a container that runs nothing.
 * Writes its key into bench/results.json and leaves every other key as it was.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { lastValueFrom, tap } from 'rxjs';
import pino from 'pino';
import { DockerEngine } from '../src/adapters/docker-engine.js';
import { createOptions } from '../src/adapters/docker-run-options.js';
import { hubFileFormats } from '../src/adapters/file-formats.js';
import { DockerImageBuilder } from '../src/adapters/images/docker-image-builder.js';
import { LocalTaskStore } from '../src/adapters/local-task-store.js';
import { MemoryLedger } from '../src/adapters/memory-ledger.js';
import { RecordingHub } from '../src/adapters/simulated/hub.js';
import { loadConfig } from '../src/config.js';
import type { FileTask } from '../src/domain/file-run.js';
import type { Job } from '../src/domain/job.js';
import type { JobEvent } from '../src/domain/job-event.js';
import type { ResourceLimits } from '../src/domain/limits.js';
import { memoryBudget } from '../src/domain/memory-budget.js';
import { sandboxLimits } from '../src/domain/sandbox.js';
import { type BuiltWorkspace, hostsFile } from '../src/domain/workspace.js';
import type { JobScope } from '../src/operators/job-scope.js';
import { OUTPUT_FILE, turnWaitLimitMs, wrapperCommand } from '../src/operators/run-file.js';
import { runFiles } from '../src/operators/run-files.js';
import { stageJob } from '../src/operators/stage-job.js';
import type { ContainerOutcome, ContainerRunSpec } from '../src/ports/container-engine.js';
import { LedgerSession } from '../src/sinks/ledger-session.js';
import { readMemory } from '../src/streams/memory-readings.js';
import type { BenchSection } from './common.js';
import { printFigures, writeSection } from './figures.js';
import { alternating, machine, median, positiveInt, ROOT, round } from './common.js';

const FILES = positiveInt(process.env['BENCH_CONTAINER_FILES'], 100);
const REPEATS = positiveInt(process.env['BENCH_CONTAINER_REPEATS'], 2);
/** The issue's figures are at parallel 2. */
const ISSUE_PARALLEL = 2;
/** USER_HZ, the unit of /proc/stat's times on Linux. */
const CLOCK_TICKS_PER_SECOND = 100;
const execFileAsync = promisify(execFile);
const PARALLEL = positiveInt(process.env['BENCH_CONTAINER_PARALLEL'], ISSUE_PARALLEL);
/** Figures at another parallel have names and a key of their own, so they never pass for the issue's. */
const SUFFIX = PARALLEL === ISSUE_PARALLEL ? '' : `_parallel_${PARALLEL}`;
/** The key of bench/results.json the section is written under. */
export const CONTAINERS_KEY = `containers${SUFFIX}`;
const EXAMPLE_TASK = path.join(ROOT, 'examples/tasks/time-shift-detection');
const DATA = 'measured_on,ac_power\n2015-02-01 00:00:00-07:00,0.0\n2015-02-01 00:15:00-07:00,1.5\n';
/** What the trivial submission returns for DATA, as the wrapper writes it: the reference, so every file scores. */
const REFERENCE = ',0\n2015-02-01 00:00:00-07:00,0.0\n2015-02-01 00:15:00-07:00,0.0\n';
const SUBMISSION =
  'import pandas as pd\n\n\ndef detect_time_shifts(time_series, latitude=None, longitude=None, data_sampling_frequency=None):\n' +
  '    return pd.Series(0.0, index=time_series.index)\n';
const REQUIREMENTS = 'pandas==2.2.3\nnumpy==2.1.3\n';

const VARIANTS = ['worker', 'plainLoop', 'dockerRunLoop', 'bareDockerRunLoop'] as const;
type Variant = (typeof VARIANTS)[number];

/** When each container of a run had its go and when it ended, in ms of performance.now(). */
interface Span {
  readonly go: number;
  end?: number;
}

interface RunTiming {
  /** performance.now() at the variant's start and as each file was done, in order. */
  readonly startedAt: number;
  readonly doneAt: number[];
  readonly spans: Span[];
  /** CPU per file, in ms: of this process (the worker's own work), and of the whole machine (engine, runtime, Python). */
  processCpuMs?: number;
  machineCpuMs?: number;
}

/** CPU time the whole machine has spent busy so far, in ms (/proc/stat: every state but idle and iowait). */
async function machineBusyMs(): Promise<number> {
  const fields = (await readFile('/proc/stat', 'utf8')).split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  const busy = fields.reduce((sum, value, index) => (index === 3 || index === 4 ? sum : sum + value), 0);
  return (busy * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** The task folder of the example, with FILES trivial data files and their references. */
async function benchTask(dir: string): Promise<string> {
  const task = path.join(dir, 'task');
  await mkdir(path.join(task, 'data'), { recursive: true });
  await mkdir(path.join(task, 'validation_data'), { recursive: true });
  for (const name of ['config.json', 'system_metadata.csv'])
    await writeFile(path.join(task, name), await readFile(path.join(EXAMPLE_TASK, name)));
  const names = Array.from({ length: FILES }, (_, index) => `bench_${String(index).padStart(4, '0')}.csv`);
  const metadata = names.map(
    (name, index) => `${index + 1},1001,${name},Etc/GMT+7,15,none,none,${'0'.repeat(32)},True\n`,
  );
  await writeFile(
    path.join(task, 'file_metadata.csv'),
    'file_id,system_id,file_name,timezone,data_sampling_frequency,issue,subissue,file_hash,include_on_leaderboard\n' +
      metadata.join(''),
  );
  await writeFile(
    path.join(task, 'file_test_link.csv'),
    `test_id,file_id\n${names.map((_, index) => `${index},${index + 1}\n`).join('')}`,
  );
  for (const name of names) {
    await writeFile(path.join(task, 'data', name), DATA);
    await writeFile(path.join(task, 'validation_data', name), REFERENCE);
  }
  return task;
}

/** The engine, recording each run's go and end (the span in which its container runs the submission's call). */
class TimedEngine extends DockerEngine {
  spans: Span[] = [];

  override runContainer(spec: ContainerRunSpec, signal: AbortSignal): Promise<ContainerOutcome> {
    const { turn } = spec;
    if (turn === undefined) return super.runContainer(spec, signal);
    let span: Span | undefined;
    const go = turn.go.then(() => {
      span = { go: performance.now() };
      this.spans.push(span);
    });
    const ended = () => {
      if (span !== undefined) span.end = performance.now();
      turn.ended();
    };
    return super.runContainer({ ...spec, turn: { ...turn, go, ended } }, signal);
  }
}

interface World {
  readonly engine: TimedEngine;
  readonly limits: ResourceLimits;
  readonly taskDir: string;
  readonly submissionDir: string;
  readonly scratch: string;
  readonly log: pino.Logger;
}

const labelsOf = (index: number) => ({ 'pvhub.bench': String(process.pid), 'pvhub.submission': `containers${index}` });

function jobOf(index: number): Job {
  return {
    analysisId: 1,
    submissionId: 900_000 + index,
    userId: 'bench',
    submissionFilename: 'submission',
    pythonVersion: '3.11',
  };
}

/** Stages the bench task into a fresh workspace, as a job does, with the submission's image built (or cached). */
async function stagedWorkspace(
  world: World,
  index: number,
  tag: string,
): Promise<{ ws: BuiltWorkspace; scope: JobScope }> {
  const dir = await mkdtemp(path.join(world.scratch, 'job-'));
  const scope: JobScope = { dir, log: world.log, labels: labelsOf(index) };
  const ports = {
    store: new LocalTaskStore(world.taskDir, world.submissionDir),
    hub: new RecordingHub(world.taskDir),
    files: hubFileFormats,
  };
  const staged = await lastValueFrom(stageJob(jobOf(index), scope, ports));
  if (staged.type !== 'staged') throw new Error(`staging gave ${staged.type}`);
  return { ws: { ...staged.workspace, image: tag }, scope };
}

async function timeWorker(world: World, index: number, tag: string): Promise<RunTiming> {
  const { ws, scope } = await stagedWorkspace(world, index, tag);
  const job = jobOf(index);
  const ports = {
    engine: world.engine,
    store: new LocalTaskStore(world.taskDir, world.submissionDir),
    hub: new RecordingHub(world.taskDir),
    files: hubFileFormats,
    freeMemory: () => memoryBudget(readMemory(), world.limits.memoryReserveBytes),
    ledger: await LedgerSession.open(new MemoryLedger(), job, world.log),
  };
  world.engine.spans = [];
  const doneAt: number[] = [];
  let failed = 0;
  const startedAt = performance.now();
  try {
    const last = await lastValueFrom(
      runFiles(ws, scope, ports, world.limits).pipe(
        tap((event: JobEvent) => {
          if (event.type !== 'file') return;
          doneAt.push(performance.now());
          if (event.score.kind !== 'scored') failed += 1;
        }),
      ),
    );
    if (last.type !== 'scored' || failed > 0)
      throw new Error(`the worker's files did not all score (${failed} failed)`);
  } finally {
    await world.engine.removeContainers(scope.labels);
    await rm(scope.dir, { recursive: true, force: true });
  }
  return { startedAt, doneAt, spans: world.engine.spans };
}

/** A loop's folders for one file: its data file in data/, and an empty results/. */
async function fileFolders(dir: string, task: FileTask) {
  const data = path.join(dir, 'data');
  const results = path.join(dir, 'results');
  await mkdir(data, { recursive: true });
  await mkdir(results, { recursive: true });
  await writeFile(path.join(data, task.metadata.file_name), DATA, { mode: 0o644 });
  return { data, results };
}

/** Runs one file of a loop in its own folder, nothing started ahead. */
type LoopRun = (
  world: World,
  tag: string,
  task: FileTask,
  dir: string,
  labels: Record<string, string>,
  hosts: string,
) => Promise<void>;

/** The same container as run-file makes for a file, its data in place before it starts, and its go at once. */
const plainRun: LoopRun = async (world, tag, task, dir, labels, hosts) => {
  const { data, results } = await fileFolders(dir, task);
  const outcome = await world.engine.runContainer(
    {
      image: tag,
      command: wrapperCommand('detect_time_shifts', task, world.limits),
      mounts: [{ hostPath: data, containerPath: '/data', readOnly: true }],
      results: {
        containerPath: '/results',
        capBytes: world.limits.resultsCapBytes,
        collect: [OUTPUT_FILE, 'status.json'],
        hostDir: results,
      },
      hostsFile: hosts,
      ...sandboxLimits(world.limits),
      timeoutMs: world.limits.fileTimeLimitMs,
      labels: { ...labels, 'pvhub.file': task.metadata.file_name },
      turn: { go: Promise.resolve(), waitLimitMs: turnWaitLimitMs(world.limits), ended: () => undefined },
    },
    new AbortController().signal,
  );
  if (outcome.exitCode !== 0) throw new Error(`a plain run failed: ${outcome.output}`);
};

/** `docker run`'s flags for the same create request as the engine's, the network sandbox as `--network none` makes it. */
function dockerRunArguments(spec: ContainerRunSpec): string[] {
  const { Image, Cmd = [], User, Env = [], Labels = {}, HostConfig: host = {} } = createOptions(spec, []);
  const each = (flag: string, values: readonly string[]) => values.flatMap((value) => [flag, value]);
  return [
    'run',
    '--rm',
    '--network',
    'none',
    ...each('--cap-drop', host.CapDrop ?? []),
    ...each('--security-opt', host.SecurityOpt ?? []),
    ...(host.ReadonlyRootfs === true ? ['--read-only'] : []),
    ...each(
      '--tmpfs',
      Object.entries(host.Tmpfs ?? {}).map(([dir, options]) => `${dir}:${options}`),
    ),
    ...['--memory', String(host.Memory), '--memory-swap', String(host.MemorySwap)],
    ...['--cpus', String((host.NanoCpus ?? 0) / 1e9), '--pids-limit', String(host.PidsLimit)],
    ...each(
      '--ulimit',
      (host.Ulimits ?? []).map((limit) => `${limit.Name}=${limit.Soft}:${limit.Hard}`),
    ),
    ...['--log-driver', host.LogConfig?.Type ?? 'none'],
    ...each('--volume', host.Binds ?? []),
    ...each('--env', Env),
    ...each(
      '--label',
      Object.entries(Labels).map(([name, value]) => `${name}=${value}`),
    ),
    ...(User === undefined ? [] : ['--user', User]),
    Image as string,
    ...Cmd,
  ];
}

/** The wrapper's command without a turn: the CLI's run starts its file at once. */
const startingAtOnce = (command: readonly string[]) =>
  command.filter((arg, i) => arg !== '--go-on-stdin' && arg !== '--wait-limit' && command[i - 1] !== '--wait-limit');

/** `docker run` of `command` for one file, with `mounts`: the job's limits and labels, as the engine's runs have them. */
async function runByCli(
  world: World,
  tag: string,
  task: FileTask,
  labels: Record<string, string>,
  command: readonly string[],
  mounts: ContainerRunSpec['mounts'],
) {
  const spec: ContainerRunSpec = {
    image: tag,
    command,
    mounts,
    ...sandboxLimits(world.limits),
    timeoutMs: world.limits.fileTimeLimitMs,
    labels: { ...labels, 'pvhub.file': task.metadata.file_name },
  };
  await execFileAsync('docker', dockerRunArguments(spec), { maxBuffer: world.limits.outputCapBytes });
}

/** One file by `docker run`, its data and a results folder (writable by the run's user) bind-mounted. */
async function dockerRun(world: World, tag: string, task: FileTask, dir: string, labels: Record<string, string>) {
  const { data, results } = await fileFolders(dir, task);
  await chmod(results, 0o777);
  await runByCli(world, tag, task, labels, startingAtOnce(wrapperCommand('detect_time_shifts', task, world.limits)), [
    { hostPath: data, containerPath: '/data', readOnly: true },
    { hostPath: results, containerPath: '/results', readOnly: false },
  ]);
  const status = JSON.parse(await readFile(path.join(results, 'status.json'), 'utf8')) as { ok: boolean };
  if (!status.ok) throw new Error(`a docker run failed: ${JSON.stringify(status)}`);
}

/** The same `docker run` for each file, of a command that does nothing: what any container costs through the CLI. */
const bareDockerRun: LoopRun = (world, tag, task, _dir, labels) =>
  runByCli(world, tag, task, labels, ['/bin/true'], []);

/** PARALLEL lanes, each running one file after the other with `run`. */
async function timeLoop(run: LoopRun, world: World, index: number, tag: string): Promise<RunTiming> {
  const { ws, scope } = await stagedWorkspace(world, index, tag);
  const queue: FileTask[] = [];
  for await (const task of ws.files.each()) queue.push(task);
  const doneAt: number[] = [];
  world.engine.spans = [];
  const startedAt = performance.now();
  const lane = async () => {
    for (let task = queue.shift(); task !== undefined; task = queue.shift()) {
      const dir = path.join(scope.dir, 'plain', String(task.index));
      await run(world, tag, task, dir, scope.labels, hostsFile(ws.dir));
      doneAt.push(performance.now());
    }
  };
  try {
    await Promise.all(Array.from({ length: PARALLEL }, lane));
  } finally {
    await world.engine.removeContainers(scope.labels);
    await rm(scope.dir, { recursive: true, force: true });
  }
  return { startedAt, doneAt, spans: world.engine.spans };
}

const TIMED: Record<Variant, (world: World, index: number, tag: string) => Promise<RunTiming>> = {
  worker: timeWorker,
  plainLoop: (world, index, tag) => timeLoop(plainRun, world, index, tag),
  dockerRunLoop: (world, index, tag) => timeLoop(dockerRun, world, index, tag),
  bareDockerRunLoop: (world, index, tag) => timeLoop(bareDockerRun, world, index, tag),
};

/** Seconds per file from the first file done to the last: the marginal cost, without the fill of the first. */
const marginalSeconds = (timing: RunTiming) =>
  ((timing.doneAt.at(-1) as number) - (timing.doneAt[0] as number)) / 1000 / (timing.doneAt.length - 1);

/**
 * The share of the time, from the first go to the last (files remain to be given a turn), during which PARALLEL
 * containers were between their go and their end at once.
 */
function occupancy(spans: readonly Span[]): number {
  const edges = spans.flatMap((span) => [
    { at: span.go, delta: 1 },
    { at: span.end ?? span.go, delta: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  const from = Math.min(...spans.map((span) => span.go));
  const to = Math.max(...spans.map((span) => span.go));
  let running = 0;
  let last = from;
  let full = 0;
  for (const edge of edges) {
    const at = Math.min(Math.max(edge.at, from), to);
    if (running >= PARALLEL) full += at - last;
    last = at;
    running += edge.delta;
  }
  return full / (to - from);
}

/**
 * One run of a variant. A fault of the engine's under load (an exec that runc could not start) ends a run as it would a
 * job; the run is then made again, once, and the fault said, so that the figures are of complete runs.
 */
async function timedOnce(variant: Variant, world: World, index: number, tag: string): Promise<RunTiming> {
  const time = TIMED[variant];
  const measured = async (attempt: number) => {
    const processAtStart = process.cpuUsage();
    const machineAtStart = await machineBusyMs();
    const timing = await time(world, attempt, tag);
    const { user, system } = process.cpuUsage(processAtStart);
    timing.processCpuMs = round((user + system) / 1000 / FILES, 1);
    timing.machineCpuMs = round(((await machineBusyMs()) - machineAtStart) / FILES, 1);
    return timing;
  };
  try {
    return await measured(index);
  } catch (error) {
    process.stderr.write(`[bench] containers ${variant}: run again after ${(error as Error).message}\n`);
    return measured(index + 1000);
  }
}

export async function measureContainers(): Promise<BenchSection> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-bench-containers-'));
  const config = loadConfig({ ...process.env, PVHUB_MAX_PARALLEL: String(PARALLEL), PVHUB_CONTAINER_MEMORY: '1g' });
  const engine = new TimedEngine();
  const log = pino({ level: 'silent' });
  try {
    const submissionDir = path.join(scratch, 'submission');
    await mkdir(submissionDir);
    await writeFile(path.join(submissionDir, 'submission_wrapper.py'), SUBMISSION);
    await writeFile(path.join(submissionDir, 'requirements.txt'), REQUIREMENTS);
    const world: World = {
      engine,
      limits: config.limits,
      taskDir: await benchTask(scratch),
      submissionDir,
      scratch,
      log,
    };
    process.stderr.write('[bench] containers: the submission image (built once, then cached)\n');
    const images = new DockerImageBuilder({
      engine,
      limits: config.limits,
      hostPython: config.hostPython,
      baseImageRepository: config.baseImageRepository,
    });
    const { ws } = await stagedWorkspace(world, 0, '');
    const { tag } = await images.submissionImage({
      submissionDir: ws.submissionDir,
      pythonVersion: '3.11',
      workDir: path.join(ws.dir, 'build'),
      labels: labelsOf(0),
      log,
      signal: new AbortController().signal,
    });
    const timings: Record<Variant, RunTiming[]> = {
      worker: [],
      plainLoop: [],
      dockerRunLoop: [],
      bareDockerRunLoop: [],
    };
    for (const [index, variant] of alternating(VARIANTS, REPEATS).entries()) {
      const timing = await timedOnce(variant, world, index + 1, tag);
      timings[variant].push(timing);
      process.stderr.write(
        `[bench] containers ${variant}: ${round(marginalSeconds(timing))} s per file, CPU per file ${timing.machineCpuMs} ms ` +
          `(this process ${timing.processCpuMs} ms)` +
          (variant === 'worker' ? `, occupancy ${round(occupancy(timing.spans) * 100, 1)} %\n` : '\n'),
      );
    }
    const summary = (list: readonly RunTiming[]) => ({
      marginalSecondsPerFile: list.map((timing) => round(marginalSeconds(timing))),
      wallSecondsPerFile: list.map((timing) =>
        round(((timing.doneAt.at(-1) as number) - timing.startedAt) / 1000 / timing.doneAt.length),
      ),
      medianMarginalSecondsPerFile: round(median(list.map(marginalSeconds))),
      processCpuMsPerFile: list.map((timing) => timing.processCpuMs),
      machineCpuMsPerFile: list.map((timing) => timing.machineCpuMs),
    });
    const worker = {
      ...summary(timings.worker),
      occupancyPercent: timings.worker.map((t) => round(occupancy(t.spans) * 100, 1)),
    };
    const plainLoop = summary(timings.plainLoop);
    const dockerRunLoop = summary(timings.dockerRunLoop);
    const bareDockerRunLoop = summary(timings.bareDockerRunLoop);
    const ratio = round(worker.medianMarginalSecondsPerFile / plainLoop.medianMarginalSecondsPerFile);
    const ratioOverDockerRun = round(worker.medianMarginalSecondsPerFile / dockerRunLoop.medianMarginalSecondsPerFile);
    const ratioOverBareDockerRun = round(
      worker.medianMarginalSecondsPerFile / bareDockerRunLoop.medianMarginalSecondsPerFile,
    );
    const slotOccupancy = round(median(worker.occupancyPercent), 1);
    return {
      description:
        `${FILES} trivial files at parallel ${PARALLEL}, repeated ${REPEATS} times per variant, alternating. worker: runFiles ` +
        "(the job's step) on the real engine, each file in a fresh container started ahead of its turn, scored and " +
        `told to a Hub stand-in. plainLoop: ${PARALLEL} lane(s) of DockerEngine.runContainer` +
        ', the same wrapper, hardening, mounts and results volume, its go at once. dockerRunLoop: the same lanes of ' +
        '`docker run` (the CLI), the same hardening and wrapper, data and results folders bind-mounted, the network ' +
        'sandbox of --network none. bareDockerRunLoop: the same docker run flags, no mounts, of /bin/true (a container ' +
        'that runs nothing). The figure is against plainLoop, the same containers as the worker' +
        "'s (a results volume and its holder). Marginal cost: seconds per file from the first file done to the " +
        'last. Occupancy: the share of the time from the first go to the last during which every slot had a ' +
        'container between its go and its end. CPU per file: of the whole machine (/proc/stat) and of this process, ' +
        "over each variant's run.",
      command:
        `BENCH_CONTAINER_FILES=${FILES} BENCH_CONTAINER_REPEATS=${REPEATS} ` +
        `${SUFFIX === '' ? '' : `BENCH_CONTAINER_PARALLEL=${PARALLEL} `}npm run bench:containers`,
      figures: {
        [`per_file_overhead_ratio${SUFFIX}`]: {
          value: ratio,
          unit: '×',
          target: '≤ 0.7',
          met: ratio <= 0.7,
          reference:
            `the same containers, nothing started ahead: ${plainLoop.medianMarginalSecondsPerFile} s per file ` +
            `(docker run: ${dockerRunLoop.medianMarginalSecondsPerFile} s, ratio ${ratioOverDockerRun}; ` +
            `docker run of /bin/true: ${bareDockerRunLoop.medianMarginalSecondsPerFile} s, ratio ${ratioOverBareDockerRun})`,
        },
        [`slot_occupancy${SUFFIX}`]: { value: slotOccupancy, unit: '%', target: '≥ 90', met: slotOccupancy >= 90 },
      },
      values: {
        measuredAt: new Date().toISOString(),
        machine: await machine(),
        loadAverage1m: round(os.loadavg()[0] ?? NaN, 2),
        files: FILES,
        repeats: REPEATS,
        worker,
        plainLoop,
        dockerRunLoop,
        bareDockerRunLoop,
        ratioOverDockerRun,
        ratioOverBareDockerRun,
      },
    };
  } finally {
    await engine.removeContainers({ 'pvhub.bench': String(process.pid) });
    await rm(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeSection(CONTAINERS_KEY, measureContainers);
  await printFigures();
}
