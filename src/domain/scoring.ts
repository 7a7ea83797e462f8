import { type FileFailure, WorkerError } from './errors.js';
import type { FileScoreRow } from './file-run.js';
import type { ComparisonType, TaskConfig } from './task-config.js';

/**
 * The per-file metrics of contract §7 and the comparison each applies to. absolute_error and error on a time series
 * would be a whole series instead of a number, and mean_absolute_error of a scalar has no meaning: task loading
 * refuses those pairs (op_500).
 */
export const METRICS = {
  mean_absolute_error: 'time_series',
  absolute_error: 'scalar',
  error: 'scalar',
} as const satisfies Record<string, ComparisonType>;

const SCALAR_METRICS: Readonly<Record<string, (output: number, reference: number) => number>> = {
  absolute_error: (output, reference) => Math.abs(output - reference),
  error: (output, reference) => output - reference,
};

/** A per-file outcome: the row of metrics, or why the file has none. */
export type Scored =
  { readonly ok: true; readonly row: FileScoreRow } | { readonly ok: false; readonly failure: FileFailure };

/** Summation with Neumaier's compensation, so long series and many files add up without drift. */
export class PreciseSum {
  private sum = 0;
  private compensation = 0;

  add(value: number): void {
    const total = this.sum + value;
    this.compensation += Math.abs(this.sum) >= Math.abs(value) ? this.sum - total + value : value - total + this.sum;
    this.sum = total;
  }

  get value(): number {
    return this.sum + this.compensation;
  }
}

// pandas' default missing-value markers (read_csv na_values).
const MISSING = new Set([
  '',
  '#N/A',
  '#N/A N/A',
  '#NA',
  '-1.#IND',
  '-1.#QNAN',
  '-NaN',
  '-nan',
  '1.#IND',
  '1.#QNAN',
  '<NA>',
  'N/A',
  'NA',
  'NULL',
  'NaN',
  'None',
  'n/a',
  'nan',
  'null',
]);
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INFINITE = /^([+-]?)inf(?:inity)?$/i;

/**
 * A CSV cell as pandas reads a float column: a number (±Infinity included), NaN for a missing value, undefined
 * for text. JavaScript's Number() alone would read "" as 0 and "0x10" as 16.
 */
export function cellNumber(text: string | undefined): number | undefined {
  const cell = (text ?? '').trim();
  if (MISSING.has(cell)) return NaN;
  if (DECIMAL.test(cell)) return Number(cell);
  const infinite = INFINITE.exec(cell);
  if (infinite) return infinite[1] === '-' ? -Infinity : Infinity;
  if (cell === 'True' || cell === 'TRUE' || cell === 'true') return 1;
  if (cell === 'False' || cell === 'FALSE' || cell === 'false') return 0;
  return undefined;
}

function quoted(text: string | undefined): string {
  const cell = (text ?? '').trim();
  return cell === '' ? 'empty' : JSON.stringify(cell.length > 40 ? `${cell.slice(0, 40)}…` : cell);
}

/** What is wrong with an output value, or undefined when it is a finite number. */
function badValue(text: string | undefined): string | undefined {
  const value = cellNumber(text);
  if (value === undefined) return `${quoted(text)}, not a number`;
  if (Number.isNaN(value)) return `missing (${quoted(text)})`;
  if (!Number.isFinite(value)) return 'infinite';
  return undefined;
}

export const dataRequirements = (config: TaskConfig): string[] => ['time_series', ...config.allowableKwargs];

function scoreRow(
  config: TaskConfig,
  fileName: string,
  runtime: number,
  valueOf: (metric: string, reference: string) => number,
): Scored {
  const values: Record<string, number> = {};
  for (const metric of config.performanceMetrics) {
    if (metric === 'runtime') {
      values['runtime'] = runtime;
      continue;
    }
    for (const reference of config.referencesCompare) {
      const value = valueOf(metric, reference);
      if (!Number.isFinite(value)) {
        return {
          ok: false,
          failure: {
            code: config.comparisonType === 'scalar' ? 'op_9' : 'op_8',
            message: `${metric}_${reference} is not finite (${value})`,
          },
        };
      }
      values[`${metric}_${reference}`] = value;
    }
  }
  return { ok: true, row: { file_name: fileName, data_requirements: dataRequirements(config), values } };
}

/**
 * One file of a time_series task, fed row by row in step through both files, so neither series is ever held:
 * the output (the wrapper's CSV: index, one value column) is squeezed to its value column and takes the
 * reference's index positionally (contract §7). Pairs whose reference is missing are skipped, as pandas does; an
 * output value that is missing, infinite or not a number where the reference has one fails the file (op_8): skipping
 * it would reward leaving out the hard parts. A reference that is not a
 * two-column CSV of numbers is the task's fault and breaks the job (wr_9).
 */
export class TimeSeriesComparison {
  private outputValues = 0;
  private referenceValues = 0;
  private compared = 0;
  private readonly absoluteErrors = new PreciseSum();
  private failure: FileFailure | undefined;

  constructor(
    private readonly fileName: string,
    outputHeader: readonly string[] | undefined,
    referenceHeader: readonly string[] | undefined,
  ) {
    if (referenceHeader?.length !== 2) {
      throw new WorkerError(
        'wr_9',
        `the reference for ${fileName} must be a CSV with an index and one value column, it has ${referenceHeader?.length ?? 0} column(s)`,
      );
    }
    if (outputHeader === undefined) this.failure = { code: 'op_8', message: 'the output file is empty' };
    else if (outputHeader.length !== 2) {
      this.failure = {
        code: 'op_8',
        message: `the output has ${outputHeader.length - 1} value column(s); a time series needs exactly one (besides the index)`,
      };
    }
  }

