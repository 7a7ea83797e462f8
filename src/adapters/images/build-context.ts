import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkerError } from '../../domain/errors.js';
import { parseRequirements } from '../../domain/requirements.js';
import { installCommand } from './dependencies-image.js';
import { dockerfileFor, hashField } from './recipes.js';
import { RUNTIME_RECIPE } from './runtime-image.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const DOCKERFILE = path.join(ROOT, 'container/Dockerfile');
/** The wrapper's supervisor and the call it starts (container/pvhub_wrapper.py), copied beside each other. */
const WRAPPER_FILES = ['pvhub_wrapper.py', 'pvhub_call.py'];
/** Where submission images are tagged: `pvhub-submission:<content hash>`. */
export const SUBMISSION_IMAGE_REPOSITORY = 'pvhub-submission';

export interface BuildContextOptions {
  readonly submissionDir: string;
  readonly pythonVersion: string;
  readonly baseImage: string;
  /** The id of the dependencies image of the submission's requirement set, which the image is built on. */
  readonly dependenciesImage: string;
  /** Scratch folder of this build; the context is made inside it. */
  readonly workDir: string;
}

export interface BuildContext {
  readonly contextDir: string;
  readonly tag: string;
}

/** The submission's requirements.txt, as the worker parses it (one requirement a line); none without the file. */
export async function readRequirements(submissionDir: string): Promise<string[]> {
  try {
    return parseRequirements(await readFile(path.join(submissionDir, 'requirements.txt'), 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** What the participant should know of the submission's content before its image is used, one line each. */
export async function submissionWarnings(submissionDir: string): Promise<string[]> {
  const hasRequirements = await stat(path.join(submissionDir, 'requirements.txt')).then(
    (found) => found.isFile(),
    () => false,
  );
  return hasRequirements
    ? []
    : ["the submission has no requirements.txt: only the wrapper's pandas and numpy are installed"];
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
  hashField(hash, 'runtime', await readFile(RUNTIME_RECIPE));
  hashField(hash, 'install', JSON.stringify(installCommand([])));
  hashField(hash, 'dockerfile', await readFile(DOCKERFILE));
  for (const name of WRAPPER_FILES) hashField(hash, name, await readFile(path.join(ROOT, 'container', name)));
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

async function copySubmission(from: string, to: string, files: readonly string[]): Promise<void> {
  for (const file of files) {
    await mkdir(path.dirname(path.join(to, file)), { recursive: true });
    await copyFile(path.join(from, file), path.join(to, file));
  }
}

/**
 * Makes the build context of a submission's image in <workDir>/context: Dockerfile (on the dependencies image),
 * the wrapper's files and submission/ (the code as uploaded); nothing to install. The tag is content-addressed (see
 * submissionImageTag).
 */
export async function prepareBuildContext(options: BuildContextOptions): Promise<BuildContext> {
  checkNames(options.pythonVersion, options.baseImage);
  const requirements = await readRequirements(options.submissionDir);
  const files = await listFiles(options.submissionDir);
  const tag = await tagOf({ ...options, requirements, files });
  const contextDir = path.join(options.workDir, 'context');
  await rm(contextDir, { recursive: true, force: true });
  await mkdir(path.join(contextDir, 'submission'), { recursive: true });
  await writeFile(
    path.join(contextDir, 'Dockerfile'),
    dockerfileFor(await readFile(DOCKERFILE, 'utf8'), options.dependenciesImage, 'DEPENDENCIES_IMAGE'),
  );
  for (const name of WRAPPER_FILES) await copyFile(path.join(ROOT, 'container', name), path.join(contextDir, name));
  await copySubmission(options.submissionDir, path.join(contextDir, 'submission'), files);
  return { contextDir, tag };
}
