/**
 * Section 2 of bench/run.ts, streamed scoring: scoreFile on a time series of 10k and of 1M rows, each in its own
 * process (this file run with `--score-child`, which bench/scoring.ts uses too).
 */
import { inMemoryFileList } from '../src/domain/file-list.js';
import { createWriteStream } from 'node:fs';
import { copyFile, link, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { lastValueFrom } from 'rxjs';
import pino from 'pino';
import { hubFileFormats } from '../src/adapters/file-formats.js';
import type { FileRun } from '../src/domain/file-run.js';
import { parseTaskConfigText } from '../src/domain/task-config.js';
import { type BuiltWorkspace, workspacePaths } from '../src/domain/workspace.js';
import { scoreFile } from '../src/operators/score-file.js';
import { ObjectNotFoundError, type ObjectStore } from '../src/ports/object-store.js';
import { median, ROOT, round, seconds } from './common.js';
import { progress, REPEATS, run } from './process.js';

const THIS_FILE = fileURLToPath(import.meta.url);
const TASK_DIR = 'examples/tasks/time-shift-detection';
const MIB = 1024 ** 2;
/** Rows of the two scoring sizes; the output differs from the reference by exactly OFFSET on every row. */
const SMALL_ROWS = 10_000;
export const LARGE_ROWS = 1_000_000;
export const OFFSET = 0.5;
/**
 * V8 flags of the bounded-heap scoring runs: a 1 MiB young generation (V8 otherwise grows it to tens of MiB under a
 * high allocation rate) and a 32 MiB old generation, far less than either series would take if it were held.
 */
const BOUNDED_HEAP_FLAGS = ['--max-semi-space-size=1', '--max-old-space-size=32'];

/** Writes the reference and an output that is off by OFFSET on every row (so the expected MAE is OFFSET). */
export async function writeSeries(dir: string, rows: number): Promise<{ output: string; reference: string }> {
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

export interface ScoreChildReport {
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
      files: inMemoryFileList([]),
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

export async function scoreInChild(
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

export async function benchScoring(tmp: string) {
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

const args = process.argv.slice(2);
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === THIS_FILE && args[0] === '--score-child') {
  const [, output, reference, rows] = args;
  if (output === undefined || reference === undefined || rows === undefined)
    throw new Error('usage: --score-child <output> <reference> <rows>');
  await scoreChild(output, reference, Number(rows));
}
