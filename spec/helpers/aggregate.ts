import { aggregate as aggregateFiles, type Aggregation, type ResultsTable } from '../../src/domain/aggregate.js';
import { fullResultsHeader, fullResultsLine } from '../../src/domain/results-csv.js';
import type { FileMetadata } from '../../src/domain/metadata.js';
import type { Tally } from '../../src/domain/tally.js';
import type { TaskConfig } from '../../src/domain/task-config.js';

/** The aggregation of a list of file metadata given at once, with its full results' table collected. */
export async function aggregate(
  config: TaskConfig,
  tally: Tally,
  fileMetadata: readonly FileMetadata[],
): Promise<Aggregation & { readonly fullResults: ResultsTable }> {
  const { aggregation, rows } = await aggregateFiles(config, tally, () => fileMetadata);
  const table: ResultsTable['rows'][number][] = [];
  for await (const cells of rows()) table.push(cells);
  return { ...aggregation, fullResults: { ...aggregation, rows: table } };
}

/** submission_full_results.csv of a whole table. */
export function fullResultsCsv(table: ResultsTable): string {
  return fullResultsHeader(table) + table.rows.map((cells, index) => fullResultsLine(table, index, cells)).join('');
}
