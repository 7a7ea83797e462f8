/**
 * The worker's benchmarks: `npx tsx bench/run.ts` (or `npm run bench`), several minutes on a 2-core machine.
 * Needs the set-up of scripts/setup.sh (Docker engine running, python:3.11-slim, .cache/venv for the wheels and
 * pandas).
 *
 * Timings on small shared machines are noisy, so every comparison is made side by side in one run: the variants
 * alternate (A B B A A B …), each is repeated, and the figures are medians and ratios of medians.
 * Writes bench/results.json, then prints the table of issue 14's figures from it (so figures another benchmark's
 * own run wrote are shown too); bench/README.md explains every figure.
 *
 * Environment: BENCH_REPEATS (default 3) repeats of each scoring and container variant; BENCH_EVALUATE_REPEATS
 * (default 2, an evaluate takes ~20 s) repeats of each evaluate variant; BENCH_CONTAINERS (default 6) containers per
 * batch; and each benchmark's own (bench/README.md).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type BenchSection, machine, resultSections, round, writeResults } from './common.js';
import { benchContainers } from './container-start.js';
import { CONTAINERS_KEY, measureContainers } from './containers.js';
import { benchEvaluate } from './evaluate-parallelism.js';
import { printFigures, writeSection } from './figures.js';
import { measureMemory } from './memory.js';
import { measureReport } from './report.js';
import { progress } from './process.js';
import { measureScoring } from './scoring.js';
import { benchScoring } from './streaming-scoring.js';

const COMMAND = 'npx tsx bench/run.ts';

/** Issue 14's benchmarks, one a line: the top-level key of bench/results.json each writes, and how it measures. */
const BENCHMARKS: ReadonlyArray<readonly [key: string, measure: () => Promise<BenchSection>]> = [
  ['memory', measureMemory],
  ['scoring', measureScoring],
  ['report', measureReport],
  [CONTAINERS_KEY, measureContainers],
];

/** The sections under `results`: parallelism, streamed scoring, container start. */
async function measureSections(): Promise<void> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'pvhub-bench-'));
  const started = Date.now();
  const loadAtStart = os.loadavg()[0] ?? NaN;
  try {
    const scoring = await benchScoring(tmp);
    const containers = await benchContainers(tmp);
    const evaluate = await benchEvaluate(tmp);
    const results = {
      measuredAt: new Date().toISOString(),
      machine: await machine(),
      command: COMMAND,
      // Other work on the machine skews every figure; the ratios, measured side by side, suffer least.
      loadAverage1m: { atStart: round(loadAtStart, 2), atEnd: round(os.loadavg()[0] ?? NaN, 2) },
      durationSeconds: Math.round((Date.now() - started) / 1000),
      // Sections other benchmarks write (bench/egress.ts) stay as they were.
      results: {
        ...(await resultSections()),
        evaluateParallelism: evaluate,
        streamingScoring: scoring,
        containerStart: containers,
      },
    };
    progress(`wrote ${await writeResults(results)} in ${results.durationSeconds} s`);
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

await measureSections();
for (const [key, measure] of BENCHMARKS) {
  progress(`${key}: measuring`);
  await writeSection(key, measure);
}
await printFigures();
