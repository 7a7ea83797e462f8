import { readdir } from 'node:fs/promises';
import path from 'node:path';
import unzipper from 'unzipper';
import { WorkerError } from '../../domain/errors.js';
import { canonicalName, urlRequirements } from '../../domain/requirements.js';

/** Largest METADATA read from a wheel built here; a real one is a few KiB. */
const METADATA_MAX_BYTES = 1024 * 1024;

/** An entry's text, read until `maxBytes` whatever size its header declares (a small header may hide a bomb). */
async function boundedText(entry: unzipper.File, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of entry.stream() as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > maxBytes) throw new Error(`more than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The Requires-Dist entries of a wheel that name a URL ("x @ https://…"). The next resolution reads them, and pip
 * builds a URL's source on this host whatever --only-binary says: a hostile build must not get that far.
 */
export async function directReferences(wheel: string): Promise<string[]> {
  const badWheel = (why: string) => new WorkerError('op_2', `${path.basename(wheel)}: ${why}`);
  let directory: unzipper.CentralDirectory;
  try {
    directory = await unzipper.Open.file(wheel);
  } catch (error) {
    throw badWheel(`not a readable wheel (${(error as Error).message})`);
  }
  // pip reads the last of entries that share a name, a check that reads the first would read another file: none twice.
  const names = new Set<string>();
  for (const entry of directory.files) {
    if (names.has(entry.path)) throw badWheel(`has the entry ${entry.path} twice`);
    names.add(entry.path);
  }
  const metadata = directory.files.filter((entry) => /^[^/]+\.dist-info\/METADATA$/.test(entry.path));
  if (metadata.length !== 1 || metadata[0] === undefined)
    throw badWheel(`has ${metadata.length} .dist-info/METADATA files instead of one`);
  const text = await boundedText(metadata[0], METADATA_MAX_BYTES).catch((error: unknown) => {
    throw badWheel(`its METADATA cannot be read (${(error as Error).message})`);
  });
  return urlRequirements(text);
}

/**
 * The one wheel of `project` a source build wrote to outDir, checked: what the sandbox wrote is the build script's
 * choice, so anything else (more files, another project's wheel that would shadow a requirement, URL dependencies)
 * is op_2 for `requirement`.
 */
export async function builtWheel(outDir: string, project: string, requirement: string): Promise<string> {
  const written = await readdir(outDir, { withFileTypes: true });
  const wheel = written.length === 1 && written[0]?.isFile() ? written[0].name : undefined;
  if (
    wheel === undefined ||
    !wheel.endsWith('.whl') ||
    canonicalName(wheel.split('-')[0] ?? '') !== canonicalName(project)
  ) {
    throw new WorkerError(
      'op_2',
      `requirement ${requirement}: the build of its source distribution wrote ${written.map((entry) => entry.name).join(', ') || 'nothing'} instead of one wheel of ${project}`,
    );
  }
  const direct = await directReferences(path.join(outDir, wheel));
  if (direct.length > 0) {
    throw new WorkerError(
      'op_2',
      `requirement ${requirement}: its built wheel depends on URLs (${direct.join('; ').slice(0, 500)}), which are not accepted`,
    );
  }
  return path.join(outDir, wheel);
}

/**
 * Refuses wheels that unpack to more than the image size limit (op_2), from their zip directories: what the install
 * writes to the engine's disk before the image exists to be measured. pip writes no more than an entry's declared
 * size, so the declared sizes bind.
 */
export async function checkUnpackedSize(wheelhouse: string, limit: number): Promise<void> {
  let bytes = 0;
  for (const wheel of await readdir(wheelhouse)) {
    if (bytes > limit) break;
    try {
      const directory = await unzipper.Open.file(path.join(wheelhouse, wheel));
      for (const entry of directory.files) bytes += entry.uncompressedSize;
    } catch (error) {
      throw new WorkerError('op_2', `${wheel} is not a readable wheel: ${(error as Error).message}`, { cause: error });
    }
  }
  if (bytes > limit)
    throw new WorkerError(
      'op_2',
      `the requirements come to ${bytes} bytes of wheels once unpacked, over the image size limit of ${limit} bytes`,
    );
}
