import { type FileHandle, open } from 'node:fs/promises';
import path from 'node:path';
import { InfrastructureFault } from '../domain/infrastructure-fault.js';
import type { CollectedEntry } from '../ports/container-engine.js';

/** What a results holder says of one volume it was asked about. */
export interface VolumeAnswer {
  /** What each asked name was; each regular file's bytes are in the host folder, under the same name. */
  readonly collected: Readonly<Record<string, CollectedEntry>>;
  /** Whether the volume's bytes or inodes were used up; undefined when the holder could not measure it. */
  readonly full: boolean | undefined;
}

interface Question {
  readonly index: number;
  readonly names: readonly string[];
  readonly hostDir: string;
  readonly collected: Record<string, CollectedEntry>;
  /** Why the answer cannot be kept (a copy of ours that failed); the rest of it is still read, to stay in step. */
  failure?: unknown;
  resolve(answer: VolumeAnswer): void;
  reject(error: unknown): void;
}

/** A regular file's bytes that are still to come, and where they go (nowhere once its copy failed). */
interface Copy {
  readonly question: Question;
  readonly handle: FileHandle | undefined;
  left: number;
}

const S_IFMT = 0o170000;
const KINDS: Readonly<Record<number, CollectedEntry>> = {
  0o100000: 'file',
  0o040000: 'folder',
  0o120000: 'symbolic link',
  0o010000: 'FIFO',
};
const LINE_FEED = 0x0a;

/** `E <index> <mode in hex>|missing <size> <name>`, then, for a regular file, its size in bytes. */
const ENTRY = /^E (\d+) ([0-9a-f]+|missing) (\d+) (\S+)$/;
/** `F <index> <free blocks> <free inodes>`, or `F <index> unmeasured`: the last line of an answer. */
const FREE = /^F (\d+) (?:(\d+) (\d+)|unmeasured)$/;

/** Whatever the worker's umask: readable by every later reader, executable by none. */
const COPY_MODE = 0o644;

/**
 * Reads a results holder's stdout: its answers come in the order it was asked, each one line per asked name (with a
 * regular file's bytes right after its line) and a last line saying how full the volume is. Pure of Docker: it is
 * given the bytes, and writes the copies.
 */
export class HolderAnswers {
  private readonly questions: Question[] = [];
  private pending: Buffer = Buffer.alloc(0);
  private copy: Copy | undefined;
  private broken: Error | undefined;

  /** Expects the answer about volume `index`, the regular files among `names` to be copied into `hostDir`. */
  expect(index: number, names: readonly string[], hostDir: string): Promise<VolumeAnswer> {
    if (this.broken !== undefined) return Promise.reject(this.broken);
    return new Promise((resolve, reject) =>
      this.questions.push({ index, names, hostDir, collected: {}, resolve, reject }),
    );
  }

  /** It read what it did not expect, or was told the holder ended: it expects nothing more. */
  get failed(): boolean {
    return this.broken !== undefined;
  }

  /** The next bytes of the holder's stdout; resolves once they are written where they go. */
  async read(chunk: Buffer): Promise<void> {
    if (this.broken !== undefined) return;
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length > 0 && this.broken === undefined) {
      if (this.copy !== undefined) {
        await this.copyBytes(this.copy);
        continue;
      }
      const end = this.pending.indexOf(LINE_FEED);
      if (end < 0) return;
      const line = this.pending.subarray(0, end).toString('utf8');
      this.pending = this.pending.subarray(end + 1);
      await this.readLine(line);
    }
  }

  /** No answer will come any more (the holder ended): every open question fails with `error`. */
  fail(error: Error): void {
    this.broken ??= error;
    if (this.copy !== undefined) void this.copy.handle?.close().catch(() => undefined);
    this.copy = undefined;
    for (const question of this.questions.splice(0)) question.reject(this.broken);
  }

  private async readLine(line: string): Promise<void> {
    const question = this.questions[0];
    const entry = ENTRY.exec(line);
    const free = FREE.exec(line);
    const answered = question === undefined ? 0 : Object.keys(question.collected).length;
    if (entry !== null && question !== undefined && Number(entry[1]) === question.index) {
      const [, , mode, size, name] = entry as unknown as [string, string, string, string, string];
      if (name === question.names[answered] && question.collected[name] === undefined)
        return this.readEntry(question, name, mode, Number(size));
    }
    if (free !== null && question !== undefined && Number(free[1]) === question.index) {
      if (answered !== question.names.length) return this.outOfStep(line);
      this.questions.shift();
      if (question.failure !== undefined) return question.reject(question.failure);
      const full = free[2] === undefined ? undefined : free[2] === '0' || free[3] === '0';
      return question.resolve({ collected: question.collected, full });
    }
    this.outOfStep(line);
  }

  private async readEntry(question: Question, name: string, mode: string, size: number): Promise<void> {
    const kind = mode === 'missing' ? 'missing' : (KINDS[parseInt(mode, 16) & S_IFMT] ?? 'device');
    question.collected[name] = kind;
    if (kind !== 'file') return;
    let handle: FileHandle | undefined;
    if (question.failure === undefined)
      handle = await open(path.join(question.hostDir, name), 'wx', COPY_MODE).catch((error: unknown) => {
        question.failure = error;
        return undefined;
      });
    this.copy = { question, handle, left: size };
    if (size === 0) await this.endCopy(this.copy);
  }

  private async copyBytes(copy: Copy): Promise<void> {
    const bytes = this.pending.subarray(0, copy.left);
    this.pending = this.pending.subarray(bytes.length);
    copy.left -= bytes.length;
    if (copy.handle !== undefined && copy.question.failure === undefined)
      await copy.handle.write(bytes).catch((error: unknown) => (copy.question.failure ??= error));
    if (copy.left === 0) await this.endCopy(copy);
  }

  private async endCopy(copy: Copy): Promise<void> {
    this.copy = undefined;
    if (copy.handle === undefined) return;
    try {
      await copy.handle.chmod(COPY_MODE);
    } catch (error) {
      copy.question.failure ??= error;
    } finally {
      await copy.handle.close().catch(() => undefined);
    }
  }

  /** Our own holder, running our own commands, said what it was not asked: nothing it says can be trusted. */
  private outOfStep(line: string): void {
    this.fail(
      new InfrastructureFault('engine-unavailable', `the results holder answered out of step: ${line.slice(0, 200)}`),
    );
  }
}
