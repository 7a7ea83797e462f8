import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { basePythons } from '../python-versions.js';
import { WorkerError } from '../../domain/errors.js';
import { projectNotFound, requirementWithoutWheel, resolverErrorSummary } from '../../domain/requirements.js';
import { HOST_PROCESS_TIME_LIMIT_MS, type HostProcessResult, runHostProcess } from './host-process.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** Shared by every resolution on this machine, so a second one downloads nothing. */
const PIP_CACHE = path.join(ROOT, '.cache/pip');
const UV_CACHE = path.join(ROOT, '.cache/uv');
/** glibc of the registry's python:<v>-slim images (Debian bookworm), for versions this worker does not build itself. */
const REGISTRY_GLIBC_MINOR = 36;
/** The newest manylinux platform uv names; a newer glibc would only admit more wheels, never fewer. */
const UV_NEWEST_GLIBC_MINOR = 40;
const MACHINE: Readonly<Record<string, string>> = { x64: 'x86_64', arm64: 'aarch64' };
/** uv's exit status when the requirements have no solution; any other failure is uv's, the index's or ours. */
const UV_NO_SOLUTION = 1;

/** What a resolution runs with: the target python, where it may write, and the host python beside which uv is. */
export interface WheelOptions {
  readonly pythonVersion: string;
  /** Scratch folder of this build: the cwd of the host programs, where requirement files are written. */
  readonly workDir: string;
  readonly onLog: (line: string) => void;
  /** The host Python (config PVHUB_HOST_PYTHON): its pip downloads, its venv's uv resolves. Nothing is installed into it. */
  readonly hostPython: string;
  /** Aborting it (the job cancelled or out of time) stops uv and pip at once. */
  readonly signal?: AbortSignal;
}

/** Why wheels could not be fetched; `withoutWheel` is set when a requirement has no wheel for the target python. */
export interface WheelShortfall {
  readonly error: WorkerError;
  readonly withoutWheel: string | undefined;
}

interface TargetPlatform {
  readonly machine: string;
  /** The base image's glibc: a wheel for a newer one would not load in it. */
  readonly glibcMinor: number;
}

export function targetPlatform(pythonVersion: string): TargetPlatform {
  const machine = MACHINE[process.arch];
  if (machine === undefined) throw new WorkerError('wr_500', `no manylinux wheels for this machine (${process.arch})`);
  const glibc = basePythons()[pythonVersion]?.glibc;
  return { machine, glibcMinor: glibc === undefined ? REGISTRY_GLIBC_MINOR : Number(glibc.split('_')[1]) };
}

/**
 * manylinux tags from the base image's glibc down to the oldest, newest first (pip prefers earlier ones, and does
 * not expand a tag to older ones itself).
 */
function pipPlatformTags({ machine, glibcMinor }: TargetPlatform): string[] {
  const tags: string[] = [];
  for (let minor = glibcMinor; minor >= 5; minor--) tags.push(`manylinux_2_${minor}_${machine}`);
  // Last the plain linux tag: the index accepts no such wheel, so only the ones built here from source match it.
  return [
    ...tags,
    ...['manylinux2014', 'manylinux2010', 'manylinux1', 'linux'].map((legacy) => `${legacy}_${machine}`),
  ];
}

/** Folders of wheels offered besides the index: those built here, and those the machine configures (PIP_FIND_LINKS). */
function findLinksWith(findLinks: readonly string[]): string[] {
  return [...findLinks, ...(process.env['PIP_FIND_LINKS'] ?? '').split(/\s+/)].filter((link) => link !== '');
}

