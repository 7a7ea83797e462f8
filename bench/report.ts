/**
 * What the marimo report costs the job: `npm run bench:report` (or `npx tsx bench/report.ts`), 2 to 4 minutes once
 * the submission and report images exist. The whole `evaluate` command on the example time-shift task, as a person
 * runs it, with the task's marimo template and with the same task without one (the built-in report, no container),
 * alternating. The difference of the medians is `report_seconds_on_critical_path`. The report's own seconds (the
 * render on its own, its container started when the rows exist) are timed between the pairs.
 * Writes `report` into bench/results.json and leaves every other key as it was.
 *
 * Environment: BENCH_REPORT_REPEATS (default 3) repeats of each variant; BENCH_REPORT_MEMORY (default 1g) the
 * container memory limit, PVHUB_CONTAINER_MEMORY of the runs (with 1g the memory budget holds the files and the
 * report at once here, so the report's container starts beside the files).
 */
import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { DockerImageBuilder } from '../src/adapters/images/docker-image-builder.js';
import { DockerEngine } from '../src/adapters/docker-engine.js';
import { loadConfig } from '../src/config.js';
import type { ResultsTable } from '../src/domain/aggregate.js';
import { renderMarimoReport } from '../src/sinks/marimo-report.js';
import { alternating, type BenchSection, median, positiveInt, ROOT, round, seconds } from './common.js';
import { printFigures, writeSection } from './figures.js';

const REPEATS = positiveInt(process.env['BENCH_REPORT_REPEATS'], 3);
const MEMORY = process.env['BENCH_REPORT_MEMORY'] ?? '1g';
const TASK_DIR = path.join(ROOT, 'examples/tasks/time-shift-detection');
const SUBMISSION = path.join(ROOT, 'examples/submissions/time-shift-correct.zip');
const TARGET_SECONDS = 2;

type Variant = 'report' | 'no report';

function evaluate(task: string, outDir: string): Promise<number> {
  const args = [path.join(ROOT, 'bin/pvhub-worker.js'), 'evaluate', '--task', task, '--submission', SUBMISSION];
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args, '--out', outDir], {
      cwd: ROOT,
      env: { ...process.env, PVHUB_CONTAINER_MEMORY: MEMORY },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) =>
      status === 0 ? resolve(performance.now() - started) : reject(new Error(`evaluate exited ${status}: ${stderr}`)),
    );
  });
}

/** The template's input for 13 files, as the example task's results give it. */
const TABLE: ResultsTable = {
  columns: ['file_name', 'runtime', 'mean_absolute_error_time_series', 'issue'],
  rows: Array.from({ length: 13 }, (_, index) => [`${1001 + index}_ac_power.csv`, 0.5 + index / 10, index / 7, 'dst']),
  floatColumns: new Set(['runtime', 'mean_absolute_error_time_series']),
};

async function ownRenderMs(scratch: string): Promise<number> {
  const engine = new DockerEngine();
  const { limits } = loadConfig({ ...process.env, PVHUB_CONTAINER_MEMORY: MEMORY });
  const images = new DockerImageBuilder({
    engine,
    limits,
    hostPython: loadConfig(process.env).hostPython,
    baseImageRepository: 'python',
  });
  const started = performance.now();
  await renderMarimoReport(path.join(TASK_DIR, 'template.py'), TABLE, path.join(scratch, 'report.html'), {
    engine,
    limits,
    labels: { 'pvhub.bench': 'report' },
    images,
    workDir: scratch,
    timeLimitMs: 300_000,
    log: pino({ level: 'silent' }),
    signal: new AbortController().signal,
  });
  return performance.now() - started;
}

export async function measureReport(): Promise<BenchSection> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'pvhub-bench-report-'));
  try {
    const withoutTemplate = path.join(tmp, 'task-without-template');
    await cp(TASK_DIR, withoutTemplate, {
      recursive: true,
      filter: (source) => path.basename(source) !== 'template.py',
    });
    const tasks: Record<Variant, string> = { report: TASK_DIR, 'no report': withoutTemplate };
    process.stderr.write('[bench] report: warm-up (the submission and report images)\n');
    await evaluate(TASK_DIR, path.join(tmp, 'warm-up'));
    const wall: Record<Variant, number[]> = { report: [], 'no report': [] };
    const own: number[] = [];
    for (const [index, variant] of alternating<Variant>(['report', 'no report'], REPEATS).entries()) {
      const ms = await evaluate(tasks[variant], path.join(tmp, `out-${index}`));
      wall[variant].push(ms);
      process.stderr.write(`[bench] report: evaluate, ${variant}: ${seconds(ms)} s\n`);
      if (index % 2 === 1) {
        own.push(await ownRenderMs(tmp));
        process.stderr.write(`[bench] report: the render on its own: ${seconds(own.at(-1) ?? NaN)} s\n`);
      }
    }
    const onPath = (median(wall.report) - median(wall['no report'])) / 1000;
    return {
      description:
        'Wall time of the evaluate command (13 files of the example time-shift task, image cached, ' +
        `PVHUB_CONTAINER_MEMORY=${MEMORY}) with the task's marimo template minus the same without a template ` +
        '(the built-in report, no container), alternating, medians; and the report rendered on its own.',
      command: `PVHUB_CONTAINER_MEMORY=${MEMORY} node bin/pvhub-worker.js evaluate --task {${TASK_DIR}, the same without template.py} --submission ${SUBMISSION} --out <tmp>`,
      figures: {
        report_seconds_on_critical_path: {
          value: round(onPath, 2),
          unit: 's',
          target: `≤ ${TARGET_SECONDS}`,
          met: onPath <= TARGET_SECONDS,
          reference: `median wall time without a template, ${seconds(median(wall['no report']))} s, in the same run`,
        },
      },
      values: {
        repeats: REPEATS,
        wallSeconds: { report: wall.report.map(seconds), noReport: wall['no report'].map(seconds) },
        medianWallSeconds: { report: seconds(median(wall.report)), noReport: seconds(median(wall['no report'])) },
        reportOwnSeconds: own.map(seconds),
        medianReportOwnSeconds: seconds(median(own)),
      },
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

if (fileURLToPath(import.meta.url) === path.resolve(process.argv[1] ?? '')) {
  await writeSection('report', measureReport);
  await printFigures();
}
