/**
 * Flat memory at scale: `npm run bench:memory` (or `npx tsx bench/memory.ts`), under a minute. One job of a generated
 * task of 1,000 and of 10,000 data files runs through the worker's own loop (serveJobs: the message settled, the job
 * staged, its files run within memory, scored, reported to the Hub and tallied, the results written and published)
 * over fakes that keep no per-file record (bench/memory-ports.ts), whose containers are instant: what is left is the
 * worker's own cost per file. Each run is a fresh Node process whose RSS is sampled while the job runs.
 * Writes the top-level key `memory` of bench/results.json and leaves every other key as it was.
 *
 * Environment: BENCH_MEMORY_REPEATS (default 2) runs of each size, alternating.
 */
import { paceHeapForService } from '../src/heap-pacing.js';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lastValueFrom, NEVER } from 'rxjs';
import { pino } from 'pino';
import { hubFileFormats } from '../src/adapters/file-formats.js';
import { SIMULATED_PROXY_IMAGE } from '../src/adapters/simulated/engine.js';
import { EXAMPLE_TASK } from '../src/adapters/simulated/hub.js';
import { SimulatedImages } from '../src/adapters/simulated/images.js';
import { RecordingQueue } from '../src/adapters/simulated/queue.js';
import { StoreLedger } from '../src/adapters/store-ledger.js';
import type { FileMetadata, SystemMetadata } from '../src/domain/metadata.js';
import { loadConfig } from '../src/config.js';
import type { MessagePorts } from '../src/operators/settle-message.js';
import { StorePublisher } from '../src/sinks/store-publisher.js';
import { serveJobs } from '../src/worker.js';
import { type BenchSection, median, positiveInt, ROOT, round } from './common.js';
import { printFigures, writeSection } from './figures.js';
import { CallCounts, CountingHub, InstantEngine, TaskBucket } from './memory-ports.js';
import { progress, run } from './process.js';

const THIS_FILE = fileURLToPath(import.meta.url);
const COMMAND = 'npm run bench:memory';
const SIZES = [1_000, 10_000] as const;
const REPEATS = positiveInt(process.env['BENCH_MEMORY_REPEATS'], 2);
const MB = 1e6;
const GIB = 1024 ** 3;
/** RSS is read this often while the job runs. */
const SAMPLE_MS = 5;
const RSS_TARGET_MB = 150;
const GROWTH_TARGET_PERCENT = 10;
const SUBMISSION = path.join(ROOT, 'examples/submissions/time-shift-correct');

const fileName = (index: number) => `1001_ac_power_${String(index).padStart(5, '0')}.csv`;

/** The Hub's metadata of file `fileId` of a generated task (ids from 1). */
const metadataOf = (fileId: number): FileMetadata => ({
  file_id: fileId,
  system_id: 1001,
  file_name: fileName(fileId - 1),
  timezone: 'Etc/GMT+7',
  data_sampling_frequency: 15,
  issue: 'time shift',
  subissue: 'clean',
  file_hash: '0',
  include_on_leaderboard: true,
});

const SYSTEM: SystemMetadata = {
  system_id: 1001,
  name: 'Boulder CO rooftop',
  azimuth: 183,
  tilt: 37,
  elevation: 1655,
  latitude: 40.015,
  longitude: -105.27,
  tracking: false,
  climate_type: 'BSk',
  dc_capacity: 5.2,
};

/**
 * A task of `files` data files in the Hub's task format, each a short series whose reference is the same series;
 * their metadata is the Hub's (metadataOf).
 */
async function writeTask(dir: string, files: number): Promise<void> {
  await mkdir(path.join(dir, 'data'), { recursive: true });
  await mkdir(path.join(dir, 'validation_data'), { recursive: true });
  // The example task's config; no template.py, so the built-in report is written (no report container).
  await writeFile(path.join(dir, 'config.json'), await readFile(path.join(EXAMPLE_TASK, 'config.json'), 'utf8'));
  const names = Array.from({ length: files }, (_, index) => fileName(index));
  await writeFile(
    path.join(dir, 'file_test_link.csv'),
    `test_id,file_id\n${names.map((_, index) => `${index},${index + 1}\n`).join('')}`,
  );
  const series = ',0\n2015-01-01 00:00:00,1.5\n2015-01-01 00:15:00,2.5\n2015-01-01 00:30:00,0.0\n';
  for (let start = 0; start < names.length; start += 200) {
    await Promise.all(
      names
        .slice(start, start + 200)
        .flatMap((name) => [
          writeFile(path.join(dir, 'data', name), series),
          writeFile(path.join(dir, 'validation_data', name), series),
        ]),
    );
  }
}

