import {
  type Aggregation,
  fullResultsCells,
  fullResultsHeader,
  fullResultsLine,
  type JoinedFile,
  joinByName,
  ResultsFold,
  type ResultsTable,
} from '../../src/domain/aggregate.js';
import type { FileMetadata } from '../../src/domain/metadata.js';
import type { Tally } from '../../src/domain/tally.js';
import type { TaskConfig } from '../../src/domain/task-config.js';

// The finish (operators/finish-job.ts) streams these steps over the file list; specs take them over a list at once.

/** Everything the results files are made of, from the finished tally and the task's file metadata. */
export function aggregate(
  config: TaskConfig,
  tally: Tally,
  fileMetadata: Iterable<FileMetadata>,
): Aggregation & { readonly fullResults: ResultsTable } {
  const join = joinByName(tally.rows);
  const joined: JoinedFile[] = [];
  for (const metadata of fileMetadata) {
    const file = join(metadata);
    if (file !== undefined) joined.push(file);
  }
  const fold = new ResultsFold(config, tally);
  for (const file of joined) fold.add(file);
  const aggregation = fold.aggregation();
  const rows = joined.map((file) => fullResultsCells(aggregation, tally.rows, file));
  return { ...aggregation, fullResults: { ...aggregation, rows } };
}

/** submission_full_results.csv of a whole table. */
export function fullResultsCsv(table: ResultsTable): string {
  return fullResultsHeader(table) + table.rows.map((cells, index) => fullResultsLine(table, index, cells)).join('');
}
