/**
 * Section 1 of bench/run.ts, parallelism from memory: the whole `evaluate` command with PVHUB_MAX_PARALLEL=1 and 2.
 * BENCH_EVALUATE_REPEATS (default 2, an evaluate takes ~20 s) repeats of each variant.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { alternating, median, positiveInt, ROOT, round, seconds } from './common.js';
import { progress, run } from './process.js';

const TASK_DIR = 'examples/tasks/time-shift-detection';
const SUBMISSION = 'examples/submissions/time-shift-correct.zip';
const EVALUATE_REPEATS = positiveInt(process.env['BENCH_EVALUATE_REPEATS'], 2);

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

export async function benchEvaluate(tmp: string) {
  progress('evaluate: warm-up (builds or reuses the submission image)');
  await evaluateOnce(2, tmp, 'warm-up');
  const runs: Record<1 | 2, EvaluateRun[]> = { 1: [], 2: [] };
  for (const [index, parallel] of alternating<1 | 2>([1, 2], EVALUATE_REPEATS).entries()) {
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
    order: alternating([1, 2], EVALUATE_REPEATS),
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