interface ChildReport {
  readonly files: number;
  readonly seconds: number;
  /** CPU (user + system) of the job: less swayed than the wall time by other work on the machine. */
  readonly cpuSeconds: number;
  readonly rssBeforeMB: number;
  readonly peakRssMB: number;
  readonly maxRssMB: number;
  readonly heapUsedAfterMB: number;
  readonly outcome: string;
  /** What the fakes were asked: every file must have had its container and its progress call. */
  readonly counts: CallCounts;
}

/** The child's side: one job of the task through serveJobs, as the worker service runs it, RSS sampled meanwhile. */
async function memoryChild(taskDir: string, submission: string, files: number): Promise<void> {
  // As the worker service does at its start (runWorkerCommand), before the job whose memory is measured.
  paceHeapForService();
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'pvhub-bench-memory-work-'));
  const queue = new RecordingQueue([
    {
      id: 'm1',
      body: JSON.stringify({
        analysis_pk: 1,
        submission_pk: 1,
        user_pk: 'bench',
        submission_filename: 'time-shift-correct',
        python_version: '3.11',
      }),
      receiptHandle: 'r1',
      receiveCount: 1,
      firstReceivedAt: Date.now(),
    },
  ]);
  const limits = { ...loadConfig({}).limits, containerMemoryBytes: GIB, maxParallel: 2 };
  const counts = new CallCounts();
  const bucket = new TaskBucket(taskDir, submission, counts);
  const ports: MessagePorts = {
    store: bucket,
    hub: new CountingHub(metadataOf, [SYSTEM], counts),
    engine: new InstantEngine(path.join(taskDir, 'validation_data'), counts),
    images: new SimulatedImages(undefined, true),
    egressProxyImage: async () => SIMULATED_PROXY_IMAGE,
    publisher: new StorePublisher(bucket),
    files: hubFileFormats,
    freeMemory: () => 2 * GIB,
    queue,
    ledgers: new StoreLedger(bucket),
    heartbeat: () => NEVER,
  };
  const log = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: true }));
  const rssBefore = process.memoryUsage.rss();
  let peak = rssBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), SAMPLE_MS);
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  try {
    const outcome = await lastValueFrom(
      serveJobs(ports, {
        limits,
        jobTimeLimitMs: 3_600_000,
        maxReceives: 3,
        workDir,
        workerId: `bench-${process.pid}`,
        keepWorkspace: false,
        logLevel: 'info',
        log,
        signal: new AbortController().signal,
        pollWaitSeconds: 0,
        maxJobs: 1,
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage.rss());
    const report: ChildReport = {
      files,
      seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      rssBeforeMB: rssBefore / MB,
      peakRssMB: peak / MB,
      maxRssMB: (process.resourceUsage().maxRSS * 1024) / MB,
      heapUsedAfterMB: process.memoryUsage().heapUsed / MB,
      outcome: JSON.stringify(outcome),
      counts,
    };
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    clearInterval(sampler);
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * The worker service runs compiled JavaScript under plain Node (Dockerfile.prod: node dist/cli.js worker), not tsx,
 * whose loader thread and transforms would add tens of MB: this file and what it imports are compiled with the
 * project's settings into `dir`, beside links to what the compiled modules find from the repository's root.
 */
async function compileChild(dir: string): Promise<string> {
  const config = path.join(dir, 'tsconfig.json');
  await writeFile(
    config,
    JSON.stringify({
      extends: path.join(ROOT, 'tsconfig.json'),
      compilerOptions: { noEmit: false, rootDir: ROOT, outDir: path.join(dir, 'build') },
      files: [THIS_FILE],
      include: [],
    }),
  );
  // Where tsc finds the types and Node the packages (up from the build), and container/ where src/ looks for it.
  await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  const compiled = await run(path.join(ROOT, 'node_modules/.bin/tsc'), ['-p', config]);
  if (compiled.status !== 0) throw new Error(`compiling the child failed: ${compiled.stdout}${compiled.stderr}`);
  await symlink(path.join(ROOT, 'container'), path.join(dir, 'build', 'container'));
  return path.join(dir, 'build', 'bench', 'memory.js');
}

async function runChild(child: string, taskDir: string, files: number): Promise<ChildReport> {
  const result = await run(process.execPath, [child, '--child', taskDir, SUBMISSION, String(files)]);
  if (result.status !== 0) throw new Error(`the ${files}-file run exited ${result.status}: ${result.stderr}`);
  const report = JSON.parse(result.stdout.trim().split('\n').pop() ?? '') as ChildReport;
  const outcome = JSON.parse(report.outcome) as { action?: string; result?: string };
  if (outcome.action !== 'deleted' || outcome.result !== 'finished')
    throw new Error(`the ${files}-file job did not finish: ${report.outcome}`);
  const { containers, progress: reported, fileErrors } = report.counts;
  if (containers !== files || reported !== files || fileErrors !== 0)
    throw new Error(
      `the ${files}-file job ran ${containers} containers, reported ${reported} files, ${fileErrors} errors`,
    );
  return report;
}

export async function measureMemory(): Promise<BenchSection> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'pvhub-bench-memory-'));
  try {
    progress('memory: compiling the child (tsc)');
    const child = await compileChild(tmp);
    const tasks = new Map<number, string>();
    for (const files of SIZES) {
      const dir = path.join(tmp, `task-${files}`);
      progress(`memory: generating a task of ${files} files`);
      await writeTask(dir, files);
      tasks.set(files, dir);
    }
    const reports: Record<number, ChildReport[]> = { [SIZES[0]]: [], [SIZES[1]]: [] };
    for (let repeat = 0; repeat < REPEATS; repeat += 1) {
      for (const files of repeat % 2 === 0 ? SIZES : [...SIZES].reverse()) {
        const report = await runChild(child, tasks.get(files) as string, files);
        progress(
          `memory: ${files} files in ${round(report.seconds, 2)} s (CPU ${round(report.cpuSeconds, 1)} s), peak RSS ${round(report.peakRssMB, 1)} MB ` +
            `(before the job ${round(report.rssBeforeMB, 1)} MB)`,
        );
        reports[files]?.push(report);
      }
    }
    const summary = (list: readonly ChildReport[]) => ({
      seconds: list.map((r) => round(r.seconds, 2)),
      medianSeconds: round(median(list.map((r) => r.seconds)), 2),
      medianFilesPerSecond: Math.round(median(list.map((r) => r.files / r.seconds))),
      medianCpuMillisecondsPerFile: round(median(list.map((r) => (r.cpuSeconds * 1000) / r.files)), 2),
      peakRssMB: list.map((r) => round(r.peakRssMB, 1)),
      medianPeakRssMB: round(median(list.map((r) => r.peakRssMB)), 1),
      medianRssBeforeJobMB: round(median(list.map((r) => r.rssBeforeMB)), 1),
      medianMaxRssMB: round(median(list.map((r) => r.maxRssMB)), 1),
      medianHeapUsedAfterMB: round(median(list.map((r) => r.heapUsedAfterMB)), 1),
    });
    const small = summary(reports[SIZES[0]] ?? []);
    const large = summary(reports[SIZES[1]] ?? []);
    const growth = round(((large.medianPeakRssMB - small.medianPeakRssMB) / small.medianPeakRssMB) * 100, 1);
    return {
      description:
        'One job of a generated task of 1,000 and of 10,000 data files through serveJobs (src/worker.ts, the loop the ' +
        'worker service runs) over fakes that keep no per-file record (bench/memory-ports.ts: instant containers, a Hub ' +
        "and a bucket that keep nothing; the worker's own StoreLedger and StorePublisher), each run in a " +
        `fresh Node process running the compiled JavaScript, as the worker service does; RSS sampled every ${SAMPLE_MS} ms from the job's start to its message settled. ` +
        'MB = 10^6 bytes.',
      command: COMMAND,
      figures: {
        rss_mb_1000: {
          value: small.medianPeakRssMB,
          unit: 'MB',
          target: `≤ ${RSS_TARGET_MB}`,
          met: small.medianPeakRssMB <= RSS_TARGET_MB,
          reference: `peak RSS of a 1,000-file job; ${small.medianRssBeforeJobMB} MB before it`,
        },
        rss_mb_10000: {
          value: large.medianPeakRssMB,
          unit: 'MB',
          target: `≤ ${RSS_TARGET_MB}`,
          met: large.medianPeakRssMB <= RSS_TARGET_MB,
          reference: `peak RSS of a 10,000-file job (${large.medianSeconds} s); ${large.medianRssBeforeJobMB} MB before it`,
        },
        rss_growth_percent: {
          value: growth,
          unit: '%',
          target: `< ${GROWTH_TARGET_PERCENT}`,
          met: growth < GROWTH_TARGET_PERCENT,
          reference: 'rss_mb_10000 over rss_mb_1000, measured in the same run',
        },
      },
      values: { repeats: REPEATS, files1000: small, files10000: large },
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
if (args[0] === '--child') {
  const [, taskDir, submission, files] = args;
  if (taskDir === undefined || submission === undefined || files === undefined)
    throw new Error('usage: --child <task dir> <submission> <files>');
  await memoryChild(taskDir, submission, Number(files));
} else if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === THIS_FILE) {
  await writeSection('memory', measureMemory);
  await printFigures();
}
