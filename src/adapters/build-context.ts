import { spawn } from 'node:child_process';
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import unzipper from 'unzipper';
import { basePythons } from './python-versions.js';
import { WorkerError } from '../domain/errors.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DOCKERFILE = path.join(ROOT, 'container/Dockerfile');
const WRAPPER = path.join(ROOT, 'container/pvhub_wrapper.py');
const FETCH_SDIST = path.join(ROOT, 'container/fetch_sdist.py');
/** Where submission images are tagged: `pvhub-submission:<content hash>`. */
export const SUBMISSION_IMAGE_REPOSITORY = 'pvhub-submission';
/** fetch_sdist.py's exit status when the index does not answer: the worker's problem, not the submission's. */
const FETCH_UNREACHABLE = 4;
/** Shared by every resolution on this machine, so a second one downloads nothing. */
const PIP_CACHE = path.join(ROOT, '.cache/pip');
/** What pvhub_wrapper.py imports. Unpinned, so a version the submission pins is the one installed. */
const WRAPPER_REQUIREMENTS = ['pandas', 'numpy'];
/** glibc of the registry's python:<v>-slim images (Debian bookworm), for versions this worker does not build itself. */
const REGISTRY_GLIBC_MINOR = 36;
const RESOLVE_TIME_LIMIT_MS = 15 * 60_000;
/** Requirements of one submission that may be built from source; past that the set is not closing. */
const MAX_SOURCE_BUILDS = 10;
const MACHINE: Readonly<Record<string, string>> = { x64: 'x86_64', arm64: 'aarch64' };

/** A source distribution to turn into a wheel, in a sandbox: nothing of it runs on this host. */
export interface SourceBuild {
  /** The requirement as pip named it (e.g. "ruptures==1.1.8"). */
  readonly requirement: string;
  /** The .tar.gz or .zip, alone in its folder. */
  readonly archive: string;
  /** Wheels of its build requirements, for the target python: the sandbox has no index. */
  readonly buildWheelhouse: string;
  /** An empty folder where the wheel must be written (and nothing else: it is checked). */
  readonly outDir: string;
  readonly signal: AbortSignal;
}

