/**
 * Our scoring against pandas: `npm run bench:scoring` (or `npx tsx bench/scoring.ts`), about a minute. On one
 * generated pair of 1M-row time series (an output off its reference by 0.5 on every row), rows per second of
 * scoreFile (src/operators/score-file.ts, the job's own step, as the streamingScoring section of bench/run.ts runs
 * it) and of pandas: read_csv of both files (index_col=0, as the output is read to be squeezed) and numpy's mean
 * absolute error of the two value columns. Each run is a fresh process, the two alternate (A B B A …), and both must
 * give the MAE of 0.5. pandas is the host environment's (.cache/venv, made by scripts/setup.sh).
 * Writes the top-level key `scoring` of bench/results.json and leaves every other key as it was.
 *
 * Environment: BENCH_SCORING_REPEATS (default 3) runs of each, alternating.
 */
import { access, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { alternating, type BenchSection, median, positiveInt, ROOT, round } from './common.js';
import { printFigures, writeSection } from './figures.js';
import { progress, run } from './process.js';
import { LARGE_ROWS, OFFSET, scoreInChild, writeSeries } from './streaming-scoring.js';

const THIS_FILE = fileURLToPath(import.meta.url);
const REPEATS = positiveInt(process.env['BENCH_SCORING_REPEATS'], 3);
const PYTHON = path.join(ROOT, '.cache/venv/bin/python');
const TARGET = 1;

/** The pandas side, timed inside Python from before the first read to the MAE, as our side is timed inside Node. */
const PANDAS_SCORING = `
import json, sys, time
import numpy as np
import pandas as pd
started = time.perf_counter()
output = pd.read_csv(sys.argv[1], index_col=0)
reference = pd.read_csv(sys.argv[2], index_col=0)
mae = float(np.mean(np.abs(output.iloc[:, 0].to_numpy() - reference.iloc[:, 0].to_numpy())))
print(json.dumps({"seconds": time.perf_counter() - started, "mae": mae, "pandas": pd.__version__, "numpy": np.__version__}))
`;

interface PandasReport {
  readonly seconds: number;
  readonly mae: number;
  readonly pandas: string;
  readonly numpy: string;
}

async function pandasScoring(files: { output: string; reference: string }): Promise<PandasReport> {
  const result = await run(PYTHON, ['-c', PANDAS_SCORING, files.output, files.reference]);
  if (result.status !== 0) throw new Error(`pandas scoring exited ${result.status}: ${result.stderr}`);
  const report = JSON.parse(result.stdout.trim().split('\n').pop() ?? '') as PandasReport;
  if (Math.abs(report.mae - OFFSET) > 1e-9) throw new Error(`pandas gave MAE ${report.mae}, expected ${OFFSET}`);
  return report;
}

export async function measureScoring(): Promise<BenchSection> {
  await access(PYTHON).catch(() => {
    throw new Error(`${PYTHON} is missing: run bash scripts/setup.sh (it installs pandas there)`);
  });
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'pvhub-bench-scoring-'));
  try {
    progress(`scoring vs pandas: generating ${LARGE_ROWS} rows`);
    const files = await writeSeries(tmp, LARGE_ROWS);
    const seconds: Record<'ours' | 'pandas', number[]> = { ours: [], pandas: [] };
    let versions = { pandas: '', numpy: '' };
    for (const variant of alternating<'ours' | 'pandas'>(['ours', 'pandas'], REPEATS)) {
      if (variant === 'ours') seconds.ours.push((await scoreInChild(files, LARGE_ROWS, [])).scoreMs / 1000);
      else {
        const report = await pandasScoring(files);
        seconds.pandas.push(report.seconds);
        versions = { pandas: report.pandas, numpy: report.numpy };
      }
      progress(`scoring vs pandas: ${variant} ${round(seconds[variant].at(-1) ?? NaN)} s`);
    }
    const oursRate = LARGE_ROWS / median(seconds.ours);
    const pandasRate = LARGE_ROWS / median(seconds.pandas);
    const ratio = round(oursRate / pandasRate, 2);
    return {
      description:
        `Rows per second scoring one generated pair of ${LARGE_ROWS} rows (index + one value column; expected MAE ${OFFSET} ` +
        'checked on both sides): scoreFile (src/operators/score-file.ts, in a fresh Node process, as streamingScoring runs ' +
        'it) against pandas read_csv(index_col=0) of both files + numpy mean(abs(difference)) (a fresh Python process, ' +
        `.cache/venv), alternating, ${REPEATS} runs each; ratio of the medians.`,
      command: 'npm run bench:scoring',
      figures: {
        scoring_vs_pandas: {
          value: ratio,
          unit: '×',
          target: `≥ ${TARGET}`,
          met: ratio >= TARGET,
          reference: `pandas ${versions.pandas} + numpy ${versions.numpy}: ${Math.round(pandasRate)} rows/s; ours ${Math.round(oursRate)} rows/s`,
        },
      },
      values: {
        rows: LARGE_ROWS,
        repeats: REPEATS,
        order: alternating(['ours', 'pandas'], REPEATS),
        oursSeconds: seconds.ours.map((value) => round(value)),
        pandasSeconds: seconds.pandas.map((value) => round(value)),
        oursRowsPerSecond: Math.round(oursRate),
        pandasRowsPerSecond: Math.round(pandasRate),
        versions,
      },
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === THIS_FILE) {
  await writeSection('scoring', measureScoring);
  await printFigures();
}
