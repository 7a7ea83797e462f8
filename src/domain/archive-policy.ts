import { WorkerError } from './errors.js';

/** One entry of a zip's central directory, as much as the policy needs. */
export interface ArchiveEntry {
  readonly path: string;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  /** Upper 16 bits of the external attributes: the Unix mode when the zip was made on Unix. */
  readonly unixMode: number;
  readonly isDirectory: boolean;
}

export interface ArchiveLimits {
  readonly maxEntries: number;
  readonly maxTotalBytes: number;
  readonly maxRatio: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  maxEntries: 10_000,
  maxTotalBytes: 512 * 1024 ** 2,
  maxRatio: 200,
};

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

function archiveError(message: string): never {
  throw new WorkerError('op_1', `bad submission archive: ${message}`);
}

/** A safe relative path inside the extraction directory, or a refusal naming the entry. */
export function safeEntryPath(raw: string): string {
  const path = raw.replace(/\\/g, '/');
  if (path.includes('\0')) archiveError(`entry name contains a NUL byte: ${JSON.stringify(raw)}`);
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) archiveError(`absolute path in entry ${raw}`);
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) archiveError(`".." in entry ${raw} (path traversal)`);
  return parts.join('/');
}

/**
 * Checks the whole central directory before anything is written: counts, sizes, compression ratio, paths and
 * file types. Throws op_1 with the reason; returns the entries to extract (files only, safe paths).
 */
export function checkArchive(
  entries: readonly ArchiveEntry[],
  limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
): ArchiveEntry[] {
  if (entries.length > limits.maxEntries)
    archiveError(`${entries.length} entries, more than the limit of ${limits.maxEntries}`);
  let total = 0;
  let compressed = 0;
  const files: ArchiveEntry[] = [];
  const seen = new Set<string>();
  for (const entry of entries) {
    const path = safeEntryPath(entry.path);
    if (seen.has(path)) archiveError(`entry ${entry.path} appears twice`);
    seen.add(path);
    const type = entry.unixMode & S_IFMT;
    if (type === S_IFLNK) archiveError(`symbolic link in entry ${entry.path}`);
    if (type !== 0 && type !== S_IFREG && type !== S_IFDIR) archiveError(`special file in entry ${entry.path}`);
    if (entry.isDirectory || type === S_IFDIR || path === '') continue;
    total += entry.uncompressedSize;
    compressed += entry.compressedSize;
    if (total > limits.maxTotalBytes) archiveError(`uncompressed size over the limit of ${limits.maxTotalBytes} bytes`);
    if (
      entry.uncompressedSize > 1024 * 1024 &&
      entry.uncompressedSize / Math.max(1, entry.compressedSize) > limits.maxRatio
    ) {
      archiveError(`entry ${entry.path} expands more than ${limits.maxRatio}:1 (zip bomb?)`);
    }
    files.push({ ...entry, path });
  }
  if (total > 1024 * 1024 && total / Math.max(1, compressed) > limits.maxRatio) {
    archiveError(`archive expands more than ${limits.maxRatio}:1 (zip bomb?)`);
  }
  if (files.length === 0) archiveError('the archive holds no files');
  return files;
}

/**
 * Where the submission's code starts: the root, or the one top-level folder that holds everything (zips made by
 * compressing a folder). Returns the prefix to strip ("" or "folder/"); the module must be there.
 */
export function submissionRoot(paths: readonly string[], moduleFile = 'submission_wrapper.py'): string {
  if (paths.includes(moduleFile)) return '';
  const meaningful = paths.filter((path) => !path.startsWith('__MACOSX/') && !path.split('/').pop()?.startsWith('._'));
  const tops = new Set(meaningful.map((path) => path.split('/')[0]));
  if (tops.size === 1) {
    const prefix = `${[...tops][0]}/`;
    if (meaningful.includes(`${prefix}${moduleFile}`)) return prefix;
  }
  archiveError(`no ${moduleFile} at the root of the archive or inside its one top-level folder`);
}
