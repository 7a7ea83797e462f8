import { createReadStream } from 'node:fs';
import { pipeline, Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { parse } from 'fast-csv';
import { cellTexts, type CsvCells, textCells } from '../domain/csv-cells.js';
import type { CsvRows, CsvScan } from '../ports/file-formats.js';
import { isPlainCsv, PlainCsvScan } from './plain-csv-rows.js';

/**
 * No CSV row of a time series or of a few scalars comes near this, header included. The parser re-reads an unfinished
 * row from its start with every chunk and holds all of it: one endless row written by a submission, or one value in
 * quotes spanning many lines, would cost the worker quadratic time and memory. Bounding the row bounds each value in
 * it, and keeps an unfinished row within about one chunk of the file stream (64 KiB), so reading stays linear.
 */
export const MAX_ROW_CHARS = 64 * 1024;

const enum At {
  FieldStart,
  Unquoted,
  Quoted,
  /** A quote inside a quoted value: the first of an escaped pair, or its end. */
  QuoteInQuoted,
  AfterQuoted,
}

const WHITESPACE = /\s/;

/**
 * Follows rows as the parser (fast-csv: delimiter `,`, quote and escape `"`) finds them and counts the characters of
 * the current one. A value is quoted when its first character other than whitespace (\s, line breaks aside) is a
 * quote; inside it, a line break belongs to the value and `""` is a quote; outside, \r and \n end the row.
 */
export class RowLengthCheck {
  private at = At.FieldStart;
  private row = 0;

  constructor(private readonly maxChars: number) {}

  /** Feeds the next decoded text; says what is wrong once a row runs past the limit (its line break not counted). */
  feed(text: string): string | undefined {
    for (const char of text) {
      this.step(char);
      if (this.row > this.maxChars) return `a row is longer than ${this.maxChars} characters`;
    }
    return undefined;
  }

  private step(char: string): void {
    this.row += 1;
    if (this.at === At.Quoted) {
      if (char === '"') this.at = At.QuoteInQuoted;
      return;
    }
    if (this.at === At.QuoteInQuoted) {
      this.at = char === '"' ? At.Quoted : At.AfterQuoted;
      if (this.at === At.Quoted) return;
    }
    if (char === '\n' || char === '\r') {
      this.at = At.FieldStart;
      this.row = 0;
    } else if (char === ',') this.at = At.FieldStart;
    else if (this.at === At.FieldStart)
      this.at = char === '"' ? At.Quoted : WHITESPACE.test(char) ? At.FieldStart : At.Unquoted;
  }
}

/** Passes the bytes through unchanged, failing once a row runs past `maxChars` (decoded as the parser decodes). */
function rowLengthGuard(maxChars: number): Transform {
  const decoder = new StringDecoder('utf8');
  const check = new RowLengthCheck(maxChars);
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const problem = check.feed(decoder.write(chunk));
      done(problem === undefined ? null : new Error(problem), chunk);
    },
  });
}

/**
 * Reads rows straight from the parser's buffer and waits only when it is empty: several times faster than the
 * stream's async iterator, which costs a few promises per row.
 */
function parsedCsvRows(file: string, describeError: (error: Error) => Error): CsvRows {
  // Blank lines are skipped as pandas skips them; a line of empty cells is a row of NaN, as in pandas.
  const parser = parse<string[], string[]>({ headers: false, trim: true });
  const source = createReadStream(file);
  let failure: Error | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  parser.on('readable', notify);
  parser.on('end', () => {
    ended = true;
    notify();
  });
  // pipeline, unlike pipe, hands a read error on to the parser's side, so a reader never waits forever.
  pipeline(source, rowLengthGuard(MAX_ROW_CHARS), parser, (error) => {
    if (error && !ended) failure = error;
    notify();
  });
  return {
    async next() {
      for (;;) {
        if (failure) throw describeError(failure);
        const row = parser.read() as string[] | null;
        if (row !== null) {
          if (row.length > 0) return row;
          continue;
        }
        if (ended) return undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
    close() {
      source.destroy();
      parser.destroy();
    },
  };
}

/** Rows of a CSV file, plain or not, each as the reader makes it. */
interface Reader<Row> {
  next(): Row | undefined | Promise<Row | undefined>;
  close(): void;
}

/**
 * The reader `make` gives for a file, told whether the file is plain (ASCII, no quotes: what pandas writes for
 * numbers and timestamps), which PlainCsvScan reads, giving the rows fast-csv gives several times faster.
 */
function chosenReader<Row>(
  file: string,
  describeError: (error: Error) => Error,
  make: (plain: boolean) => Reader<Row>,
): Reader<Row> {
  let reader: Reader<Row> | undefined;
  let closed = false;
  const choose = async (): Promise<Reader<Row>> => {
    const plain = await isPlainCsv(file).catch((error: unknown) => {
      throw describeError(error as Error);
    });
    reader = make(plain);
    if (closed) reader.close();
    return reader;
  };
  return {
    next: () => (reader === undefined ? choose().then((chosen) => chosen.next()) : reader.next()),
    close() {
      closed = true;
      reader?.close();
    },
  };
}

/** A CSV file's rows as texts, read as fast-csv reads them (see parsedCsvRows). */
export function openCsvRows(file: string, describeError: (error: Error) => Error): CsvRows {
  const reader = chosenReader<string[]>(file, describeError, (plain) => {
    if (!plain) return parsedCsvRows(file, describeError);
    const scan = new PlainCsvScan(file, MAX_ROW_CHARS, describeError);
    return {
      next: async () => {
        const row = await scan.next();
        return row && cellTexts(row);
      },
      close: () => scan.close(),
    };
  });
  return { next: async () => reader.next(), close: () => reader.close() };
}

/** The rows openCsvRows gives, as CsvScan. */
export function scanCsvRows(file: string, describeError: (error: Error) => Error): CsvScan {
  return chosenReader<CsvCells>(file, describeError, (plain) => {
    if (plain) return new PlainCsvScan(file, MAX_ROW_CHARS, describeError);
    const rows = parsedCsvRows(file, describeError);
    return {
      next: async () => {
        const row = await rows.next();
        return row && textCells(row);
      },
      close: () => rows.close(),
    };
  });
}
