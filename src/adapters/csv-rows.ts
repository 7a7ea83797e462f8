import { createReadStream } from 'node:fs';
import { pipeline, Transform } from 'node:stream';
import { parse } from 'fast-csv';
import type { CsvRows } from '../ports/file-formats.js';

/**
 * No CSV row of a time series or of a few scalars comes near this. The parser re-reads an unfinished row from its
 * start with every chunk, so one endless line written by a submission would cost quadratic time in the worker.
 */
const MAX_LINE_BYTES = 1024 * 1024;

/**
 * Passes the bytes through, failing once a line runs past `maxBytes` without a line break. Only the line that spans
 * chunks is counted: the file stream's chunks (64 KiB) are far smaller than the limit.
 */
function lineLengthGuard(maxBytes: number): Transform {
  let run = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const first = chunk.indexOf(0x0a);
      const reached = run + (first < 0 ? chunk.length : first);
      run = first < 0 ? reached : chunk.length - chunk.lastIndexOf(0x0a) - 1;
      done(reached > maxBytes ? new Error(`a line is longer than ${maxBytes} bytes`) : null, chunk);
    },
  });
}

/**
 * Reads rows straight from the parser's buffer and waits only when it is empty: several times faster than the
 * stream's async iterator, which costs a few promises per row.
 */
export function openCsvRows(file: string, describeError: (error: Error) => Error): CsvRows {
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
  pipeline(source, lineLengthGuard(MAX_LINE_BYTES), parser, (error) => {
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
