import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OPERATIONS } from '../../src/domain/pandas-reductions.js';
import { executionTimeCsv, pythonFloat } from '../../src/domain/results-csv.js';
import { aggregate, fullResultsCsv } from '../helpers/aggregate.js';
import type { FileScore, FileTask } from '../../src/domain/file-run.js';
import type { FileMetadata } from '../../src/domain/metadata.js';
import { addScore, emptyTally, ScoredColumns, type Tally } from '../../src/domain/tally.js';
import { parseTaskConfig } from '../../src/domain/task-config.js';
import { python } from '../helpers/cli.js';
import { seededRandom as random } from '../helpers/seeded-random.js';

/** The contract's example task (§5). */
const SERIES = parseTaskConfig({
  function_name: 'detect_time_shifts',
  comparison_type: 'time_series',
  display_metrics: { mean_mean_absolute_error_time_series: 'Mean Mean Absolute Error' },
  performance_metrics: ['runtime', 'mean_absolute_error'],
  metrics_operations: { mean_absolute_error_time_series: ['mean', 'median'], runtime: ['mean'] },
  allowable_kwargs: ['latitude', 'longitude', 'data_sampling_frequency'],
  references_compare: ['time_series'],
  public_results_table: 'time-shift-public-metrics.json',
  private_results_table: 'time-shift-private-metrics.json',
  private_results_columns: [
    'system_id',
    'file_name',
    'runtime',
    'data_requirements',
    'mean_absolute_error_time_series',
    'data_sampling_frequency',
    'issue',
  ],
});

const ALL_OPERATIONS = Object.keys(OPERATIONS);

const SCALAR_RAW = {
  function_name: 'estimate_az_tilt',
  comparison_type: 'scalar',
  performance_metrics: ['runtime', 'absolute_error', 'error'],
  metrics_operations: Object.fromEntries(
    ['runtime', 'absolute_error_azimuth', 'absolute_error_tilt', 'error_azimuth', 'error_tilt'].map((key) => [
      key,
      ALL_OPERATIONS,
    ]),
  ),
  allowable_kwargs: ['latitude'],
  references_compare: ['azimuth', 'tilt'],
  public_results_table: 'az-tilt-public-metrics.json',
  private_results_columns: [
    'system_id',
    'file_name',
    'runtime',
    'data_requirements',
    'absolute_error_azimuth',
    'not_a_column',
    'data_sampling_frequency',
    'issue',
    'include_on_leaderboard',
    'latitude',
  ],
};
const SCALAR = parseTaskConfig(SCALAR_RAW);

function metadata(name: string, leaderboard: boolean, extra: Record<string, unknown> = {}): FileMetadata {
  return { file_id: 1, system_id: 10, file_name: name, include_on_leaderboard: leaderboard, ...extra };
}

function task(meta: FileMetadata): FileTask {
  return { index: 0, metadata: meta, kwargs: [] };
}

function scored(
  meta: FileMetadata,
  runtime: number,
  values: Record<string, number>,
  requirements: readonly string[],
): FileScore {
  return {
    kind: 'scored',
    run: {
      kind: 'ran',
      task: task(meta),
      executionTime: runtime,
      outputPath: '/x',
      functionParameters: ['time_series', 'latitude'],
      wallTimeMs: 1,
    },
    row: { file_name: meta.file_name, data_requirements: requirements, values },
  };
}

/** Rows of a runtime only, with these execution times. */
function scoredRows(times: ReadonlyArray<readonly [string, number]>): ScoredColumns {
  const columns = new ScoredColumns();
  for (const [name, seconds] of times)
    columns.add({ file_name: name, data_requirements: ['time_series'], values: { runtime: seconds } }, seconds);
  return columns;
}

const SERIES_REQUIREMENTS = ['time_series', 'latitude', 'longitude', 'data_sampling_frequency'];

function seriesTally(files: ReadonlyArray<[FileMetadata, number, number]>, failed: FileMetadata[] = []): Tally {
  let tally = emptyTally(files.length + failed.length);
  for (const [meta, runtime, mae] of files) {
    tally = addScore(
      tally,
      scored(meta, runtime, { runtime, mean_absolute_error_time_series: mae }, SERIES_REQUIREMENTS),
    );
  }
  for (const meta of failed)
    tally = addScore(tally, {
      kind: 'failed',
      task: task(meta),
      failure: { code: 'op_8', message: 'x' },
      wallTimeMs: 1,
    });
  return tally;
}

const CONTRACT_KEYS = [
  'module',
  'number_of_files',
  'mean_runtime',
  'median_runtime',
  'function_parameters',
  'data_requirements',
  'metrics',
];

