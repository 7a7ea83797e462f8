import { createReadStream } from 'node:fs';
import { appendFile, open, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { FileList } from '../domain/file-list.js';
import type { FileTask } from '../domain/file-run.js';
import type { FileMetadata } from '../domain/metadata.js';

/** A file list being written: metadata in the task's order, one JSON line each. */
export interface FileListSpool {
  readonly count: number;
  /** Appends these files, after those added before. */
  add(batch: readonly FileMetadata[]): Promise<void>;
  /** Ends the writing: the list, each file's task made from its metadata by `toTask` as it is read. */
  close(toTask: (metadata: FileMetadata, index: number) => FileTask): Promise<FileList>;
}

/**
 * A file list kept in one file of the workspace: what stays in memory is where each line starts (a number per
 * file), so a file's metadata (and its kwargs, made when it is read) exist only while its turn needs them.
 */
export async function openFileListSpool(file: string): Promise<FileListSpool> {
  // Appended to a batch at a time, with no handle held between: a staging that fails midway leaves nothing open.
  await writeFile(file, '', { flag: 'wx', mode: 0o600 });
  // Where each file's line starts; the last entry is where the next one would.
  const starts: number[] = [0];
  const end = () => starts[starts.length - 1] as number;
  return {
    get count() {
      return starts.length - 1;
    },
    async add(batch) {
      let text = '';
      for (const metadata of batch) {
        const line = `${JSON.stringify(metadata)}\n`;
        text += line;
        starts.push(end() + Buffer.byteLength(line));
      }
      await appendFile(file, text);
    },
    async close(toTask) {
      const count = starts.length - 1;
      const parse = (line: string, index: number) => toTask(JSON.parse(line) as FileMetadata, index);
      return {
        count,
        async at(index) {
          if (!Number.isInteger(index) || index < 0 || index >= count)
            throw new RangeError(`no file at ${index} of ${count}`);
          const start = starts[index] as number;
          const bytes = Buffer.alloc((starts[index + 1] as number) - start);
          const reader = await open(file, 'r');
          try {
            await reader.read(bytes, 0, bytes.length, start);
          } finally {
            await reader.close();
          }
          return parse(bytes.toString('utf8'), index);
        },
        async *each() {
          const input = createReadStream(file, 'utf8');
          try {
            let index = 0;
            for await (const line of createInterface({ input, crlfDelay: Infinity })) {
              yield parse(line, index);
              index += 1;
            }
          } finally {
            input.destroy();
          }
        },
      };
    },
  };
}
