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
  private_results_columns: ['system_id', 'file_name', 'runtime', 'data_requirements', 'mean_absolute_error_time_series', 'data_sampling_frequency', 'issue'],
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
  assert.match(problem({ ...CONTRACT_EXAMPLE, private_results_table: undefined }), 'private_results_table');
  assert.match(problem({ ...CONTRACT_EXAMPLE, public_results_table: '../x.json' }), 'plain file name');
  assert.match(problem({ ...CONTRACT_EXAMPLE, metrics_operations: { runtime: 'mean' } }), 'metrics_operations.runtime');
  assert.match(problem({ ...CONTRACT_EXAMPLE, references_compare: [] }), 'references_compare');
  assert.match(problem([]), 'JSON object');
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
