import { spawn } from 'node:child_process';

/** A host program of the resolution (uv, pip, fetch_sdist.py) may run this long before it is killed. */
export const HOST_PROCESS_TIME_LIMIT_MS = 15 * 60_000;

export interface HostProcessResult {
  /** null when it was killed at the time limit. */
  readonly status: number | null;
  /** stdout and stderr as they came, the last 64 KiB. */
  readonly output: string;
  /** stdout alone, the last 64 KiB: where a program of ours writes its answer. */
  readonly stdout: string;
}

/** What host programs may see of the worker's environment: where to find things and how to reach the index, no secrets. */
const HOST_ENV =
  /^(PATH|HOME|LANG|LC_[A-Z]+|TMPDIR|SSL_CERT_(FILE|DIR)|REQUESTS_CA_BUNDLE|(HTTPS?|NO|ALL)_PROXY|PIP_[A-Z_]+|UV_[A-Z_]+)$/i;

function hostEnvironment(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const kept = Object.fromEntries(Object.entries(process.env).filter(([name]) => HOST_ENV.test(name)));
  // No colours: a test runner's FORCE_COLOR would put escape codes into the requirement names read back.
  return {
    ...kept,
    NO_COLOR: '1',
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    PIP_NO_INPUT: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    // uv would fetch an interpreter of the target version otherwise: the host python is the only one it may use.
    UV_PYTHON_DOWNLOADS: 'never',
    ...extra,
  };
}

/** Runs a host program, passing its lines to onLog and keeping the tail for errors; rejects when it cannot start. */
export function runHostProcess(
  command: string,
  args: readonly string[],
  cwd: string,
  onLog: (line: string) => void,
  env: NodeJS.ProcessEnv = {},
  signal?: AbortSignal,
): Promise<HostProcessResult> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const child = spawn(command, args, {
      signal,
      killSignal: 'SIGKILL',
      // The build's scratch folder, not the worker's: nothing there for a requirement to name.
      cwd,
      env: hostEnvironment(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Not spawn's own `timeout`: its timer outlives a program that failed to start, keeping the process alive.
    const timer = setTimeout(() => child.kill('SIGKILL'), HOST_PROCESS_TIME_LIMIT_MS);
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
