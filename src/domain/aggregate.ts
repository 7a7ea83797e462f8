import type { FileMetadata } from './metadata.js';
import type { ResultsObject } from './results.js';
import { mean, median, OPERATIONS } from './pandas-reductions.js';
import type { Cell, ResultsColumns } from './results-csv.js';
import { dataRequirements } from './scoring.js';
import type { ScoredRows, Tally } from './tally.js';
import type { TaskConfig } from './task-config.js';

/** One scored file joined with its file metadata on file_name (inner join, as the original): its row of the tally. */
interface JoinedFile {
  readonly metadata: FileMetadata;
  readonly row: number;
}

/** submission_full_results.csv before formatting. */
export interface ResultsTable extends ResultsColumns {
  readonly rows: ReadonlyArray<readonly Cell[]>;
}

/** The results objects and the full results' columns: what must be known of every file before a line is written. */
export interface Aggregation extends ResultsColumns {
  readonly publicResults: ResultsObject;
  readonly privateResults: ResultsObject;
}

function metadataCell(value: unknown): Cell {
  if (value === undefined || value === null || (typeof value === 'number' && !Number.isFinite(value))) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value as string[];
  return JSON.stringify(value);
}

/** The task's file metadata, in its order, read once more at each call. */
export type MetadataReading = () => Iterable<FileMetadata> | AsyncIterable<FileMetadata>;

/**
 * The files joined to the tally's rows as they come in the task's order, so the results do not depend on which
 * container finished first: a file name's first file takes its row (the last scored under that name), later ones none.
 */
async function* joinedFiles(rows: ScoredRows, metadata: MetadataReading): AsyncGenerator<JoinedFile> {
  const rowsByName = new Map<string, number>();
  for (let row = 0; row < rows.length; row += 1) rowsByName.set(rows.fileName(row), row);
  for await (const file of metadata()) {
    const row = rowsByName.get(file.file_name);
    if (row === undefined) continue;
    rowsByName.delete(file.file_name);
    yield { metadata: file, row };
  }
}

/**
 * A private_results_columns name the joined rows know under another: the Hub's az-tilt task lists the runtime as
 * `run_time`, the name its template reads, where the scored column is `runtime`: dropping it would blank the
 * template's runtime column.
 */
const COLUMN_ALIASES: Readonly<Record<string, string>> = { run_time: 'runtime' };

/** A column of the joined table: the row's value, else data_requirements, else the metadata's; undefined: none. */
function joinedCell(rows: ScoredRows, file: JoinedFile, column: string): Cell | undefined {
  const value = rows.value(file.row, column);
  if (value !== undefined) return value;
  if (column === 'data_requirements') return rows.dataRequirements(file.row);
  return column in file.metadata ? metadataCell(file.metadata[column]) : undefined;
}

const cellOf = (rows: ScoredRows, file: JoinedFile, column: string): Cell | undefined =>
  joinedCell(rows, file, column) ?? joinedCell(rows, file, COLUMN_ALIASES[column] ?? column);

const nullIfNaN = (value: number): number | null => (Number.isFinite(value) ? value : null);
const isNumber = (value: Cell | undefined): value is number => typeof value === 'number' && Number.isFinite(value);

/** What a full-results column holds so far: whether it is there at all, and what pandas would make of it. */
interface ColumnKinds {
  present: boolean;
  numbers: boolean;
  others: boolean;
  nulls: boolean;
  fractions: boolean;
}

/** The values one results object is computed from. */
class ResultsValues {
  files = 0;
  readonly runtimes: number[] = [];
  readonly metrics = new Map<string, number[]>();

  add(runtime: number, valueOf: (key: string) => Cell | undefined, keys: readonly string[]): void {
    this.files += 1;
    if (Number.isFinite(runtime)) this.runtimes.push(runtime);
    for (const key of keys) {
      const value = valueOf(key);
      if (!isNumber(value)) continue;
      let values = this.metrics.get(key);
      if (values === undefined) this.metrics.set(key, (values = []));
      values.push(value);
    }
  }

