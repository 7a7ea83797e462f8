import type { FileMetadata } from './metadata.js';
import type { ResultsObject } from './results.js';
import { dataRequirements, PreciseSum } from './scoring.js';
import type { Tally } from './tally.js';
import type { TaskConfig } from './task-config.js';

/** A value of the joined per-file table, as pandas would hold it; null is NaN. */
export type Cell = string | number | boolean | null | readonly string[];

function mean(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sum = new PreciseSum();
  for (const value of values) sum.add(value);
  return sum.value / values.length;
}

function variance(values: readonly number[]): number {
  if (values.length < 2) return NaN;
  const centre = mean(values);
  const squares = new PreciseSum();
  for (const value of values) squares.add((value - centre) ** 2);
  return squares.value / (values.length - 1);
}

function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/**
 * The operations metrics_operations may name, with the semantics of the pandas Series method of the same name
 * (NaN skipped; std and var with ddof=1; sum of nothing is 0, other operations of nothing NaN). The original
 * knew mean and median only; the others are the obvious pandas reductions a task author would reach for.
 */
export const OPERATIONS: Readonly<Record<string, (values: readonly number[]) => number>> = {
  mean,
  median,
  min: (values) => (values.length === 0 ? NaN : values.reduce((a, b) => Math.min(a, b))),
  max: (values) => (values.length === 0 ? NaN : values.reduce((a, b) => Math.max(a, b))),
  std: (values) => Math.sqrt(variance(values)),
  var: variance,
  sum: (values) => {
    const sum = new PreciseSum();
    for (const value of values) sum.add(value);
    return sum.value;
  },
  count: (values) => values.length,
};

/** One scored file joined with its file metadata on file_name (inner join, as the original). */
interface JoinedRow {
  readonly leaderboard: boolean;
  readonly runtime: number | undefined;
  readonly columns: ReadonlyMap<string, Cell>;
}

/** submission_full_results.csv before formatting; `floatColumns` are those pandas would hold as float64. */
export interface ResultsTable {
  readonly columns: readonly string[];
  readonly rows: ReadonlyArray<readonly Cell[]>;
  readonly floatColumns: ReadonlySet<string>;
}

export interface Aggregation {
  readonly publicResults: ResultsObject;
  readonly privateResults: ResultsObject;
  readonly fullResults: ResultsTable;
}

function metadataCell(value: unknown): Cell {
  if (value === undefined || value === null || (typeof value === 'number' && !Number.isFinite(value))) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value as string[];
  return JSON.stringify(value);
}

/** In the task's file order, so the results do not depend on which container finished first. */
function join(tally: Tally, fileMetadata: readonly FileMetadata[]): JoinedRow[] {
  const rowsByName = new Map(tally.rows.map((row) => [row.file_name, row]));
  const runtimes = new Map(tally.executionTimes);
  const joined: JoinedRow[] = [];
  for (const metadata of fileMetadata) {
    const row = rowsByName.get(metadata.file_name);
    if (row === undefined) continue;
    rowsByName.delete(metadata.file_name);
    const columns = new Map<string, Cell>(Object.entries(metadata).map(([key, value]) => [key, metadataCell(value)]));
    columns.set('data_requirements', row.data_requirements);
    for (const [key, value] of Object.entries(row.values)) columns.set(key, value);
    joined.push({
      leaderboard: metadata.include_on_leaderboard === true,
      runtime: runtimes.get(row.file_name),
      columns,
    });
  }
  return joined;
}

const nullIfNaN = (value: number): number | null => (Number.isFinite(value) ? value : null);

function numbers(values: ReadonlyArray<Cell | undefined>): number[] {
  return values.filter((value): value is number => typeof value === 'number' && Number.isFinite(value));
}

/**
 * The results object of contract §7 over some of the rows. number_of_files counts the rows aggregated: the scored
 * leaderboard files for the public object, every scored file for the private one, as the original's
 * len(filtered_results_df). mean_runtime and median_runtime come from the execution times whether or not the task
 * lists runtime as a metric (the original crashed when it did not). NaN becomes null (defect 13).
 */