async function runTool(
  command: string,
  args: readonly string[],
  options: WheelOptions,
  env: NodeJS.ProcessEnv = {},
): Promise<HostProcessResult> {
  try {
    return await runHostProcess(command, args, options.workDir, options.onLog, env, options.signal);
  } catch (error) {
    if (options.signal?.aborted === true) throw error;
    throw new WorkerError(
      'wr_500',
      `${command} cannot run (run scripts/setup.sh or set PVHUB_HOST_PYTHON to a venv's python that has pip and uv): ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * uv resolves for the target interpreter and platform: environment markers (`python_version < "3.11"`) are
 * evaluated for them, where pip's --python-version applies to wheel tags and Requires-Python only and evaluates
 * markers for the python running pip. Wheels only (`--only-binary`): an sdist's build code would run on this host.
 * The pins, one `name==version` a line, go to pinsFile.
 */
function resolvePins(
  options: WheelOptions,
  target: TargetPlatform,
  requirementsFile: string,
  pinsFile: string,
  findLinks: readonly string[],
): Promise<HostProcessResult> {
  const args = [
    'pip',
    'compile',
    '--quiet',
    '--no-header',
    '--no-annotate',
    // Only what the worker passes decides the resolution, no uv.toml of the host or of a folder above the build.
    '--no-config',
    '--python',
    options.hostPython,
    '--python-version',
    options.pythonVersion,
    '--python-platform',
    `${target.machine}-manylinux_2_${Math.min(target.glibcMinor, UV_NEWEST_GLIBC_MINOR)}`,
    '--only-binary',
    ':all:',
    '--cache-dir',
    UV_CACHE,
    ...findLinks.flatMap((link) => ['--find-links', link]),
    '--output-file',
    pinsFile,
    requirementsFile,
  ];
  const index = process.env['PIP_INDEX_URL'];
  const env = index !== undefined && process.env['UV_INDEX_URL'] === undefined ? { UV_INDEX_URL: index } : {};
  return runTool(path.join(path.dirname(options.hostPython), 'uv'), args, options, env);
}

/** pip fetches the pinned wheels, dependencies already resolved, into dest (uv has no download command). */
function downloadPins(
  options: WheelOptions,
  target: TargetPlatform,
  pinsFile: string,
  dest: string,
  findLinks: readonly string[],
): Promise<HostProcessResult> {
  const args = [
    '-m',
    'pip',
    'download',
    '--no-deps',
    '--only-binary=:all:',
    '--python-version',
    options.pythonVersion,
    '--implementation',
    'cp',
    '--abi',
    `cp${options.pythonVersion.replace('.', '')}`,
    ...pipPlatformTags(target).flatMap((tag) => ['--platform', tag]),
    '--dest',
    dest,
    '--cache-dir',
    PIP_CACHE,
    '--progress-bar',
    'off',
    '--requirement',
    pinsFile,
  ];
  return runTool(
    options.hostPython,
    args,
    options,
    findLinks.length === 0 ? {} : { PIP_FIND_LINKS: findLinks.join(' ') },
  );
}

/** uv's failure as a WorkerError: op_2 naming the package the submission asked for, wr_500 for ours. */
function resolutionError(result: HostProcessResult, pythonVersion: string): WorkerError {
  const detail = resolverErrorSummary(result.output);
  if (result.status === null)
    return new WorkerError('wr_500', `dependency resolution exceeded ${HOST_PROCESS_TIME_LIMIT_MS / 60_000} minutes`);
  if (result.status !== UV_NO_SOLUTION)
    return new WorkerError(
      'wr_500',
      `the requirements could not be resolved, the package index may be unreachable: ${detail}`,
    );
  const missing = requirementWithoutWheel(result.output);
  if (missing !== undefined) {
    return new WorkerError(
      'op_2',
      `requirement ${missing} cannot be installed: the package index has no wheel of it for python ${pythonVersion} on Linux (${detail})`,
    );
  }
  const unknown = projectNotFound(result.output);
  if (unknown !== undefined)
    return new WorkerError(
      'op_2',
      `requirement ${unknown} cannot be installed: the package index has no project of that name (${detail})`,
    );
  return new WorkerError('op_2', `the requirements cannot be resolved: ${detail}`);
}

/** A resolution that closed: its pins, one `name==version` each as uv wrote them, and the file that holds them. */
export interface ResolvedPins {
  readonly pins: readonly string[];
  readonly file: string;
}

/**
 * Pins `requirements` and all they depend on for the target python; `findLinks` are folders of wheels built here.
 * Resolves the pins, or why there are none.
 */
export async function resolveRequirements(
  options: WheelOptions,
  requirements: readonly string[],
  findLinks: readonly string[],
): Promise<ResolvedPins | WheelShortfall> {
  // Beside the build's folders, never inside a wheelhouse. A new folder each time: uv takes the pins of an existing
  // output file as preferences, which would carry one resolution into the next.
  const dir = await mkdtemp(path.join(options.workDir, 'requirements-'));
  const requirementsFile = path.join(dir, 'requirements.in');
  const pinsFile = path.join(dir, 'pins.txt');
  await writeFile(requirementsFile, requirements.map((line) => `${line}\n`).join(''));
  const target = targetPlatform(options.pythonVersion);
  const resolved = await resolvePins(options, target, requirementsFile, pinsFile, findLinksWith(findLinks));
  if (resolved.status !== 0) {
    const withoutWheel = resolved.status === UV_NO_SOLUTION ? requirementWithoutWheel(resolved.output) : undefined;
    return { error: resolutionError(resolved, options.pythonVersion), withoutWheel };
  }
  const pins = (await readFile(pinsFile, 'utf8'))
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  return { pins, file: pinsFile };
}

/** pip fetches the wheels of a resolution into dest; rejects wr_500 when it cannot (the index, not the submission). */
export async function downloadResolved(
  options: WheelOptions,
  resolved: ResolvedPins,
  dest: string,
  findLinks: readonly string[],
): Promise<void> {
  const target = targetPlatform(options.pythonVersion);
  const downloaded = await downloadPins(options, target, resolved.file, dest, findLinksWith(findLinks));
  if (downloaded.status !== 0)
    throw new WorkerError(
      'wr_500',
      `the resolved wheels cannot be downloaded: ${resolverErrorSummary(downloaded.output)}`,
    );
}

/**
 * The wheels of `requirements` and all they depend on, for the target python, into dest; `findLinks` are folders of
 * wheels built here. Resolves undefined when every wheel is there, else why not.
 */
export async function fetchWheels(
  options: WheelOptions,
  requirements: readonly string[],
  dest: string,
  findLinks: readonly string[],
): Promise<WheelShortfall | undefined> {
  const resolved = await resolveRequirements(options, requirements, findLinks);
  if ('error' in resolved) return resolved;
  await downloadResolved(options, resolved, dest, findLinks);
  return undefined;
}

/**
 * Wheels of requirements the worker itself pins (the report image's) and their dependencies, for the target python,
 * into dest: the resolution of a submission's requirements without source builds, as every pin has wheels.
 */
export async function downloadWheelhouse(
  options: WheelOptions,
  requirements: readonly string[],
  dest: string,
): Promise<void> {
  const shortfall = await fetchWheels(options, requirements, dest, []);
  if (shortfall !== undefined) throw shortfall.error;
}
