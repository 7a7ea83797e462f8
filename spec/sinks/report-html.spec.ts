import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FileScoreRow } from '../../src/domain/file-run.js';
import type { ResultsObject } from '../../src/domain/results.js';
import { parseTaskConfig } from '../../src/domain/task-config.js';
import { escapeHtml } from '../../src/domain/html.js';
import { histogramSvg, reportHtml } from '../../src/sinks/report-html.js';
import { ScoredColumns } from '../../src/domain/tally.js';

const CONFIG = parseTaskConfig({
  function_name: 'detect_time_shifts',
  comparison_type: 'time_series',
  display_metrics: { mean_mean_absolute_error_time_series: 'Mean <Mean> Absolute Error' },
  performance_metrics: ['runtime', 'mean_absolute_error'],
  metrics_operations: { mean_absolute_error_time_series: ['mean', 'median'], runtime: ['mean'] },
  references_compare: ['time_series'],
  public_results_table: 'public.json',
});

const results = (files: number, mean: number | null): ResultsObject => ({
  module: 'submission',
  number_of_files: files,
  mean_runtime: 1.25,
  median_runtime: 1.25,
  function_parameters: ['time_series', 'latitude'],
  data_requirements: ['time_series'],
  metrics: {
    mean_runtime: 1.25,
    mean_mean_absolute_error_time_series: mean,
    median_mean_absolute_error_time_series: mean,
  },
});

const row = (name: string, mae: number): FileScoreRow => ({
  file_name: name,
  data_requirements: ['time_series'],
  values: { runtime: 1.25, mean_absolute_error_time_series: mae },
});

function columnsOf(rows: readonly FileScoreRow[]): ScoredColumns {
  const columns = new ScoredColumns();
  for (const each of rows) columns.add(each, 1.25);
  return columns;
}

const HOSTILE = '<script>alert("x")</script>.csv';

function report(): string {
  return [
    ...reportHtml({
      config: CONFIG,
      publicResults: results(0, null),
      privateResults: results(3, 12.5),
      rows: columnsOf([row('a.csv', 10), row('b.csv', 15), row(HOSTILE, 12.5)]),
      failed: [
        { fileName: 'c & d.csv', failure: { code: 'op_8', message: 'the output has 2 values, the reference 3' } },
      ],
      note: 'the task has no template.py; the built-in report was written',
    }),
  ].join('');
}

test('a self-contained page: summary, labelled metrics, every file with the failed ones and their codes', () => {
  const html = report();
  assert.ok(html.startsWith('<!DOCTYPE html>'));
  assert.not.match(html, /<script|<link|src=|href=/i, 'no scripts or external resources');
  assert.match(html, 'Mean &lt;Mean&gt; Absolute Error');
  assert.match(html, '4 (3 scored, 1 failed; 0 scored on the leaderboard)');
  assert.match(html, '<td class="num">12.5</td>');
  assert.match(html, '<td class="num">n/a</td>', 'a null metric');
  assert.match(html, 'c &amp; d.csv');
  assert.match(html, 'op_8: the output has 2 values, the reference 3');
  assert.match(html, 'the built-in report was written');
});

test('all text is escaped', () => {
  const html = report();
  assert.not.match(html, HOSTILE);
  assert.match(html, escapeHtml(HOSTILE));
  assert.is(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
});

test('the histogram is an inline SVG whose bars count every value', () => {
  const values = Array.from({ length: 100 }, (_, index) => (index * 37) % 101);
  const svg = histogramSvg('mean_absolute_error_time_series', values);
  assert.ok(svg.startsWith('<svg'));
  const counts = [...svg.matchAll(/: (\d+) file\(s\)<\/title>/g)].map((match) => Number(match[1]));
  assert.is(counts.length, 10, 'sqrt(100) bins');
  assert.is(
    counts.reduce((a, b) => a + b, 0),
    100,
  );
  assert.is([...histogramSvg('x', [2, 2, 2]).matchAll(/<rect/g)].length, 1, 'equal values: one bar');
  assert.match(histogramSvg('x', [NaN]), 'No values');
  assert.match(report(), '<svg');
});

test.run();