function resultsObject(
  config: TaskConfig,
  rows: readonly JoinedRow[],
  functionParameters: readonly string[],
): ResultsObject {
  const runtimes = numbers(rows.map((row) => row.runtime));
  const metrics: Record<string, number | null> = {};
  for (const key of config.scoreKeys) {
    const values = numbers(rows.map((row) => row.columns.get(key)));
    for (const operation of config.metricsOperations[key] ?? []) {
      const compute = OPERATIONS[operation];
      if (compute) metrics[`${operation}_${key}`] = nullIfNaN(compute(values));
    }
  }
  return {
    module: 'submission',
    number_of_files: rows.length,
    mean_runtime: nullIfNaN(mean(runtimes)),
    median_runtime: nullIfNaN(median(runtimes)),
    function_parameters: [...functionParameters],
    data_requirements: dataRequirements(config),
    metrics,
  };
}

/**
 * The private full results: the joined rows limited to private_results_columns in their order, names that are not
 * columns dropped as the original did. A pandas column mixing numbers with NaN, or holding metrics, is float64.
 */
function fullResults(config: TaskConfig, rows: readonly JoinedRow[]): ResultsTable {
  const present = new Set(rows.flatMap((row) => [...row.columns.keys()]));
  const columns = [...new Set(config.privateResultsColumns)].filter((column) => present.has(column));
  const cells = rows.map((row) => columns.map((column) => row.columns.get(column) ?? null));
  const floatColumns = new Set(
    columns.filter((column, index) => {
      if (column === 'runtime' || config.scoreKeys.includes(column)) return true;
      const values = cells.map((row) => row[index] ?? null);
      const numeric = values.filter((value): value is number => typeof value === 'number');
      const numericOrNaN = values.every((value) => value === null || typeof value === 'number');
      return (
        numeric.length > 0 &&
        numericOrNaN &&
        (values.includes(null) || numeric.some((value) => !Number.isInteger(value)))
      );
    }),
  );
  return { columns, rows: cells, floatColumns };
}

/** Everything the results files are made of, from the finished tally and the task's file metadata. Pure. */
export function aggregate(config: TaskConfig, tally: Tally, fileMetadata: readonly FileMetadata[]): Aggregation {
  const joined = join(tally, fileMetadata);
  const functionParameters = tally.functionParameters ?? [];
  return {
    publicResults: resultsObject(
      config,
      joined.filter((row) => row.leaderboard),
      functionParameters,
    ),
    privateResults: resultsObject(config, joined, functionParameters),
    fullResults: fullResults(config, joined),
  };
}

/** A float as Python's repr writes it (pandas to_csv does the same): 1.0, 0.0001, 1e-05, 1e+16. */
export function pythonFloat(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const [digits = '', exponentText = '0'] = value.toExponential().split('e');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16)
    return `${digits}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  const text = String(value);
  return text.includes('.') ? text : `${text}.0`;
}

function pythonString(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  return `${quote}${text.replaceAll('\\', '\\\\').replaceAll(quote, `\\${quote}`)}${quote}`;
}

function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csvCell(value: Cell, float: boolean): string {
  if (value === null) return '';
  if (typeof value === 'number') return float ? pythonFloat(value) : String(value);
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'string') return csvField(value);
  return csvField(`[${value.map(pythonString).join(', ')}]`);
}

/** submission_full_results.csv as pandas' to_csv writes it: an unnamed index column first, NaN as empty. */
export function fullResultsCsv(table: ResultsTable): string {
  const lines = [['', ...table.columns.map(csvField)].join(',')];
  table.rows.forEach((row, index) => {
    lines.push(
      [
        String(index),
        ...row.map((value, column) => csvCell(value, table.floatColumns.has(table.columns[column] ?? ''))),
      ].join(','),
    );
  });
  return `${lines.join('\n')}\n`;
}

/** execution_time.csv as the original wrapper wrote it: file_name,execution_time, one line per file that ran. */
export function executionTimeCsv(executionTimes: ReadonlyArray<readonly [string, number]>): string {
  return [
    'file_name,execution_time',
    ...executionTimes.map(([fileName, seconds]) => `${csvField(fileName)},${pythonFloat(seconds)}`),
    '',
  ].join('\n');
}
