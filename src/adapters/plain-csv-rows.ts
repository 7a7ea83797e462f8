import { isAscii } from 'node:buffer';
import { type FileHandle, open } from 'node:fs/promises';
import { cellNumber, type CsvCells, plainDecimal } from '../domain/csv-cells.js';
import type { CsvScan } from '../ports/file-formats.js';

/**
 * Bytes read at a time: the reader holds this much of a file, and one unfinished row; a smaller file, only itself (a
 * megabyte's buffer per tiny file made the worker's external memory, and with it its scavenges, grow with its pace).
 */
const CHUNK_BYTES = 1024 * 1024;
const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

/**
 * Whether a file is plain: ASCII only, no quote anywhere. Such a file has a simple grammar under the parser's rules
 * (fast-csv: delimiter `,`, quote `"`, trim), which `PlainCsvScan` follows: without a quote no value is quoted, and
 * without a byte past ASCII there is no byte-order mark (which fast-csv drops) and no whitespace the trim and the
 * parser's `\s` could see differently.
 */
export async function isPlainCsv(file: string): Promise<boolean> {
  const handle = await open(file);
  try {
    const { size } = await handle.stat();
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, size + 1));
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return true;
      const chunk = buffer.subarray(0, bytesRead);
      if (!isAscii(chunk) || chunk.includes(QUOTE)) return false;
    }
  } finally {
    await handle.close();
  }
}

/** Whitespace inside a line as String.prototype.trim sees it in ASCII (line breaks end the line before). */
const isBlank = (byte: number) => byte === 0x20 || byte === 0x09 || byte === 0x0b || byte === 0x0c;

/**
 * The rows of a plain file (see isPlainCsv), exactly as fast-csv reads it with `trim`, blank rows dropped as the
 * reader of csv-rows.ts drops them: lines end at \r\n, \n or \r; a line that is only whitespace is no row; any other
 * line is its values between commas, each trimmed. It scans the file's bytes and makes no string, array or object per
 * row: the scan is itself the current row (CsvCells), a cell's text made only when asked for, its number read
 * straight from the bytes when it is a plain decimal. Each row is valid until the next is asked for. A line longer
 * than `maxRowChars` fails the reading, as the general reader's guard does.
 */
export class PlainCsvScan implements CsvScan, CsvCells {
  private handle: Promise<FileHandle> | undefined;
  /**
   * One chunk, after what is left of the previous one: the start of its unfinished line, at most a row. Sized at the
   * first read: the whole of a smaller file.
   */
  private buffer = Buffer.alloc(0);
  private filled = 0;
  /** Where the next line starts in `buffer`. */
  private position = 0;
  private ended = false;
  private closed = false;
  /** The current row: where its line starts and ends, and where its commas are. */
  private lineStart = 0;
  private lineEnd = 0;
  private commas: Int32Array = new Int32Array(16);
  private cellStart = 0;
  private cellEnd = 0;
  length = 0;

  constructor(
    private readonly file: string,
    private readonly maxRowChars: number,
    private readonly describeError: (error: Error) => Error,
  ) {}

  next(): CsvCells | undefined | Promise<CsvCells | undefined> {
    try {
      if (this.cutRow()) return this;
    } catch (error) {
      throw this.describeError(error as Error);
    }
    if (this.ended) return undefined;
    return this.read().then(
      () => this.next(),
      (error: Error) => {
        throw this.describeError(error);
      },
    );
  }

  close(): void {
    this.closed = true;
    this.handle?.then((handle) => handle.close()).catch(() => undefined);
  }

  text(cell: number): string {
    this.findCell(cell);
    return this.buffer.toString('latin1', this.cellStart, this.cellEnd);
  }

  number(cell: number): number | undefined {
    this.findCell(cell);
    const { buffer, cellStart, cellEnd } = this;
    return plainDecimal(buffer, cellStart, cellEnd) ?? cellNumber(buffer.toString('latin1', cellStart, cellEnd));
  }

  /** Sets cellStart and cellEnd around a cell's bytes, trimmed. */
  private findCell(cell: number): void {
    const { buffer } = this;
    let start = cell === 0 ? this.lineStart : (this.commas[cell - 1] as number) + 1;
    let end = cell === this.length - 1 ? this.lineEnd : (this.commas[cell] as number);
    while (start < end && isBlank(buffer[start] as number)) start += 1;
    while (end > start && isBlank(buffer[end - 1] as number)) end -= 1;
    this.cellStart = start;
    this.cellEnd = end;
  }

  /**
   * Makes the next row of what has been read the current one; false when what has been read holds no more whole line
   * (or, once the file has ended, no more line).
   */
  private cutRow(): boolean {
    const { buffer, filled, maxRowChars } = this;
    for (;;) {
      const start = this.position;
      const limit = Math.min(filled, start + maxRowChars + 1);
      let commas = 0;
      let at = start;
      for (; at < limit; at += 1) {
        const byte = buffer[at] as number;
        if (byte === COMMA) {
          if (commas === this.commas.length) this.commas = grown(this.commas);
          this.commas[commas] = at;
          commas += 1;
        } else if (byte === LF || byte === CR) break;
      }
      if (at - start > maxRowChars) throw new Error(`a row is longer than ${maxRowChars} characters`);
      if (at === filled && (!this.ended || at === start)) return false;
      // A \r\n leaves an empty line between its two breaks, which is no row, like any blank line.
      this.position = at === filled ? at : at + 1;
      if (commas === 0 && isBlankLine(buffer, start, at)) continue;
      this.lineStart = start;
      this.lineEnd = at;
      this.length = commas + 1;
      return true;
    }
  }

  private async read(): Promise<void> {
    if (this.closed) throw new Error('the reader is closed');
    this.handle ??= open(this.file);
    const handle = await this.handle;
    const full = CHUNK_BYTES + this.maxRowChars + 1;
    const rest = this.filled - this.position;
    // A file that has grown since its size was read may fill the buffer with one row: it then takes the full size.
    if (this.buffer.length === 0 || (rest === this.buffer.length && this.buffer.length < full)) {
      const size = this.buffer.length === 0 ? Math.min(full, (await handle.stat()).size + 1) : full;
      const larger = Buffer.allocUnsafe(size);
      this.buffer.copy(larger, 0, this.position, this.filled);
      this.buffer = larger;
    } else this.buffer.copyWithin(0, this.position, this.filled);
    const { buffer } = this;
    const { bytesRead } = await handle.read(buffer, rest, buffer.length - rest, null);
    this.position = 0;
    this.filled = rest + bytesRead;
    if (bytesRead === 0) {
      this.ended = true;
      await handle.close();
    }
  }
}

function grown(array: Int32Array): Int32Array {
  const larger = new Int32Array(array.length * 2);
  larger.set(array);
  return larger;
}

function isBlankLine(buffer: Buffer, start: number, end: number): boolean {
  for (let at = start; at < end; at += 1) if (!isBlank(buffer[at] as number)) return false;
  return true;
}