  /**
   * The next data row of each file (undefined once that file has ended). Returns false once the file has failed,
   * so the caller can stop reading; otherwise both files should be read to their ends.
   */
  add(output: readonly string[] | undefined, reference: readonly string[] | undefined): boolean {
    if (this.failure) return false;
    if (reference) {
      this.referenceValues += 1;
      if (reference.length !== 2) {
        throw new WorkerError(
          'wr_9',
          `the reference for ${this.fileName}, line ${this.referenceValues + 1}, has ${reference.length} cells instead of 2`,
        );
      }
    }
    if (output) {
      this.outputValues += 1;
      if (output.length !== 2) {
        this.failure = {
          code: 'op_8',
          message: `output line ${this.outputValues + 1} has ${output.length} cells instead of 2`,
        };
        return false;
      }
    }
    if (!output || !reference) return true;
    const expected = cellNumber(reference[1]);
    if (expected === undefined || expected === Infinity || expected === -Infinity) {
      throw new WorkerError(
        'wr_9',
        `the reference for ${this.fileName}, line ${this.referenceValues + 1}: ${quoted(reference[1])} is not a number`,
      );
    }
    if (Number.isNaN(expected)) return true;
    const problem = badValue(output[1]);
    if (problem !== undefined) {
      this.failure = {
        code: 'op_8',
        message: `output line ${this.outputValues + 1} (${quoted(output[0])}) is ${problem}; the reference has ${expected}`,
      };
      return false;
    }
    this.absoluteErrors.add(Math.abs(Number(cellNumber(output[1])) - expected));
    this.compared += 1;
    return true;
  }

  /** The file's row once both files have been read to their ends (or the failure that stopped the reading). */
  result(config: TaskConfig, runtime: number): Scored {
    if (this.failure) return { ok: false, failure: this.failure };
    if (this.outputValues !== this.referenceValues) {
      return {
        ok: false,
        failure: {
          code: 'op_8',
          message: `the output has ${this.outputValues} values, the reference ${this.referenceValues}`,
        },
      };
    }
    if (this.compared === 0) {
      return {
        ok: false,
        failure: { code: 'wr_9', message: `the reference for ${this.fileName} has no values to compare with` },
      };
    }
    const meanAbsoluteError = this.absoluteErrors.value / this.compared;
    return scoreRow(config, this.fileName, runtime, (metric) => {
      if (metric !== 'mean_absolute_error')
        throw new WorkerError('op_500', `metric ${metric} does not apply to time series`);
      return meanAbsoluteError;
    });
  }
}

/** The first two rows of a CSV file: its header and first data row, each undefined when the file is shorter. */
export interface CsvHead {
  readonly header: readonly string[] | undefined;
  readonly row: readonly string[] | undefined;
}

/**
 * Where a scalar task's answer for one output comes from: a column of that name in the first row of the reference
 * file (the develop branch's tasks), else the system-metadata column of that name (main's).
 */
export function scalarReference(
  reference: string,
  referenceFile: CsvHead,
  system: Readonly<Record<string, unknown>> | undefined,
): unknown {
  const column = referenceFile.header?.indexOf(reference) ?? -1;
  return column >= 0 ? referenceFile.row?.[column] : system?.[reference];
}

function referenceNumber(value: unknown): number | undefined {
  const number = typeof value === 'number' ? value : typeof value === 'string' ? cellNumber(value) : undefined;
  return number !== undefined && Number.isFinite(number) ? number : undefined;
}

/**
 * One file of a scalar task: the output's first row (after the index), value i answering references_compare[i].
 * A missing, infinite or non-numeric output value fails the file with op_9; a file whose answer is missing fails
 * with wr_9, the task's fault, reported on that file alone.
 */
export function scoreScalar(
  config: TaskConfig,
  fileName: string,
  runtime: number,
  output: CsvHead,
  answerOf: (reference: string) => unknown,
): Scored {
  if (output.row === undefined)
    return { ok: false, failure: { code: 'op_9', message: 'the output has no row of values' } };
  const outputs: Record<string, number> = {};
  const answers: Record<string, number> = {};
  const returned = output.row.length - 1;
  for (const [index, reference] of config.referencesCompare.entries()) {
    const cell = output.row[index + 1];
    if (cell === undefined) {
      return {
        ok: false,
        failure: {
          code: 'op_9',
          message: `no output value for "${reference}": the function returned ${returned} value(s), the task expects ${config.referencesCompare.length}`,
        },
      };
    }
    const problem = badValue(cell);
    if (problem !== undefined)
      return { ok: false, failure: { code: 'op_9', message: `the output value for "${reference}" is ${problem}` } };
    outputs[reference] = Number(cellNumber(cell));
    const answer = referenceNumber(answerOf(reference));
    if (answer === undefined)
      return {
        ok: false,
        failure: { code: 'wr_9', message: `the task has no numeric reference value "${reference}" for ${fileName}` },
      };
    answers[reference] = answer;
  }
  return scoreRow(config, fileName, runtime, (metric, reference) => {
    const compute = SCALAR_METRICS[metric];
    if (compute === undefined) throw new WorkerError('op_500', `metric ${metric} does not apply to scalars`);
    return compute(outputs[reference] ?? NaN, answers[reference] ?? NaN);
  });
}