  /**
   * The results object of contract §7. number_of_files counts the rows aggregated: the scored leaderboard files for
   * the public object, every scored file for the private one, as the Hub's leaderboard counts them. mean_runtime and
   * median_runtime come from the execution times whether or not the task lists runtime as a metric: the leaderboard
   * shows them for every task. NaN becomes null: the API's strict JSON refuses it.
   */
  results(config: TaskConfig, functionParameters: readonly string[]): ResultsObject {
    const metrics: Record<string, number | null> = {};
    for (const key of config.scoreKeys) {
      const values = this.metrics.get(key) ?? [];
      for (const operation of config.metricsOperations[key] ?? []) {
        const compute = OPERATIONS[operation];
        if (compute) metrics[`${operation}_${key}`] = nullIfNaN(compute(values));
      }
    }
    return {
      module: 'submission',
      number_of_files: this.files,
      mean_runtime: nullIfNaN(mean(this.runtimes)),
      median_runtime: nullIfNaN(median(this.runtimes)),
      function_parameters: [...functionParameters],
      data_requirements: dataRequirements(config),
      metrics,
    };
  }
}

/**
 * Folds the joined files, in the task's order, into everything the results are made of but the full results' lines
 * (made on a second reading): a number per metric per file, no row kept.
 */
class ResultsFold {
  private readonly leaderboard = new ResultsValues();
  private readonly all = new ResultsValues();
  /** private_results_columns in their order, once each. */
  private readonly kinds = new Map<string, ColumnKinds>();

  constructor(
    private readonly config: TaskConfig,
    private readonly tally: Tally,
  ) {
    for (const column of config.privateResultsColumns)
      this.kinds.set(column, { present: false, numbers: false, others: false, nulls: false, fractions: false });
  }

  add(file: JoinedFile): void {
    const { rows } = this.tally;
    const valueOf = (key: string) => joinedCell(rows, file, key);
    const runtime = rows.executionTime(file.row);
    this.all.add(runtime, valueOf, this.config.scoreKeys);
    if (file.metadata.include_on_leaderboard === true) this.leaderboard.add(runtime, valueOf, this.config.scoreKeys);
    for (const [column, kinds] of this.kinds) {
      const cell = cellOf(rows, file, column);
      if (cell !== undefined) kinds.present = true;
      if (typeof cell === 'number') {
        kinds.numbers = true;
        if (!Number.isInteger(cell)) kinds.fractions = true;
      } else if (cell === null || cell === undefined) kinds.nulls = true;
      else kinds.others = true;
    }
  }

  /**
   * The results objects and the full results' columns: private_results_columns in their order, names that are not
   * columns (nor aliases of one) dropped, as the Hub's templates expect. A pandas column mixing numbers with NaN, or
   * holding metrics, is float64.
   */
  aggregation(): Aggregation {
    const functionParameters = this.tally.functionParameters ?? [];
    const columns = [...this.kinds].filter(([, kinds]) => kinds.present).map(([column]) => column);
    const floatColumns = new Set(
      columns.filter((column) => {
        const scored = COLUMN_ALIASES[column] ?? column;
        if (scored === 'runtime' || this.config.scoreKeys.includes(scored)) return true;
        const kinds = this.kinds.get(column) as ColumnKinds;
        return kinds.numbers && !kinds.others && (kinds.nulls || kinds.fractions);
      }),
    );
    return {
      publicResults: this.leaderboard.results(this.config, functionParameters),
      privateResults: this.all.results(this.config, functionParameters),
      columns,
      floatColumns,
    };
  }
}

/**
 * Everything the results files are made of, from the finished tally and the task's file metadata read twice: the
 * first reading folds the results objects and the full results' columns (a column's float-ness needs every file
 * before a line is written), `rows` reads again for each joined file's line of the full results, as it goes. A job
 * of 10,000 files never holds its table.
 */
export async function aggregate(
  config: TaskConfig,
  tally: Tally,
  metadata: MetadataReading,
): Promise<{ readonly aggregation: Aggregation; readonly rows: () => AsyncGenerator<Cell[]> }> {
  const fold = new ResultsFold(config, tally);
  for await (const file of joinedFiles(tally.rows, metadata)) fold.add(file);
  const aggregation = fold.aggregation();
  async function* rows(): AsyncGenerator<Cell[]> {
    for await (const file of joinedFiles(tally.rows, metadata))
      yield aggregation.columns.map((column) => cellOf(tally.rows, file, column) ?? null);
  }
  return { aggregation, rows };
}
