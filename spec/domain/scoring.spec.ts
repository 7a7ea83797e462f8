import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WorkerError } from '../../src/domain/errors.js';
import {
  cellNumber,
  type CsvHead,
  type Scored,
  scalarReference,
  scoreScalar,
  TimeSeriesComparison,
} from '../../src/domain/scoring.js';
import { parseTaskConfig } from '../../src/domain/task-config.js';
import { python } from '../helpers/cli.js';

const SERIES = parseTaskConfig({
  function_name: 'detect_time_shifts',
  comparison_type: 'time_series',
  performance_metrics: ['runtime', 'mean_absolute_error'],
  metrics_operations: { runtime: ['mean'], mean_absolute_error_time_series: ['mean', 'median'] },
  allowable_kwargs: ['latitude', 'longitude'],
  references_compare: ['time_series'],
  public_results_table: 'public.json',
});

const SCALAR = parseTaskConfig({
  function_name: 'estimate_az_tilt',
  comparison_type: 'scalar',
  performance_metrics: ['runtime', 'absolute_error', 'error'],
  metrics_operations: {
    runtime: ['mean'],
    absolute_error_azimuth: ['mean'],
    absolute_error_tilt: ['mean'],
    error_azimuth: ['mean'],
    error_tilt: ['mean'],
  },
  allowable_kwargs: ['latitude'],
  references_compare: ['azimuth', 'tilt'],
  public_results_table: 'public.json',
});

/** A seeded generator (mulberry32), so the random cases are the same on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const lines = (csv: string) =>
  csv
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.split(','));

/** Feeds two CSV texts through the comparison as score-run does, row by row in step. */
function compare(output: string, reference: string, config = SERIES): Scored {
  const outputRows = lines(output);
  const referenceRows = lines(reference);
  const comparison = new TimeSeriesComparison('f.csv', outputRows[0], referenceRows[0]);
  for (let index = 1; index < Math.max(outputRows.length, referenceRows.length); index += 1) {
    if (!comparison.add(outputRows[index], referenceRows[index])) break;
  }
  return comparison.result(config, 1.5);
}

function failure(scored: Scored): { code: string; message: string } {
  if (scored.ok) return assert.unreachable(`scored: ${JSON.stringify(scored.row)}`) as never;
  return scored.failure;
}

function values(scored: Scored): Readonly<Record<string, number | null>> {
  if (!scored.ok) return assert.unreachable(`failed: ${scored.failure.code} ${scored.failure.message}`) as never;
  return scored.row.values;
}

const REFERENCE = ',0\n2015-01-01,0\n2015-01-02,60\n2015-01-03,60\n2015-01-04,0\n';

test('cells are read as pandas reads a float column', () => {
  assert.is(cellNumber(' 2.5 '), 2.5);
  assert.is(cellNumber('1e-3'), 0.001);
  assert.is(cellNumber('-.5'), -0.5);
  assert.is(cellNumber('inf'), Infinity);
  assert.is(cellNumber('-Infinity'), -Infinity);
  assert.is(cellNumber('True'), 1);
  assert.is(cellNumber('False'), 0);
  for (const missing of ['', 'nan', 'NaN', 'NA', 'null', 'None', undefined])
    assert.ok(Number.isNaN(cellNumber(missing)), String(missing));
  for (const text of ['abc', '0x10', '1,5', '1 000', '2015-01-01']) assert.is(cellNumber(text), undefined, text);
});

test('time series, hand-worked: mean |o − r| with the output on the reference index, positionally', () => {
  const output = ',0\n1999-12-31,0\n1999-12-30,30\n1999-12-29,60\n1999-12-28,60\n';
  const scored = compare(output, REFERENCE);
  assert.equal(values(scored), { runtime: 1.5, mean_absolute_error_time_series: 22.5 });
  assert.equal(scored.ok && scored.row.data_requirements, ['time_series', 'latitude', 'longitude']);
  assert.is(scored.ok && scored.row.file_name, 'f.csv');
});

test('time series: keys follow performance_metrics; runtime only when listed', () => {
  const config = parseTaskConfig({
    function_name: 'f',
    comparison_type: 'time_series',
    performance_metrics: ['mean_absolute_error'],
    metrics_operations: { mean_absolute_error_shift: ['mean'] },
    references_compare: ['shift'],
    public_results_table: 'p.json',
  });
  assert.equal(values(compare(',0\n0,1\n1,1\n2,1\n3,1\n', REFERENCE, config)), { mean_absolute_error_shift: 30 });
});

test('time series: a pair without a reference value is skipped, as pandas skips NaN', () => {
  const reference = ',0\n2015-01-01,0\n2015-01-02,\n2015-01-03,60\n2015-01-04,NaN\n';
  assert.equal(values(compare(',0\na,3\nb,999\nc,54\nd,1e9\n', reference)).mean_absolute_error_time_series, 4.5);
});

