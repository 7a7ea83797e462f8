import { createWriteStream } from 'node:fs';
import { cp, mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import unzipper from 'unzipper';
import {
  type ArchiveEntry,
  type ArchiveLimits,
  checkArchive,
  DEFAULT_ARCHIVE_LIMITS,
  safeEntryPath,
  submissionRoot,
} from '../domain/archive-policy.js';
import { WorkerError } from '../domain/errors.js';

/** Counts bytes as they are written and stops an entry that is bigger than its header said. */
function sizeGuard(limit: number, name: string) {
  let seen = 0;
  return async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      seen += chunk.length;
      if (seen > limit)
        throw new WorkerError('op_1', `bad submission archive: entry ${name} is larger than its header says`);
      yield chunk;
    }
  };
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const relative = prefix + entry.name;
    if (entry.isDirectory()) found.push(...(await listFiles(path.join(dir, entry.name), `${relative}/`)));
    else if (entry.isFile()) found.push(relative);
    else throw new WorkerError('op_1', `bad submission: ${relative} is neither a file nor a folder`);
  }
  return found;
}

/**
 * Extracts a submission (a zip, or a folder for local runs) into destination, with the code at its root.
 * Every entry is checked before anything is written; the library's own path handling is not relied on.
 */
export async function extractSubmission(
  source: string,
  destination: string,
  limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
): Promise<void> {
  await mkdir(destination, { recursive: true });
  if ((await stat(source)).isDirectory()) {
    const root = submissionRoot(await listFiles(source));
    await cp(path.join(source, root), destination, { recursive: true, verbatimSymlinks: true });
    return;
  }
  let directory: unzipper.CentralDirectory;
  try {
    directory = await unzipper.Open.file(source);
  } catch (error) {
    throw new WorkerError('op_1', `bad submission archive: not a readable zip (${(error as Error).message})`);
  }
  const entries: ArchiveEntry[] = directory.files.map((file) => ({
    path: file.path,
    compressedSize: file.compressedSize,
    uncompressedSize: file.uncompressedSize,
    unixMode: (file.externalFileAttributes >>> 16) & 0xffff,
    isDirectory: file.type === 'Directory',
  }));
  const files = checkArchive(entries, limits);
  const root = submissionRoot(files.map((file) => file.path));
  const byPath = new Map(directory.files.map((file) => [safeEntryPath(file.path), file]));
  for (const entry of files) {
    if (!entry.path.startsWith(root) || entry.path.startsWith('__MACOSX/')) continue;
    const target = path.join(destination, entry.path.slice(root.length));
    if (!target.startsWith(destination + path.sep)) {
      throw new WorkerError('op_1', `bad submission archive: entry ${entry.path} leaves the extraction folder`);
    }
    const file = byPath.get(entry.path);
    if (!file) continue;
    try {
      await mkdir(path.dirname(target), { recursive: true });
      await pipeline(
        file.stream(),
        sizeGuard(entry.uncompressedSize, entry.path),
        createWriteStream(target, { flags: 'wx', mode: 0o644 }),
      );
    } catch (error) {
      if (error instanceof WorkerError) throw error;
      // A file and a folder of the same name, the same name twice, a compression method or data the library cannot
      // read: the archive's fault, whatever the file system or the library called it.
      throw new WorkerError(
        'op_1',
        `bad submission archive: entry ${entry.path} cannot be extracted (${(error as Error).message})`,
        { cause: error },
      );
    }
  }
}