test('hand-worked: public over leaderboard files, private over all scored files; the object key by key', async () => {
  const a = metadata('a.csv', true, { data_sampling_frequency: 15, issue: 'none' });
  const b = metadata('b.csv', false);
  const c = metadata('c.csv', true);
  const d = metadata('d.csv', true);
  const tally = seriesTally(
    [
      [c, 2, 20],
      [a, 1, 10],
      [b, 3, 100],
    ],
    [d],
  );
  const { publicResults, privateResults } = await aggregate(SERIES, tally, [a, b, c, d]);
  assert.equal(Object.keys(publicResults), CONTRACT_KEYS);
  assert.is(publicResults.module, 'submission');
  assert.is(publicResults.number_of_files, 2);
  assert.is(publicResults.mean_runtime, 1.5);
  assert.is(publicResults.median_runtime, 1.5);
  assert.equal(publicResults.function_parameters, ['time_series', 'latitude']);
  assert.equal(publicResults.data_requirements, SERIES_REQUIREMENTS);
  assert.equal(publicResults.metrics, {
    mean_runtime: 1.5,
    mean_mean_absolute_error_time_series: 15,
    median_mean_absolute_error_time_series: 15,
  });
  assert.equal(Object.keys(publicResults.metrics), [
    'mean_runtime',
    'mean_mean_absolute_error_time_series',
    'median_mean_absolute_error_time_series',
  ]);
  assert.equal(Object.keys(privateResults), CONTRACT_KEYS);
  assert.is(privateResults.number_of_files, 3);
  assert.is(privateResults.mean_runtime, 2);
  assert.is(privateResults.median_runtime, 2);
  assert.equal(privateResults.metrics, {
    mean_runtime: 2,
    mean_mean_absolute_error_time_series: 130 / 3,
    median_mean_absolute_error_time_series: 20,
  });
});

test('no leaderboard file: zero files and null metrics, never NaN in the JSON (defect 13)', async () => {
  const b = metadata('b.csv', false);
  const { publicResults, privateResults } = await aggregate(SERIES, seriesTally([[b, 3, 100]]), [b]);
  assert.is(publicResults.number_of_files, 0);
  assert.is(publicResults.mean_runtime, null);
  assert.is(publicResults.median_runtime, null);
  assert.equal(publicResults.metrics, {
    mean_runtime: null,
    mean_mean_absolute_error_time_series: null,
    median_mean_absolute_error_time_series: null,
  });
  assert.not.match(JSON.stringify(publicResults), 'NaN');
  assert.is(privateResults.number_of_files, 1);
});

test('rows are joined on file_name in the task order; scored files missing from the metadata are left out', async () => {
  const a = metadata('a.csv', true);
  const b = metadata('b.csv', true);
  const stray = metadata('stray.csv', true);
  const { fullResults, privateResults } = await aggregate(
    SERIES,
    seriesTally([
      [b, 1, 1],
      [stray, 1, 1],
      [a, 1, 1],
    ]),
    [a, b],
  );
  assert.is(privateResults.number_of_files, 2);
  assert.equal(
    fullResults.rows.map((row) => row[1]),
    ['a.csv', 'b.csv'],
  );
});

test('execution_time.csv and Python float formatting', () => {
  assert.is(
    [
      ...executionTimeCsv(
        scoredRows([
          ['a.csv', 1],
          ['b,c.csv', 0.00001234],
        ]),
      ),
    ].join(''),
    'file_name,execution_time\na.csv,1.0\n"b,c.csv",1.234e-05\n',
  );
  assert.is(pythonFloat(0.1), '0.1');
  assert.is(pythonFloat(1e16), '1e+16');
  assert.is(pythonFloat(123456789012345.6), '123456789012345.6');
  assert.is(pythonFloat(-0.0001), '-0.0001');
});

interface Dataset {
  readonly rows: Array<Record<string, unknown>>;
  readonly metadata: FileMetadata[];
  readonly tally: Tally;
}

function randomDataset(next: () => number, size: number): Dataset {
  const rows: Array<Record<string, unknown>> = [];
  const files: FileMetadata[] = [];
  let tally = emptyTally(size);
  for (let index = 0; index < size; index += 1) {
    const meta = metadata(`file_${index}.csv`, next() < 0.7, {
      file_id: index + 1,
      system_id: 100 + Math.floor(next() * 5),
      timezone: 'Etc/GMT+7',
      data_sampling_frequency: next() < 0.1 ? null : [1, 5, 15][Math.floor(next() * 3)],
      issue: next() < 0.2 ? null : next() < 0.5 ? 'clipping, soiling' : 'none',
      latitude: Math.round(next() * 9000) / 100,
    });
    const runtime = next() < 0.1 ? next() * 1e-5 : next() * 30;
    const values: Record<string, number> = { runtime };
    for (const reference of ['azimuth', 'tilt']) {
      const error = (next() - 0.5) * 10 ** Math.floor(next() * 4);
      values[`absolute_error_${reference}`] = Math.abs(error);
      values[`error_${reference}`] = error;
    }
    tally = addScore(tally, scored(meta, runtime, values, ['time_series', 'latitude']));
    rows.push({ file_name: meta.file_name, data_requirements: ['time_series', 'latitude'], ...values });
    files.push(meta);
  }
  return { rows, metadata: files, tally };
}

