import { spawn } from 'node:child_process';
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { basePythons } from './python-versions.js';
import { WorkerError } from '../domain/errors.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DOCKERFILE = path.join(ROOT, 'container/Dockerfile');
const WRAPPER = path.join(ROOT, 'container/pvhub_wrapper.py');
/** Shared by every resolution on this machine, so a second one downloads nothing. */
const PIP_CACHE = path.join(ROOT, '.cache/pip');
/** What pvhub_wrapper.py imports. Unpinned, so a version the submission pins is the one installed. */
const WRAPPER_REQUIREMENTS = ['pandas', 'numpy'];
/** glibc of the registry's python:<v>-slim images (Debian bookworm), for versions this worker does not build itself. */
const REGISTRY_GLIBC_MINOR = 36;
const RESOLVE_TIME_LIMIT_MS = 15 * 60_000;
const MACHINE: Readonly<Record<string, string>> = { x64: 'x86_64', arm64: 'aarch64' };

export interface BuildContextOptions {
  readonly submissionDir: string;
  readonly pythonVersion: string;
  readonly baseImage: string;
  /** Scratch folder of this build; the context is made inside it, the resolver's files beside it. */
  readonly workDir: string;
  readonly onLog: (line: string) => void;
  /**
   * Python whose pip resolves the wheels. Default: env PVHUB_HOST_PYTHON, else the venv scripts/setup.sh makes
   * (.cache/venv/bin/python). Nothing is installed into it.
   */
  readonly hostPython?: string;
}

export interface BuildContext {
  readonly contextDir: string;
  readonly tag: string;
}

function refuse(message: string): never {
  throw new WorkerError('op_2', message);
}

const NAME = '[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?';
const VERSION = '(?:===|~=|==|!=|<=|>=|<|>)\\s*[A-Za-z0-9*+!_.-]+';
/** PEP 508 without URLs: name, extras, versions (optionally in parentheses), a marker. */
const REQUIREMENT = new RegExp(
  `^(${NAME})\\s*(?:\\[\\s*${NAME}(?:\\s*,\\s*${NAME})*\\s*\\])?\\s*` +
    `(?:\\(?\\s*${VERSION}(?:\\s*,\\s*${VERSION})*\\s*\\)?)?\\s*(?:;\\s*[^;]+)?$`,
);
const ARCHIVE_NAME = /\.(whl|zip|tar|tgz|tbz|txz|tar\.gz|tar\.bz2|tar\.xz)$/i;

/**
 * The requirement lines of a requirements.txt, without comments. Only named requirements are accepted: options,
 * URLs and file paths would let a submission pick its own package source, and only PyPI through the resolver is
 * allowed. Throws op_2 naming the offending line.
 */
export function parseRequirements(text: string): string[] {
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  const requirements: string[] = [];
  for (const raw of lines) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') continue;
    if (line.startsWith('-')) refuse(`requirements.txt: options are not accepted: "${line}"`);
    if (line.includes('://') || line.includes('@')) refuse(`requirements.txt: URLs are not accepted: "${line}"`);
    const name = REQUIREMENT.exec(line)?.[1];
    if (name === undefined) refuse(`requirements.txt: malformed requirement "${line}"`);
    if (ARCHIVE_NAME.test(name)) refuse(`requirements.txt: files are not accepted: "${line}"`);
    requirements.push(line);
  }
  return requirements;
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
function field(hash: Hash, label: string, bytes: string | Buffer): void {
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
  field(hash, 'python', inputs.pythonVersion);
  field(hash, 'base', inputs.baseImage);
  field(hash, 'dockerfile', await readFile(DOCKERFILE));
  field(hash, 'wrapper', await readFile(WRAPPER));
  field(hash, 'requirements', [...inputs.requirements].sort().join('\n'));
  for (const file of inputs.files) {
    field(hash, 'file', file);
    const content = createHash('sha256');
    for await (const chunk of createReadStream(path.join(inputs.submissionDir, file))) content.update(chunk as Buffer);
    field(hash, 'bytes', content.digest());
  }
  return `pvhub-submission:${hash.digest('hex').slice(0, 32)}`;
}

function checkNames(pythonVersion: string, baseImage: string): void {
  if (!/^3\.\d{1,2}$/.test(pythonVersion)) throw new WorkerError('wr_500', `python version "${pythonVersion}" is not like 3.11`);
  if (!/^[\w./:@-]+$/.test(baseImage)) throw new WorkerError('wr_500', `base image "${baseImage}" is not an image name`);
}

/**
 * The image tag for a submission, without resolving anything: the same code, requirements, python version, base
 * image, recipe and wrapper give the same tag, so a caller can look for a cached image before preparing a context.
 */
export async function submissionImageTag(options: Pick<BuildContextOptions, 'submissionDir' | 'pythonVersion' | 'baseImage'>): Promise<string> {
  checkNames(options.pythonVersion, options.baseImage);
  const requirements = await readRequirements(options.submissionDir);
  return tagOf({ ...options, requirements, files: await listFiles(options.submissionDir) });
}

/** The recipe with the base image as its ARG default, so the context alone reproduces the image. */
function dockerfileFor(template: string, baseImage: string): string {
  const line = /^ARG BASE_IMAGE=.*$/m;
  if (!line.test(template)) throw new WorkerError('wr_500', 'container/Dockerfile has no "ARG BASE_IMAGE=" line');
  return template.replace(line, `ARG BASE_IMAGE=${baseImage}`);
}

