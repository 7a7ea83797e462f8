import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import unzipper from 'unzipper';
import { WorkerError } from '../../domain/errors.js';
import { parseRequirements } from '../../domain/requirements.js';
import { resolveWheels, type ResolveOptions } from './wheel-resolution.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const DOCKERFILE = path.join(ROOT, 'container/Dockerfile');
const WRAPPER = path.join(ROOT, 'container/pvhub_wrapper.py');
/** Where submission images are tagged: `pvhub-submission:<content hash>`. */
export const SUBMISSION_IMAGE_REPOSITORY = 'pvhub-submission';

export interface BuildContextOptions extends ResolveOptions {
  readonly submissionDir: string;
  readonly baseImage: string;
  /** Scratch folder of this build; the context is made inside it, the resolver's files beside it. */
  readonly workDir: string;
  /** Wheels bigger than this together are refused before any build (op_2): the image would only be bigger. */
  readonly maxWheelhouseBytes: number;
}

export interface BuildContext {
  readonly contextDir: string;
  readonly tag: string;
}

async function readRequirements(submissionDir: string): Promise<string[]> {
  try {
    return parseRequirements(await readFile(path.join(submissionDir, 'requirements.txt'), 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Relative paths (POSIX, sorted) of the submission's files. Anything but files and folders is refused. */
async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const relative = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) found.push(...(await listFiles(dir, relative)));
    else if (entry.isFile()) found.push(relative);
    else throw new WorkerError('op_1', `bad submission: ${relative} is neither a file nor a folder`);
  }
  return found.sort();
}

/** Length-prefixed, so no two different inputs hash alike by shifting bytes from one field to the next. */
export function hashField(hash: Hash, label: string, bytes: string | Buffer): void {
  hash.update(`${label}\0${Buffer.byteLength(bytes)}\0`);
  hash.update(bytes);
}

interface TagInputs {
  readonly submissionDir: string;
  readonly pythonVersion: string;
  readonly baseImage: string;
  readonly requirements: readonly string[];
  readonly files: readonly string[];
}

async function tagOf(inputs: TagInputs): Promise<string> {
  const hash = createHash('sha256');
  hashField(hash, 'python', inputs.pythonVersion);
  hashField(hash, 'base', inputs.baseImage);
  hashField(hash, 'dockerfile', await readFile(DOCKERFILE));
  hashField(hash, 'wrapper', await readFile(WRAPPER));
  hashField(hash, 'requirements', [...inputs.requirements].sort().join('\n'));
  for (const file of inputs.files) {
    hashField(hash, 'file', file);
    const content = createHash('sha256');
    for await (const chunk of createReadStream(path.join(inputs.submissionDir, file))) content.update(chunk as Buffer);
    hashField(hash, 'bytes', content.digest());
  }
  return `${SUBMISSION_IMAGE_REPOSITORY}:${hash.digest('hex').slice(0, 32)}`;
}

function checkNames(pythonVersion: string, baseImage: string): void {
  if (!/^3\.\d{1,2}$/.test(pythonVersion))
    throw new WorkerError('wr_500', `python version "${pythonVersion}" is not like 3.11`);
  if (!/^[\w./:@-]+$/.test(baseImage))
    throw new WorkerError('wr_500', `base image "${baseImage}" is not an image name`);
}

/**
 * The image tag for a submission, without resolving anything: the same code, requirements, python version, base
 * image, recipe and wrapper give the same tag, so a caller can look for a cached image before preparing a context.
 */
export async function submissionImageTag(
  options: Pick<BuildContextOptions, 'submissionDir' | 'pythonVersion' | 'baseImage'>,
): Promise<string> {
  checkNames(options.pythonVersion, options.baseImage);
  const requirements = await readRequirements(options.submissionDir);
  return tagOf({ ...options, requirements, files: await listFiles(options.submissionDir) });
}

/** The recipe with the base image as its ARG default, so the context alone reproduces the image. */
export function dockerfileFor(template: string, baseImage: string): string {
  const line = /^ARG BASE_IMAGE=.*$/m;
  if (!line.test(template)) throw new WorkerError('wr_500', 'the image recipe has no "ARG BASE_IMAGE=" line');
  return template.replace(line, `ARG BASE_IMAGE=${baseImage}`);
}

async function copySubmission(from: string, to: string, files: readonly string[]): Promise<void> {
  for (const file of files) {
    await mkdir(path.dirname(path.join(to, file)), { recursive: true });
    await copyFile(path.join(from, file), path.join(to, file));
  }
}

/**
 * What the wheels unpack to, from their zip directories: what the build writes to the engine's disk before the image
 * exists to be measured. pip writes no more than an entry's declared size, so the declared sizes bind. Stops counting
 * once past `limit`.
 */
async function unpackedBytes(wheelhouse: string, limit: number): Promise<number> {
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
  return bytes;
}

/**
 * Makes the build context of a submission's image in <workDir>/context: Dockerfile, pvhub_wrapper.py, submission/
 * (the code as uploaded) and wheelhouse/ (the submission's requirements plus the wrapper's, resolved to wheels for
 * the target python by the host's pip, so the build itself needs no network). The tag is content-addressed
 * (see submissionImageTag). Throws op_2 for requirements that are refused or cannot be satisfied.
 */
export async function prepareBuildContext(options: BuildContextOptions): Promise<BuildContext> {
  checkNames(options.pythonVersion, options.baseImage);
  const requirements = await readRequirements(options.submissionDir);
  const files = await listFiles(options.submissionDir);
  const tag = await tagOf({ ...options, requirements, files });
  const contextDir = path.join(options.workDir, 'context');
  await rm(contextDir, { recursive: true, force: true });
  await mkdir(path.join(contextDir, 'wheelhouse'), { recursive: true });
  await writeFile(
    path.join(contextDir, 'Dockerfile'),
    dockerfileFor(await readFile(DOCKERFILE, 'utf8'), options.baseImage),
  );
  await copyFile(WRAPPER, path.join(contextDir, 'pvhub_wrapper.py'));
  await mkdir(path.join(contextDir, 'submission'));
  await copySubmission(options.submissionDir, path.join(contextDir, 'submission'), files);
  const wheelhouse = path.join(contextDir, 'wheelhouse');
  await resolveWheels(options, requirements, wheelhouse);
  const bytes = await unpackedBytes(wheelhouse, options.maxWheelhouseBytes);
  if (bytes > options.maxWheelhouseBytes) {
    throw new WorkerError(
      'op_2',
      `the requirements come to ${bytes} bytes of wheels once unpacked, over the image size limit of ${options.maxWheelhouseBytes} bytes`,
    );
  }
  return { contextDir, tag };
}