export interface BuildContextOptions {
  readonly submissionDir: string;
  readonly pythonVersion: string;
  readonly baseImage: string;
  /** Scratch folder of this build; the context is made inside it, the resolver's files beside it. */
  readonly workDir: string;
  readonly onLog: (line: string) => void;
  /** Python whose pip resolves the wheels (config PVHUB_HOST_PYTHON). Nothing is installed into it. */
  readonly hostPython: string;
  /**
   * Builds one source distribution into a wheel in outDir, with no network, or throws op_2. Called only for a
   * requirement that has no wheel for the target python.
   */
  readonly buildFromSource: (build: SourceBuild) => Promise<void>;
  /** Wheels bigger than this together are refused before any build (op_2): the image would only be bigger. */
  readonly maxWheelhouseBytes: number;
  /** Aborting it (the job cancelled or out of time) stops host pip and any source build at once. */
  readonly signal: AbortSignal;
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
export function parseRequirements(text: string, origin = 'requirements.txt'): string[] {
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  const requirements: string[] = [];
  for (const raw of lines) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') continue;
    if (line.startsWith('-')) refuse(`${origin}: options are not accepted: "${line}"`);
    if (line.includes('://') || line.includes('@')) refuse(`${origin}: URLs are not accepted: "${line}"`);
    const name = REQUIREMENT.exec(line)?.[1];
    if (name === undefined) refuse(`${origin}: malformed requirement "${line}"`);
    if (ARCHIVE_NAME.test(name)) refuse(`${origin}: files are not accepted: "${line}"`);
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
export function field(hash: Hash, label: string, bytes: string | Buffer): void {
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
  return `${SUBMISSION_IMAGE_REPOSITORY}:${hash.digest('hex').slice(0, 32)}`;
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
export function dockerfileFor(template: string, baseImage: string): string {
  const line = /^ARG BASE_IMAGE=.*$/m;
  if (!line.test(template)) throw new WorkerError('wr_500', 'the image recipe has no "ARG BASE_IMAGE=" line');
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
  // Last the plain linux tag: the index accepts no such wheel, so only the ones built here from source match it.
  return [...tags, ...['manylinux2014', 'manylinux2010', 'manylinux1', 'linux'].map((legacy) => `${legacy}_${machine}`)];
}

interface PipResult {
  readonly status: number | null;
  /** stdout and stderr as they came, the last 64 KiB. */
  readonly output: string;
  /** stdout alone, the last 64 KiB: where a program of ours writes its answer. */
  readonly stdout: string;
}

/** What host pip may see of the worker's environment: where to find things and how to reach the index, no secrets. */
const HOST_PYTHON_ENV = /^(PATH|HOME|LANG|LC_[A-Z]+|TMPDIR|SSL_CERT_(FILE|DIR)|REQUESTS_CA_BUNDLE|(HTTPS?|NO|ALL)_PROXY|PIP_[A-Z_]+)$/i;

function hostPythonEnvironment(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const kept = Object.fromEntries(Object.entries(process.env).filter(([name]) => HOST_PYTHON_ENV.test(name)));
  // No colours: a test runner's FORCE_COLOR would put escape codes into the requirement names read back.
  return { ...kept, NO_COLOR: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1', PYTHONDONTWRITEBYTECODE: '1', ...extra };
}

/** Runs a host python program (pip, fetch_sdist.py), passing its lines to onLog and keeping the tail for errors. */
function runHostPython(python: string, args: readonly string[], cwd: string, onLog: (line: string) => void, env: NodeJS.ProcessEnv = {}, signal?: AbortSignal): Promise<PipResult> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const child = spawn(python, args, {
      signal,
      killSignal: 'SIGKILL',
      // The build's scratch folder, not the worker's: nothing there for a requirement to name.
      cwd,
      env: hostPythonEnvironment(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Not spawn's own `timeout`: its timer outlives a python that failed to start, keeping the process alive.
    const timer = setTimeout(() => child.kill('SIGKILL'), RESOLVE_TIME_LIMIT_MS);
    let output = '';
    let stdout = '';
    const take = (chunk: Buffer) => {
      const text = chunk.toString();
      output = (output + text).slice(-64 * 1024);
      for (const line of text.split('\n')) if (line.trim() !== '') onLog(line);
      return text;
    };
    child.stdout.on('data', (chunk: Buffer) => (stdout = (stdout + take(chunk)).slice(-64 * 1024)));
    child.stderr.on('data', take);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, output, stdout });
    });
  });
}

/** pip's ERROR lines (or its last lines), short enough for an error report. */
function pipErrors(result: PipResult): string {
  const errors = result.output.split('\n').filter((line) => line.startsWith('ERROR:'));
  return (errors.length > 0 ? errors : result.output.trim().split('\n').slice(-5)).join(' | ').slice(0, 1000);
}