test('time series: a missing, infinite or non-numeric output value fails the file with op_8, naming the line', () => {
  const missing = failure(compare(',0\na,0\nb,\nc,60\nd,0\n', REFERENCE));
  assert.is(missing.code, 'op_8');
  assert.match(missing.message, 'output line 3 ("b") is missing');
  assert.match(missing.message, 'the reference has 60');
  assert.match(failure(compare(',0\na,0\nb,nan\nc,60\nd,0\n', REFERENCE)).message, 'missing');
  assert.match(failure(compare(',0\na,inf\nb,60\nc,60\nd,0\n', REFERENCE)).message, 'output line 2 ("a") is infinite');
  assert.match(failure(compare(',0\na,0\nb,60\nc,sixty\nd,0\n', REFERENCE)).message, '"sixty", not a number');
});

test('time series: lengths must be equal (op_8, with both counts)', () => {
  assert.equal(failure(compare(',0\na,0\nb,60\nc,60\n', REFERENCE)), {
    code: 'op_8',
    message: 'the output has 3 values, the reference 4',
  });
  assert.equal(failure(compare(',0\na,0\nb,60\nc,60\nd,0\ne,0\nf,0\n', REFERENCE)), {
    code: 'op_8',
    message: 'the output has 6 values, the reference 4',
  });
  assert.equal(failure(compare(',0\n', REFERENCE)), {
    code: 'op_8',
    message: 'the output has 0 values, the reference 4',
  });
});

test('time series: a wrongly shaped output fails with op_8', () => {
  assert.match(failure(compare(',0,1\na,0,1\n', REFERENCE)).message, '2 value column(s)');
  assert.match(failure(compare('0\n1\n', REFERENCE)).message, '0 value column(s)');
  assert.match(failure(compare(',0\na,0\nb,60,7\n', REFERENCE)).message, 'output line 3 has 3 cells');
  const empty = new TimeSeriesComparison('f.csv', undefined, ['', '0']);
  assert.equal(failure(empty.result(SERIES, 1)), { code: 'op_8', message: 'the output file is empty' });
});

function breaks(run: () => unknown, fragment: string) {
  try {
    run();
  } catch (error) {
    assert.instance(error, WorkerError);
    assert.is((error as WorkerError).code, 'wr_9');
    assert.match((error as Error).message, fragment);
    return;
  }
  assert.unreachable('did not throw');
}

test('time series: a broken reference is the task fault and breaks the job (wr_9); one with no values fails the file', () => {
  breaks(() => compare(',0\na,1\n', ',0,1\na,1,2\n'), 'one value column');
  breaks(() => compare(',0\na,1\nb,1\n', ',0\na,1\nb,one\n'), '"one" is not a number');
  breaks(() => compare(',0\na,1\nb,1\n', ',0\na,1\nb,1,1\n'), 'line 3, has 3 cells');
  assert.equal(failure(compare(',0\na,1\n', ',0\na,\n')), {
    code: 'wr_9',
    message: 'the reference for f.csv has no values to compare with',
  });
});

const SYSTEM = { system_id: 7, azimuth: 180, tilt: 25, latitude: 39.7 };
const output = (...cells: string[]): CsvHead => ({
  header: ['', ...cells.map((_, index) => String(index))],
  row: ['0', ...cells],
});
const NO_FILE: CsvHead = { header: undefined, row: undefined };

test('scalar, hand-worked, references from system metadata (main)', () => {
  const scored = scoreScalar(SCALAR, 'f.csv', 2, output('185.5', '20'), (reference) =>
    scalarReference(reference, NO_FILE, SYSTEM),
  );
  assert.equal(values(scored), {
    runtime: 2,
    absolute_error_azimuth: 5.5,
    absolute_error_tilt: 5,
    error_azimuth: 5.5,
    error_tilt: -5,
  });
  assert.equal(scored.ok && scored.row.data_requirements, ['time_series', 'latitude']);
});

test('scalar, references from the first row of the reference file when it has those columns (develop)', () => {
  const referenceFile: CsvHead = { header: ['', 'tilt', 'azimuth'], row: ['0', '30', '170.25'] };
  const scored = scoreScalar(SCALAR, 'f.csv', 2, output('185.5', '20'), (reference) =>
    scalarReference(reference, referenceFile, SYSTEM),
  );
  assert.equal(values(scored), {
    runtime: 2,
    absolute_error_azimuth: 15.25,
    absolute_error_tilt: 10,
    error_azimuth: 15.25,
    error_tilt: -10,
  });
  const tiltOnly: CsvHead = { header: ['', 'tilt'], row: ['0', '30'] };
  const mixed = scoreScalar(SCALAR, 'f.csv', 2, output('185.5', '20'), (reference) =>
    scalarReference(reference, tiltOnly, SYSTEM),
  );
  assert.equal(values(mixed).error_azimuth, 5.5);
  assert.equal(values(mixed).error_tilt, -10);
});