/**
 * manylinux tags from the base image's glibc down to the oldest, newest first (pip prefers earlier ones, and does
 * not expand a tag to older ones itself). A wheel for a newer glibc than the image's would not load in it.
 */
function platformTags(pythonVersion: string): string[] {
  const machine = MACHINE[process.arch];
  if (machine === undefined) throw new WorkerError('wr_500', `no manylinux wheels for this machine (${process.arch})`);
  const glibc = basePythons()[pythonVersion]?.glibc;
  const newest = glibc === undefined ? REGISTRY_GLIBC_MINOR : Number(glibc.split('_')[1]);
  const tags: string[] = [];
  for (let minor = newest; minor >= 5; minor--) tags.push(`manylinux_2_${minor}_${machine}`);
  return [...tags, ...['manylinux2014', 'manylinux2010', 'manylinux1'].map((legacy) => `${legacy}_${machine}`)];
}

interface PipResult {
  readonly status: number | null;
  readonly output: string;
}

/** Runs the host pip, passing its lines to onLog and keeping the tail for error messages. */
function runPip(python: string, args: readonly string[], cwd: string, onLog: (line: string) => void): Promise<PipResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-m', 'pip', ...args], {
      // The build's scratch folder, not the worker's: nothing there for a requirement to name.
      cwd,
      env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1', PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Not spawn's own `timeout`: its timer outlives a python that failed to start, keeping the process alive.
    const timer = setTimeout(() => child.kill('SIGKILL'), RESOLVE_TIME_LIMIT_MS);
    let output = '';
    const take = (chunk: Buffer) => {
      const text = chunk.toString();
      output = (output + text).slice(-64 * 1024);
      for (const line of text.split('\n')) if (line.trim() !== '') onLog(line);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
  });
}

/** Turns pip's failure into a WorkerError: op_2 naming the package the submission asked for, wr_500 for ours. */
function resolutionError(result: PipResult, pythonVersion: string): WorkerError {
  const errors = result.output.split('\n').filter((line) => line.startsWith('ERROR:'));
  const detail = (errors.length > 0 ? errors : result.output.trim().split('\n').slice(-5)).join(' | ').slice(0, 1000);
  if (result.status === null) return new WorkerError('wr_500', `dependency resolution exceeded ${RESOLVE_TIME_LIMIT_MS / 60_000} minutes`);
  if (/NewConnectionError|Failed to establish a new connection|Temporary failure in name resolution|ProxyError/.test(result.output)) {
    return new WorkerError('wr_500', `the package index cannot be reached: ${detail}`);
  }
  const missing = /No matching distribution found for (\S+)/.exec(result.output) ?? /satisfies the requirement (\S+)/.exec(result.output);
  if (missing) {
    return new WorkerError('op_2', `requirement ${missing[1]} cannot be installed: the package index has no wheel of it for python ${pythonVersion} on Linux (${detail})`);
  }
  return new WorkerError('op_2', `the requirements cannot be resolved: ${detail}`);
}

async function resolveWheels(options: BuildContextOptions, requirements: readonly string[], wheelhouse: string): Promise<void> {
  const requirementsFile = path.join(options.workDir, 'requirements.resolved.txt');
  await writeFile(requirementsFile, requirements.map((line) => `${line}\n`).join(''));
  const python = options.hostPython ?? process.env['PVHUB_HOST_PYTHON'] ?? path.join(ROOT, '.cache/venv/bin/python');
  const args = [
    'download',
    // Wheels only: an sdist would run its build code on this host.
    '--only-binary=:all:',
    '--python-version', options.pythonVersion,
    '--implementation', 'cp',
    '--abi', `cp${options.pythonVersion.replace('.', '')}`,
    ...platformTags(options.pythonVersion).flatMap((tag) => ['--platform', tag]),
    '--dest', wheelhouse,
    '--cache-dir', PIP_CACHE,
    '--progress-bar', 'off',
    '--requirement', requirementsFile,
    ...WRAPPER_REQUIREMENTS,
  ];
  let result: PipResult;
  try {
    result = await runPip(python, args, options.workDir, options.onLog);
  } catch (error) {
    throw new WorkerError('wr_500', `the host python ${python} cannot run pip (run scripts/setup.sh or set PVHUB_HOST_PYTHON): ${(error as Error).message}`, { cause: error });
  }
  if (result.status !== 0) throw resolutionError(result, options.pythonVersion);
}

async function copySubmission(from: string, to: string, files: readonly string[]): Promise<void> {
  for (const file of files) {
    await mkdir(path.dirname(path.join(to, file)), { recursive: true });
    await copyFile(path.join(from, file), path.join(to, file));
  }
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
  await writeFile(path.join(contextDir, 'Dockerfile'), dockerfileFor(await readFile(DOCKERFILE, 'utf8'), options.baseImage));
  await copyFile(WRAPPER, path.join(contextDir, 'pvhub_wrapper.py'));
  await mkdir(path.join(contextDir, 'submission'));
  await copySubmission(options.submissionDir, path.join(contextDir, 'submission'), files);
  await resolveWheels(options, requirements, path.join(contextDir, 'wheelhouse'));
  return { contextDir, tag };
}
