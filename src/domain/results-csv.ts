/** The results' CSV files, written as pandas' to_csv writes them: the Hub's readers were made for those. */

import type { ScoredRows } from './tally.js';

/** A value of the joined per-file table, as pandas would hold it; null is NaN. */
export type Cell = string | number | boolean | null | readonly string[];

/** submission_full_results.csv's columns; `floatColumns` are those pandas would hold as float64. */
export interface ResultsColumns {
  readonly columns: readonly string[];
  readonly floatColumns: ReadonlySet<string>;
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

/** submission_full_results.csv's header line as pandas' to_csv writes it: an unnamed index column first. */
export const fullResultsHeader = (columns: ResultsColumns): string =>
  `${['', ...columns.columns.map(csvField)].join(',')}\n`;

/** One line of submission_full_results.csv as pandas' to_csv writes it: its index first, NaN as empty. */
export const fullResultsLine = (columns: ResultsColumns, index: number, cells: readonly Cell[]): string =>
  `${[
    String(index),
    ...cells.map((value, column) => csvCell(value, columns.floatColumns.has(columns.columns[column] ?? ''))),
  ].join(',')}\n`;

/** execution_time.csv as the original wrapper wrote it: file_name,execution_time, one line per file that ran, a part each. */
export function* executionTimeCsv(rows: ScoredRows): Generator<string> {
  yield 'file_name,execution_time\n';
  for (let row = 0; row < rows.length; row += 1)
    yield `${csvField(rows.fileName(row))},${pythonFloat(rows.executionTime(row))}\n`;
}
