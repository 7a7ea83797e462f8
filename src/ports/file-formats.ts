import type { TestLink } from '../domain/metadata.js';

/** Rows of a CSV file one at a time, header included; `undefined` once the file has ended. */
export interface CsvRows {
  next(): Promise<string[] | undefined>;
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
}