/** Turns pip's failure into a WorkerError: op_2 naming the package the submission asked for, wr_500 for ours. */
function resolutionError(result: PipResult, pythonVersion: string): WorkerError {
  const detail = pipErrors(result);
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

/** What pip needs to resolve wheels for a target python on this host. */
export type WheelOptions = Pick<BuildContextOptions, 'pythonVersion' | 'workDir' | 'onLog' | 'hostPython'> & { readonly signal?: AbortSignal };

/** `pip download` of wheels only, for the target python, into dest; `findLinks` are folders of wheels built here. */
async function downloadWheels(options: WheelOptions, requirements: readonly string[], dest: string, findLinks: readonly string[]): Promise<PipResult> {
  // Beside the build's folders, never inside dest: the wheelhouse is part of the image's build context.
  const requirementsFile = path.join(await mkdtemp(path.join(options.workDir, 'requirements-')), 'requirements.txt');
  await writeFile(requirementsFile, requirements.map((line) => `${line}\n`).join(''));
  const args = [
    '-m',
    'pip',
    'download',
    // Wheels only: an sdist would run its build code on this host. Those are built in a sandbox (buildFromSource).
    '--only-binary=:all:',
    '--python-version', options.pythonVersion,
    '--implementation', 'cp',
    '--abi', `cp${options.pythonVersion.replace('.', '')}`,
    ...platformTags(options.pythonVersion).flatMap((tag) => ['--platform', tag]),
    '--dest', dest,
    '--cache-dir', PIP_CACHE,
    '--progress-bar', 'off',
    '--requirement', requirementsFile,
  ];
  // Through the environment, so folders the machine already configures (PIP_FIND_LINKS) are kept, not replaced.
  const links = [...findLinks, process.env['PIP_FIND_LINKS'] ?? ''].join(' ').trim();
  try {
    return await runHostPython(options.hostPython, args, options.workDir, options.onLog, links === '' ? {} : { PIP_FIND_LINKS: links }, options.signal);
  } catch (error) {
    if (options.signal?.aborted === true) throw error;
    throw new WorkerError('wr_500', `the host python ${options.hostPython} cannot run pip (run scripts/setup.sh or set PVHUB_HOST_PYTHON): ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Wheels of requirements the worker itself pins (the report image's) and their dependencies, for the target python,
 * into dest: the resolution of a submission's requirements without source builds, as every pin has wheels.
 */
export async function downloadWheelhouse(options: WheelOptions, requirements: readonly string[], dest: string): Promise<void> {
  const result = await downloadWheels(options, requirements, dest, []);
  if (result.status !== 0) throw resolutionError(result, options.pythonVersion);
}

/** The requirement pip found no wheel for ("No matching distribution found for ruptures==1.1.8"), if that was why. */
export function requirementWithoutWheel(pipOutput: string): string | undefined {
  return /No matching distribution found for (\S+)/.exec(pipOutput)?.[1];
}

/** PEP 503 normalised project name, as wheel file names and the index compare them. */
function canonicalName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

interface FetchedSource {
  readonly file: string;
  readonly name: string;
  readonly build_requires: readonly string[];
}

/**
 * Makes a wheel of a requirement that has none for the target python: its source distribution is fetched as data
 * (container/fetch_sdist.py, which runs none of its code), its build requirements are resolved to wheels like any
 * other, and the sandbox builds it. The wheel lands in builtDir.
 */
async function buildFromSource(options: BuildContextOptions, requirement: string, builtDir: string, index: number): Promise<void> {
  const dir = path.join(options.workDir, 'sources', String(index));
  const sdistDir = path.join(dir, 'sdist');
  const buildWheelhouse = path.join(dir, 'build-wheels');
  const outDir = path.join(dir, 'out');
  await mkdir(buildWheelhouse, { recursive: true });
  await mkdir(outDir);
  options.onLog(`no wheel of ${requirement} for python ${options.pythonVersion}: building it from source in a sandbox`);
  const fetched = await runHostPython(options.hostPython, [FETCH_SDIST, requirement, options.pythonVersion, sdistDir], options.workDir, () => undefined, {}, options.signal);
  const why = fetched.output.trim().split('\n').pop() ?? '';
  if (fetched.status === FETCH_UNREACHABLE) throw new WorkerError('wr_500', `the package index cannot be reached: ${why}`);
  if (fetched.status !== 0) {
    throw new WorkerError('op_2', `requirement ${requirement} cannot be installed: the package index has no wheel of it for python ${options.pythonVersion} on Linux, and ${why}`);
  }
  const source = JSON.parse(fetched.stdout.trim().split('\n').pop() ?? '{}') as FetchedSource;
  // The archive's own words: only named requirements reach host pip, as for requirements.txt (a URL would be built
  // on this host whatever --only-binary says).
  const buildRequires = parseRequirements(source.build_requires.join('\n'), `${requirement}'s [build-system] requires`);
  const buildRequirements = await downloadWheels(options, buildRequires, buildWheelhouse, [builtDir]);
  if (buildRequirements.status !== 0) {
    throw new WorkerError('op_2', `requirement ${requirement} has no wheel, and the build requirements of its source (${source.build_requires.join(', ')}) cannot be resolved: ${pipErrors(buildRequirements)}`);
  }
  await options.buildFromSource({ requirement, archive: source.file, buildWheelhouse, outDir, signal: options.signal });
  // What the sandbox wrote is the build script's choice: only one wheel of the project asked for is taken, so a
  // hostile build cannot slip in wheels that would shadow other requirements.
  const written = await readdir(outDir, { withFileTypes: true });
  const wheel = written.length === 1 && written[0]?.isFile() ? written[0].name : undefined;
  if (wheel === undefined || !wheel.endsWith('.whl') || canonicalName(wheel.split('-')[0] ?? '') !== canonicalName(source.name)) {
    throw new WorkerError('op_2', `requirement ${requirement}: the build of its source distribution wrote ${written.map((entry) => entry.name).join(', ') || 'nothing'} instead of one wheel of ${source.name}`);
  }
  const direct = await directReferences(path.join(outDir, wheel));
  if (direct.length > 0) {
    throw new WorkerError('op_2', `requirement ${requirement}: its built wheel depends on URLs (${direct.join('; ').slice(0, 500)}), which are not accepted`);
  }
  await copyFile(path.join(outDir, wheel), path.join(builtDir, wheel));
}

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

/** Largest METADATA read from a wheel built here; a real one is a few KiB. */
const METADATA_MAX_BYTES = 1024 * 1024;

/**
 * The Requires-Dist entries of a wheel that name a URL ("x @ https://…"). The next resolution reads them, and pip
 * builds a URL's source on this host whatever --only-binary says: a hostile build must not get that far.
 */
export async function directReferences(wheel: string): Promise<string[]> {
  const refuse = (why: string) => new WorkerError('op_2', `${path.basename(wheel)}: ${why}`);
  let directory: unzipper.CentralDirectory;
  try {
    directory = await unzipper.Open.file(wheel);
  } catch (error) {
    throw refuse(`not a readable wheel (${(error as Error).message})`);
  }
  // pip reads the last of entries that share a name, a check that reads the first would read another file: none twice.
  const names = new Set<string>();
  for (const entry of directory.files) {
    if (names.has(entry.path)) throw refuse(`has the entry ${entry.path} twice`);
    names.add(entry.path);
  }
  const metadata = directory.files.filter((entry) => /^[^/]+\.dist-info\/METADATA$/.test(entry.path));
  if (metadata.length !== 1 || metadata[0] === undefined) throw refuse(`has ${metadata.length} .dist-info/METADATA files instead of one`);
  const text = await boundedText(metadata[0], METADATA_MAX_BYTES).catch((error: unknown) => {
    throw refuse(`its METADATA cannot be read (${(error as Error).message})`);
  });
  return text
    // Folded header lines continue the one before.
    .replace(/\r?\n[ \t]+/g, ' ')
    .split(/\r?\n/)
    .filter((line) => /^Requires-Dist:/i.test(line))
    .map((line) => line.slice('Requires-Dist:'.length).trim())
    .filter((value) => {
      const requirement = value.split(';')[0] ?? '';
      return requirement.includes('@') || requirement.includes('://');
    });
}

/**
 * Resolves the requirements and the wrapper's to wheels in the wheelhouse. A requirement with no wheel for the
 * target python is built from source in the sandbox, then resolution starts again with that wheel offered, so its
 * own dependencies (read from the built wheel's metadata) are fetched in turn, until the set is closed.
 */
async function resolveWheels(options: BuildContextOptions, requirements: readonly string[], wheelhouse: string): Promise<void> {
  const builtDir = path.join(options.workDir, 'built-wheels');
  await mkdir(builtDir, { recursive: true });
  const builtFromSource = new Set<string>();
  for (;;) {
    const result = await downloadWheels(options, [...requirements, ...WRAPPER_REQUIREMENTS], wheelhouse, [builtDir]);
    if (result.status === 0) return;
    const missing = requirementWithoutWheel(result.output);
    // A second miss of the same requirement means its built wheel does not satisfy it: building again will not help.
    if (missing === undefined || result.status === null || builtFromSource.has(missing) || builtFromSource.size >= MAX_SOURCE_BUILDS) {
      throw resolutionError(result, options.pythonVersion);
    }
    builtFromSource.add(missing);
    await buildFromSource(options, missing, builtDir, builtFromSource.size);
  }
}

/**
 * What the wheels unpack to, from their zip directories: what the build writes to the engine's disk before the image
 * exists to be measured. pip writes no more than an entry's declared size, so the declared sizes bind. Stops counting
 * once past `limit`.
 */
async function installedBytes(wheelhouse: string, limit: number): Promise<number> {
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
  const wheelhouse = path.join(contextDir, 'wheelhouse');
  await resolveWheels(options, requirements, wheelhouse);
  const bytes = await installedBytes(wheelhouse, options.maxWheelhouseBytes);
  if (bytes > options.maxWheelhouseBytes) {
    throw new WorkerError('op_2', `the requirements come to ${bytes} bytes of wheels once unpacked, over the image size limit of ${options.maxWheelhouseBytes} bytes`);
  }
  return { contextDir, tag };
}
