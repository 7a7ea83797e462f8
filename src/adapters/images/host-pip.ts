import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { basePythons } from '../python-versions.js';
import { WorkerError } from '../../domain/errors.js';
import { pipErrorSummary, requirementWithoutWheel } from '../../domain/requirements.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** Shared by every resolution on this machine, so a second one downloads nothing. */
const PIP_CACHE = path.join(ROOT, '.cache/pip');
/** glibc of the registry's python:<v>-slim images (Debian bookworm), for versions this worker does not build itself. */
const REGISTRY_GLIBC_MINOR = 36;
export const RESOLVE_TIME_LIMIT_MS = 15 * 60_000;
const MACHINE: Readonly<Record<string, string>> = { x64: 'x86_64', arm64: 'aarch64' };

/** What a resolution runs with: the target python, where it may write, and the host python that runs pip. */
export interface HostPipOptions {
  readonly pythonVersion: string;
  /** Scratch folder of this build: the cwd of host python, where requirement files are written. */
  readonly workDir: string;
  readonly onLog: (line: string) => void;
  /** Python whose pip resolves the wheels (config PVHUB_HOST_PYTHON). Nothing is installed into it. */
  readonly hostPython: string;
  /** Aborting it (the job cancelled or out of time) stops host pip at once. */
  readonly signal?: AbortSignal;
}

export interface HostPythonResult {
  readonly status: number | null;
  /** stdout and stderr as they came, the last 64 KiB. */
  readonly output: string;
  /** stdout alone, the last 64 KiB: where a program of ours writes its answer. */
  readonly stdout: string;
}

/** What host pip may see of the worker's environment: where to find things and how to reach the index, no secrets. */
const HOST_PYTHON_ENV =
  /^(PATH|HOME|LANG|LC_[A-Z]+|TMPDIR|SSL_CERT_(FILE|DIR)|REQUESTS_CA_BUNDLE|(HTTPS?|NO|ALL)_PROXY|PIP_[A-Z_]+)$/i;

function hostPythonEnvironment(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const kept = Object.fromEntries(Object.entries(process.env).filter(([name]) => HOST_PYTHON_ENV.test(name)));
  // No colours: a test runner's FORCE_COLOR would put escape codes into the requirement names read back.
  return {
    ...kept,
    NO_COLOR: '1',
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    PIP_NO_INPUT: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    ...extra,
  };
}

/** Runs a host python program (pip, fetch_sdist.py), passing its lines to onLog and keeping the tail for errors. */
export function runHostPython(
  python: string,
  args: readonly string[],
  cwd: string,
  onLog: (line: string) => void,
  env: NodeJS.ProcessEnv = {},
  signal?: AbortSignal,
): Promise<HostPythonResult> {
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
  return [
    ...tags,
    ...['manylinux2014', 'manylinux2010', 'manylinux1', 'linux'].map((legacy) => `${legacy}_${machine}`),
  ];
}

/** Turns pip's failure into a WorkerError: op_2 naming the package the submission asked for, wr_500 for ours. */
export function resolutionError(result: HostPythonResult, pythonVersion: string): WorkerError {
  const detail = pipErrorSummary(result.output);
  if (result.status === null)
    return new WorkerError('wr_500', `dependency resolution exceeded ${RESOLVE_TIME_LIMIT_MS / 60_000} minutes`);
  if (
    /NewConnectionError|Failed to establish a new connection|Temporary failure in name resolution|ProxyError/.test(
      result.output,
    )
  ) {
    return new WorkerError('wr_500', `the package index cannot be reached: ${detail}`);
  }
  const missing = requirementWithoutWheel(result.output) ?? /satisfies the requirement (\S+)/.exec(result.output)?.[1];
  if (missing !== undefined) {
    return new WorkerError(
      'op_2',
      `requirement ${missing} cannot be installed: the package index has no wheel of it for python ${pythonVersion} on Linux (${detail})`,
    );
  }
  return new WorkerError('op_2', `the requirements cannot be resolved: ${detail}`);
}

/** `pip download` of wheels only, for the target python, into dest; `findLinks` are folders of wheels built here. */
export async function downloadWheels(
  options: HostPipOptions,
  requirements: readonly string[],
  dest: string,
  findLinks: readonly string[],
): Promise<HostPythonResult> {
  // Beside the build's folders, never inside dest: the wheelhouse is part of the image's build context.
  const requirementsFile = path.join(await mkdtemp(path.join(options.workDir, 'requirements-')), 'requirements.txt');
  await writeFile(requirementsFile, requirements.map((line) => `${line}\n`).join(''));
  const args = [
    '-m',
    'pip',
    'download',
    // Wheels only: an sdist would run its build code on this host. Those are built in a sandbox (buildFromSource).
    '--only-binary=:all:',
    '--python-version',
    options.pythonVersion,
    '--implementation',
    'cp',
    '--abi',
    `cp${options.pythonVersion.replace('.', '')}`,
    ...platformTags(options.pythonVersion).flatMap((tag) => ['--platform', tag]),
    '--dest',
    dest,
    '--cache-dir',
    PIP_CACHE,
    '--progress-bar',
    'off',
    '--requirement',
    requirementsFile,
  ];
  // Through the environment, so folders the machine already configures (PIP_FIND_LINKS) are kept, not replaced.
  const links = [...findLinks, process.env['PIP_FIND_LINKS'] ?? ''].join(' ').trim();
  try {
    return await runHostPython(
      options.hostPython,
      args,
      options.workDir,
      options.onLog,
      links === '' ? {} : { PIP_FIND_LINKS: links },
      options.signal,
    );
  } catch (error) {
    if (options.signal?.aborted === true) throw error;
    throw new WorkerError(
      'wr_500',
      `the host python ${options.hostPython} cannot run pip (run scripts/setup.sh or set PVHUB_HOST_PYTHON): ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * Wheels of requirements the worker itself pins (the report image's) and their dependencies, for the target python,
 * into dest: the resolution of a submission's requirements without source builds, as every pin has wheels.
 */
export async function downloadWheelhouse(
  options: HostPipOptions,
  requirements: readonly string[],
  dest: string,
): Promise<void> {
  const result = await downloadWheels(options, requirements, dest, []);
  if (result.status !== 0) throw resolutionError(result, options.pythonVersion);
}
