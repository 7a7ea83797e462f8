import { isAscii } from 'node:buffer';
import { type FileHandle, open } from 'node:fs/promises';
import type { CsvRows } from '../ports/file-formats.js';

/** Bytes read at a time: the reader holds about this much of a file, and one unfinished row. */
const CHUNK_BYTES = 256 * 1024;
const QUOTE = 0x22;

function indexOrLength(text: string, search: string, from: number): number {
  const index = text.indexOf(search, from);
  return index === -1 ? text.length : index;
}

/**
 * Whether a file is plain: ASCII only, no quote anywhere. Such a file has a simple grammar under the parser's rules
 * (fast-csv: delimiter `,`, quote `"`, trim), which `PlainCsvRows` follows: without a quote no value is quoted, and
 * without a byte past ASCII there is no byte-order mark (which fast-csv drops) and no whitespace the trim and the
 * parser's `\s` could see differently.
 */
export async function isPlainCsv(file: string): Promise<boolean> {
  const handle = await open(file);
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, null);
      if (bytesRead === 0) return true;
      const chunk = buffer.subarray(0, bytesRead);
      if (!isAscii(chunk) || chunk.includes(QUOTE)) return false;
    }
  } finally {
    await handle.close();
  }
}

/**
 * The rows of a plain file (see isPlainCsv), exactly as fast-csv reads it with `trim`, blank rows dropped as the
 * reader of csv-rows.ts drops them: lines end at \r\n, \n or \r; a line that is only whitespace is no row; any other
 * line is its values between commas, each trimmed. Several times faster than the general parser, which makes an
 * object per character. A line longer than `maxRowChars` fails the reading, as the general reader's guard does.
 */
export class PlainCsvRows implements CsvRows {
  private handle: Promise<FileHandle> | undefined;
  private readonly buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  /** Text read but not yet cut into rows: the rest of the last chunk, from the start of its unfinished line. */
  private text = '';
  private position = 0;
  /** Where the next \n and the next \r are in `text` (its length when it has none): each is looked for once. */
  private nextLf = -1;
  private nextCr = -1;
  private ended = false;
  private closed = false;

  constructor(
    private readonly file: string,
    private readonly maxRowChars: number,
    private readonly describeError: (error: Error) => Error,
  ) {}

  async next(): Promise<string[] | undefined> {
    try {
      for (;;) {
        const row = this.cutRow();
        if (row === undefined) {
          if (this.ended) return undefined;
          await this.read();
        } else if (row.trim() !== '') {
          const values = row.split(',');
          for (let index = 0; index < values.length; index += 1) values[index] = (values[index] as string).trim();
          return values;
        }
      }
    } catch (error) {
      throw this.describeError(error as Error);
    }
  }

  close(): void {
    this.closed = true;
    this.handle?.then((handle) => handle.close()).catch(() => undefined);
  }

  /** The next whole line (without its line break), or undefined when the text read so far has none. */
  private cutRow(): string | undefined {
    const { text, position } = this;
    if (this.nextLf < position) this.nextLf = indexOrLength(text, '\n', position);
    if (this.nextCr < position) this.nextCr = indexOrLength(text, '\r', position);
    const end = Math.min(this.nextLf, this.nextCr);
    if (end - position > this.maxRowChars) throw new Error(`a row is longer than ${this.maxRowChars} characters`);
    if (end === text.length) {
      if (!this.ended || end === position) return undefined;
      this.position = end;
      return text.slice(position, end);
    }
    // A \r\n cut between two reads leaves an empty line, which is no row.
    this.position = end + (text.charCodeAt(end) === 0x0d && text.charCodeAt(end + 1) === 0x0a ? 2 : 1);
    return text.slice(position, end);
  }

  private async read(): Promise<void> {
    if (this.closed) throw new Error('the reader is closed');
    this.handle ??= open(this.file);
    const handle = await this.handle;
    const { bytesRead } = await handle.read(this.buffer, 0, CHUNK_BYTES, null);
    this.text = this.text.slice(this.position) + this.buffer.toString('latin1', 0, bytesRead);
    this.position = 0;
    this.nextLf = -1;
    this.nextCr = -1;
    if (bytesRead === 0) {
      this.ended = true;
      await handle.close();
    }
  }
}
