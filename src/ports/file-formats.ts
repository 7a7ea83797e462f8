import type { CsvCells } from '../domain/csv-cells.js';
import type { TestLink } from '../domain/metadata.js';

/** Rows of a CSV file one at a time, header included; `undefined` once the file has ended. */
export interface CsvRows {
  next(): Promise<string[] | undefined>;
  close(): void;
}

/**
 * Rows of a CSV file for a long read, header included, each valid only until the next is asked for; `undefined` once
 * the file has ended. `next` returns a promise only when it has to read more of the file, so a caller can read rows
 * already read without a turn of the event loop each.
 */
export interface CsvScan {
  next(): CsvCells | undefined | Promise<CsvCells | undefined>;
  close(): void;
}

/** The formats a job's files come in, read from the workspace: the submission archive and the task's CSV files. */
export interface FileFormats {
  /** The submission (a zip, or a folder for local runs) into `destination`, code at its root; op_1 when unusable. */
  extractSubmission(source: string, destination: string): Promise<void>;
  /** file_test_link.csv; wr_6 when malformed, wr_8 when it lists no files. */
  readTestLinks(file: string): Promise<TestLink[]>;
  /** A CSV file row by row, holding one row at a time; a read or parse error rejects `next` with `describeError`'s. */
  openCsv(file: string, describeError: (error: Error) => Error): CsvRows;
  /** The same rows as `openCsv`, as CsvScan: for reading a whole series. */
  scanCsv(file: string, describeError: (error: Error) => Error): CsvScan;
}