test('scalar: a missing, NaN or non-numeric output value fails with op_9, naming the reference', () => {
  const answer = (reference: string) => scalarReference(reference, NO_FILE, SYSTEM);
  assert.equal(failure(scoreScalar(SCALAR, 'f.csv', 2, output('185.5'), answer)), {
    code: 'op_9',
    message: 'no output value for "tilt": the function returned 1 value(s), the task expects 2',
  });
  assert.match(
    failure(scoreScalar(SCALAR, 'f.csv', 2, output('185.5', 'NaN'), answer)).message,
    'the output value for "tilt" is missing',
  );
  assert.match(
    failure(scoreScalar(SCALAR, 'f.csv', 2, output('south', '20'), answer)).message,
    '"azimuth" is "south", not a number',
  );
  assert.match(failure(scoreScalar(SCALAR, 'f.csv', 2, output('-inf', '20'), answer)).message, 'infinite');
  assert.equal(failure(scoreScalar(SCALAR, 'f.csv', 2, { header: ['', '0'], row: undefined }, answer)).code, 'op_9');
  assert.equal(failure(scoreScalar(SCALAR, 'f.csv', 2, NO_FILE, answer)).code, 'op_9');
});

test('scalar: a file whose answer is missing fails with wr_9', () => {
  const scored = scoreScalar(SCALAR, 'f.csv', 2, output('185.5', '20'), (reference) =>
    scalarReference(reference, NO_FILE, { system_id: 7, azimuth: 180, tilt: null }),
  );
  assert.equal(failure(scored), { code: 'wr_9', message: 'the task has no numeric reference value "tilt" for f.csv' });
});

/** Independent numbers from pandas/numpy, by the original metric code (metric_operations.py). */
const PANDAS = `
import json, sys
import numpy as np, pandas as pd
d = sys.argv[1]
cases = json.load(open(f"{d}/cases.json"))
series = []
for i in range(cases["series"]):
    o = pd.read_csv(f"{d}/o{i}.csv", index_col=0).squeeze("columns")
    r = pd.read_csv(f"{d}/r{i}.csv", index_col=0, parse_dates=True).squeeze("columns")
    o.index = r.index
    series.append(float(np.mean(np.abs(o - r))))
scalars = []
for case in cases["scalars"]:
    row = pd.read_csv(f"{d}/{case['file']}", index_col=0).iloc[0]
    out = {}
    for i, ref in enumerate(case["refs"]):
        out[f"absolute_error_{ref}"] = float(np.abs(row.iloc[i] - case["system"][ref]))
        out[f"error_{ref}"] = float(row.iloc[i] - case["system"][ref])
    scalars.append(out)
print(json.dumps({"series": series, "scalars": scalars}))
`;

const close = (actual: number, expected: number) =>
  Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected));

test('random series and scalars agree with pandas/numpy', async () => {
  const next = random(20240611);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pvhub-scoring-'));
  try {
    const ours: number[] = [];
    const seriesCount = 25;
    for (let index = 0; index < seriesCount; index += 1) {
      const length = 2 + Math.floor(next() * 3000);
      const scale = 10 ** Math.floor(next() * 6 - 2);
      let output = ',0\n';
      let reference = ',0\n';
      for (let row = 0; row < length; row += 1) {
        const day = new Date(Date.UTC(2015, 0, 1 + row)).toISOString().slice(0, 10);
        const truth = Math.round(next() * 4) * 60 - 120;
        // About one reference value in twenty is missing; pandas skips those pairs.
        reference += `${day},${next() < 0.05 && row > 0 ? '' : truth}\n`;
        output += `${row},${truth + (next() - 0.5) * scale}\n`;
      }
      await writeFile(path.join(dir, `o${index}.csv`), output);
      await writeFile(path.join(dir, `r${index}.csv`), reference);
      ours.push(Number(values(compare(output, reference)).mean_absolute_error_time_series));
    }
    const scalarCases = [];
    const scalarOurs: Array<Readonly<Record<string, number | null>>> = [];
    for (let index = 0; index < 10; index += 1) {
      const system = { system_id: index, azimuth: Math.round(next() * 360), tilt: next() * 60 };
      const cells = [String(next() * 360), String(next() * 90 - 10)];
      const file = `s${index}.csv`;
      await writeFile(path.join(dir, file), `,0,1\n0,${cells.join(',')}\n`);
      scalarCases.push({ file, refs: SCALAR.referencesCompare, system });
      const metrics = {
        ...values(
          scoreScalar(SCALAR, file, 1, output(...cells), (reference) => scalarReference(reference, NO_FILE, system)),
        ),
      };
      delete metrics['runtime'];
      scalarOurs.push(metrics);
    }
    await writeFile(path.join(dir, 'cases.json'), JSON.stringify({ series: seriesCount, scalars: scalarCases }));
    const expected = JSON.parse(await python(PANDAS, [dir])) as {
      series: number[];
      scalars: Array<Record<string, number>>;
    };
    expected.series.forEach((value, index) =>
      assert.ok(close(ours[index] ?? NaN, value), `series ${index}: ${ours[index]} vs pandas ${value}`),
    );
    expected.scalars.forEach((metrics, index) => {
      assert.equal(Object.keys(scalarOurs[index] ?? {}).sort(), Object.keys(metrics).sort());
      for (const [key, value] of Object.entries(metrics))
        assert.ok(close(scalarOurs[index]?.[key] ?? NaN, value), `scalar ${index} ${key}`);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