/** The original's aggregation (get_results_dict, calculate_metrics) and full-results CSV, in pandas. */
const PANDAS = `
import json, sys, pandas as pd
d = sys.argv[1]
spec = json.load(open(f"{d}/datasets.json"))
answers = []
for i, data in enumerate(spec["datasets"]):
    direct = pd.DataFrame(data["rows"])
    meta = pd.DataFrame(data["metadata"])
    df = pd.merge(direct, meta, on="file_name")
    out = {}
    for scope, part in (("public", df[df["include_on_leaderboard"] == True]), ("private", df)):
        metrics = {}
        for key, ops in spec["operations"].items():
            for op in ops:
                value = getattr(part[key], op)()
                metrics[f"{op}_{key}"] = None if pd.isna(value) else float(value)
        out[scope] = {"number_of_files": len(part), "mean_runtime": None if pd.isna(part["runtime"].mean()) else float(part["runtime"].mean()),
                      "median_runtime": None if pd.isna(part["runtime"].median()) else float(part["runtime"].median()), "metrics": metrics}
    cols = spec["columns"]
    df[[c for c in cols if c in df.columns]].to_csv(f"{d}/full_{i}.csv")
    answers.append(out)
floats = [float.__repr__(float(x)) for x in spec["floats"]]
print(json.dumps({"answers": answers, "floats": floats}))
`;

const close = (actual: number | null | undefined, expected: number | null) =>
  expected === null
    ? actual === null
    : typeof actual === 'number' && Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected));

test('random tallies: every operation, both scopes and the full-results CSV agree with pandas', async () => {
  const next = random(42);
  const datasets = [1, 2, 7, 150].map((size) => randomDataset(next, size));
  const floats = Array.from({ length: 300 }, () => (next() - 0.5) * 10 ** Math.floor(next() * 44 - 22));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pvhub-aggregate-'));
  try {
    await writeFile(
      path.join(dir, 'datasets.json'),
      JSON.stringify({
        datasets: datasets.map(({ rows, metadata: meta }) => ({ rows, metadata: meta })),
        operations: SCALAR.metricsOperations,
        columns: SCALAR.privateResultsColumns,
        floats,
      }),
    );
    const expected = JSON.parse(await python(PANDAS, [dir])) as {
      answers: Array<
        Record<
          'public' | 'private',
          {
            number_of_files: number;
            mean_runtime: number | null;
            median_runtime: number | null;
            metrics: Record<string, number | null>;
          }
        >
      >;
      floats: string[];
    };
    for (const [index, dataset] of datasets.entries()) {
      const ours = await aggregate(SCALAR, dataset.tally, dataset.metadata);
      for (const scope of ['public', 'private'] as const) {
        const results = scope === 'public' ? ours.publicResults : ours.privateResults;
        const pandas = expected.answers[index]?.[scope];
        if (!pandas) return assert.unreachable('pandas answer missing');
        const where = `dataset ${index} (${dataset.rows.length} rows) ${scope}`;
        assert.is(results.number_of_files, pandas.number_of_files, where);
        assert.ok(close(results.mean_runtime, pandas.mean_runtime), `${where} mean_runtime`);
        assert.ok(close(results.median_runtime, pandas.median_runtime), `${where} median_runtime`);
        assert.equal(Object.keys(results.metrics).sort(), Object.keys(pandas.metrics).sort(), where);
        for (const [key, value] of Object.entries(pandas.metrics))
          assert.ok(close(results.metrics[key], value), `${where} ${key}: ${results.metrics[key]} vs pandas ${value}`);
      }
      const pandasCsv = await readFile(path.join(dir, `full_${index}.csv`), 'utf8');
      assert.fixture(fullResultsCsv(ours.fullResults), pandasCsv);
    }
    assert.equal(floats.map(pythonFloat), expected.floats);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the full results keep private_results_columns in their order and drop unknown names', async () => {
  const dataset = randomDataset(random(7), 3);
  const { fullResults } = await aggregate(SCALAR, dataset.tally, dataset.metadata);
  assert.equal(fullResults.columns, [
    'system_id',
    'file_name',
    'runtime',
    'data_requirements',
    'absolute_error_azimuth',
    'data_sampling_frequency',
    'issue',
    'include_on_leaderboard',
    'latitude',
  ]);
  assert.ok(fullResultsCsv(fullResults).startsWith(',system_id,file_name,runtime,'));
});

test("run_time, the Hub's az-tilt name for the runtime, is the runtime column under that name, a float", async () => {
  const config = parseTaskConfig({ ...SCALAR_RAW, private_results_columns: ['file_name', 'run_time', 'number_days'] });
  const meta = metadata('a.csv', true, { number_days: 365 });
  const tally = addScore(emptyTally(1), scored(meta, 2, { runtime: 2, absolute_error_azimuth: 1 }, ['time_series']));
  const { fullResults } = await aggregate(config, tally, [meta]);
  assert.equal(fullResults.columns, ['file_name', 'run_time', 'number_days']);
  assert.is(fullResultsCsv(fullResults), ',file_name,run_time,number_days\n0,a.csv,2.0,365\n');
});

test.run();
