import { cellNumber, type CsvCells, textCells } from './csv-cells.js';
import { type FileFailure, WorkerError } from './errors.js';
import type { FileScoreRow } from './file-run.js';
import type { ComparisonType, TaskConfig } from './task-config.js';

export { cellNumber } from './csv-cells.js';

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

function quoted(text: string | undefined): string {
  const cell = (text ?? '').trim();
  return cell === '' ? 'empty' : JSON.stringify(cell.length > 40 ? `${cell.slice(0, 40)}…` : cell);
}

/** What is wrong with an output value (its number as cellNumber reads `text`), or undefined when it is finite. */
function badValue(value: number | undefined, text: string | undefined): string | undefined {
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
   * an output row past the reference's last among the reasons, so the caller stops reading; otherwise both files
   * should be read to their ends.
   */
  add(output: readonly string[] | undefined, reference: readonly string[] | undefined): boolean {
    return this.addCells(output && textCells(output), reference && textCells(reference));
  }

  /** `add` for rows as a reader hands them out, read only as far as the comparison needs. */
  addCells(output: CsvCells | undefined, reference: CsvCells | undefined): boolean {
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
    if (output && !reference) {
      // Whatever follows cannot make the file scorable: no reason to read an output longer than the reference.
      this.failure = {
        code: 'op_8',
        message: `the output has more values than the reference's ${this.referenceValues}`,
      };
      return false;
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
    const expected = reference.number(1);
    if (expected === undefined || expected === Infinity || expected === -Infinity) {
      throw new WorkerError(
        'wr_9',
        `the reference for ${this.fileName}, line ${this.referenceValues + 1}: ${quoted(reference.text(1))} is not a number`,
      );
    }
    if (Number.isNaN(expected)) return true;
    const value = output.number(1);
    if (value === undefined || !Number.isFinite(value)) {
      this.failure = {
        code: 'op_8',
        message: `output line ${this.outputValues + 1} (${quoted(output.text(0))}) is ${badValue(value, output.text(1))}; the reference has ${expected}`,
      };
      return false;
    }
    this.absoluteErrors.add(Math.abs(value - expected));
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

/**
 * The most bytes a time-series output may take to be read: many times its reference's, so any way of writing the same
 * values fits (longer timestamps, more digits), yet bounded by the task's own data rather than by what was written.
 */
export const outputByteLimit = (referenceBytes: number): number => 32 * referenceBytes + 1024 ** 2;

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
    const value = cellNumber(cell);
    const problem = badValue(value, cell);
    if (problem !== undefined)
      return { ok: false, failure: { code: 'op_9', message: `the output value for "${reference}" is ${problem}` } };
    outputs[reference] = Number(value);
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
