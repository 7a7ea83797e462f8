import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WorkerError } from '../../src/domain/errors.js';
import { parseTaskConfig, parseTaskConfigText } from '../../src/domain/task-config.js';

/** The contract's example config (contract §5), verbatim. */
const CONTRACT_EXAMPLE = {
  category_name: 'Time Shift Detection',
  s3_bucket_folder_name: 'time-shift-detection',
  function_name: 'detect_time_shifts',
  comparison_type: 'time_series',
  display_metrics: {
    mean_mean_absolute_error_time_series: 'Mean Mean Absolute Error',
    median_mean_absolute_error_time_series: 'Median Mean Absolute Error',
  },
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
};

test('the contract example parses into the worker names', () => {
  const config = parseTaskConfig(CONTRACT_EXAMPLE);
  assert.is(config.functionName, 'detect_time_shifts');
  assert.is(config.comparisonType, 'time_series');
  assert.equal(config.metricsOperations, CONTRACT_EXAMPLE.metrics_operations);
  assert.equal(config.allowableKwargs, CONTRACT_EXAMPLE.allowable_kwargs);
  assert.is(config.privateResultsTable, 'time-shift-private-metrics.json');
  assert.equal(config.displayMetrics, CONTRACT_EXAMPLE.display_metrics);
});

function problem(config: unknown): string {
  try {
    parseTaskConfig(config);
  } catch (error) {
    assert.instance(error, WorkerError);
    assert.is((error as WorkerError).code, 'wr_6');
    return (error as Error).message;
  }
  return assert.unreachable('accepted') as never;
}

test('each malformed key is a wr_6 naming it', () => {
  assert.match(problem({ ...CONTRACT_EXAMPLE, function_name: 'import os' }), 'function_name');
  assert.match(problem({ ...CONTRACT_EXAMPLE, comparison_type: 'vector' }), 'comparison_type');
  assert.match(
    problem({ ...CONTRACT_EXAMPLE, private_results_table: CONTRACT_EXAMPLE.public_results_table }),
    'must differ',
  );
  assert.match(problem({ ...CONTRACT_EXAMPLE, private_results_table: 'a/b.json' }), 'plain file name');
  assert.match(problem({ ...CONTRACT_EXAMPLE, public_results_table: '../x.json' }), 'plain file name');
  assert.match(problem({ ...CONTRACT_EXAMPLE, metrics_operations: { runtime: 'mean' } }), 'metrics_operations.runtime');
  assert.match(problem({ ...CONTRACT_EXAMPLE, references_compare: [] }), 'references_compare');
  assert.match(problem([]), 'JSON object');
});

const SCALAR_EXAMPLE = {
  function_name: 'estimate_az_tilt',
  comparison_type: 'scalar',
  performance_metrics: ['runtime', 'absolute_error', 'error'],
  metrics_operations: {
    runtime: ['mean', 'median'],
    absolute_error_azimuth: ['mean', 'median'],
    absolute_error_tilt: ['mean', 'median'],
    error_azimuth: ['mean'],
    error_tilt: ['mean'],
  },
  allowable_kwargs: ['latitude', 'longitude'],
  references_compare: ['azimuth', 'tilt'],
  public_results_table: 'az-tilt-public-metrics.json',
  private_results_table: 'az-tilt-private-metrics.json',
};

test('score keys: runtime, then <metric>_<ref> per metric and reference, in the order of performance_metrics', () => {
  assert.equal(parseTaskConfig(CONTRACT_EXAMPLE).scoreKeys, ['runtime', 'mean_absolute_error_time_series']);
  assert.equal(parseTaskConfig(SCALAR_EXAMPLE).scoreKeys, [
    'runtime',
    'absolute_error_azimuth',
    'absolute_error_tilt',
    'error_azimuth',
    'error_tilt',
  ]);
  const metricsFirst = parseTaskConfig({ ...SCALAR_EXAMPLE, performance_metrics: ['error', 'runtime', 'error'] });
  assert.equal(metricsFirst.scoreKeys, ['error_azimuth', 'error_tilt', 'runtime']);
});

test('ground_truth_compare, the older name in the Hub insertion docs, is read as references_compare', () => {
  const { references_compare: references, ...rest } = SCALAR_EXAMPLE;
  assert.equal(parseTaskConfig({ ...rest, ground_truth_compare: references }).referencesCompare, ['azimuth', 'tilt']);
  assert.equal(parseTaskConfig({ ...SCALAR_EXAMPLE, ground_truth_compare: ['ignored'] }).referencesCompare, [
    'azimuth',
    'tilt',
  ]);
  assert.match(problem({ ...rest, ground_truth_compare: [] }), 'ground_truth_compare');
  assert.match(problem(rest), 'references_compare');
});

test('without private_results_table the name is derived from the public one', () => {
  const derived = (publicName: string) =>
    parseTaskConfig({ ...CONTRACT_EXAMPLE, public_results_table: publicName, private_results_table: undefined })
      .privateResultsTable;
  assert.is(derived('time-shift-public-metrics.json'), 'time-shift-private-metrics.json');
  assert.is(derived('public-public.json'), 'public-private.json');
  assert.is(derived('metrics.json'), 'private-metrics.json');
});

test('without private_results_columns the full results show the file and its metrics', () => {
  assert.equal(parseTaskConfig({ ...SCALAR_EXAMPLE }).privateResultsColumns, [
    'file_name',
    'runtime',
    'absolute_error_azimuth',
    'absolute_error_tilt',
    'error_azimuth',
    'error_tilt',
  ]);
  assert.equal(parseTaskConfig(CONTRACT_EXAMPLE).privateResultsColumns, CONTRACT_EXAMPLE.private_results_columns);
});

function mismatch(config: unknown): string {
  try {
    parseTaskConfig(config);
  } catch (error) {
    assert.instance(error, WorkerError);
    assert.is((error as WorkerError).code, 'op_500');
    return (error as Error).message;
  }
  return assert.unreachable('accepted') as never;
}

test('metrics the worker cannot compute or aggregate are op_500 at load time, naming the metric or key', () => {
  assert.match(
    mismatch({ ...CONTRACT_EXAMPLE, performance_metrics: ['runtime', 'rmse'] }),
    'unknown performance metric "rmse"',
  );
  assert.match(
    mismatch({ ...CONTRACT_EXAMPLE, performance_metrics: ['absolute_error'] }),
    'absolute_error" applies to scalar tasks',
  );
  assert.match(
    mismatch({ ...SCALAR_EXAMPLE, performance_metrics: ['mean_absolute_error'] }),
    'applies to time_series tasks',
  );
  assert.match(
    mismatch({ ...CONTRACT_EXAMPLE, metrics_operations: { runtime: ['mean'] } }),
    '"mean_absolute_error_time_series"',
  );
  const withoutRuntime: Record<string, string[]> = { ...SCALAR_EXAMPLE.metrics_operations };
  delete withoutRuntime['runtime'];
  assert.match(mismatch({ ...SCALAR_EXAMPLE, metrics_operations: withoutRuntime }), 'no entry for "runtime"');
  assert.match(
    mismatch({
      ...SCALAR_EXAMPLE,
      metrics_operations: { ...SCALAR_EXAMPLE.metrics_operations, error_tilt: ['mean', 'mode'] },
    }),
    'metrics_operations.error_tilt" has unknown operation "mode"',
  );
  assert.match(mismatch({ ...CONTRACT_EXAMPLE, references_compare: ['a', 'b'] }), 'one output series');
});

test('every pandas-style operation is accepted', () => {
  const operations = ['mean', 'median', 'min', 'max', 'std', 'var', 'sum', 'count'];
  const config = parseTaskConfig({
    ...CONTRACT_EXAMPLE,
    metrics_operations: { ...CONTRACT_EXAMPLE.metrics_operations, runtime: operations },
  });
  assert.equal(config.metricsOperations['runtime'], operations);
});

test('invalid JSON text is a wr_6 with the parser message', () => {
  try {
    parseTaskConfigText('{"function_name": ');
    assert.unreachable();
  } catch (error) {
    assert.is((error as WorkerError).code, 'wr_6');
    assert.match((error as Error).message, 'not valid JSON');
  }
});

test.run();
