import { chmod, lstat, mkdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Observable } from 'rxjs';
import { fromAbortable } from '../streams/from-abortable.js';
import type { ResourceLimits } from '../domain/limits.js';
import type { FileRun, FileTask, WrapperReport } from '../domain/file-run.js';
import { s3Keys } from '../domain/s3-keys.js';
import { withNetworkHint } from '../domain/network-hint.js';
import { plainText } from '../domain/plain-text.js';
import { hostRanOutOfMemory, InfrastructureFault } from '../domain/infrastructure-fault.js';
import { judgeRun } from '../domain/wrapper-outcome.js';
import type { CollectedEntry, ContainerEngine } from '../ports/container-engine.js';
import { sandboxLimits, WRAPPER_PYTHON } from '../domain/sandbox.js';
import type { ObjectStore } from '../ports/object-store.js';
import { type BuiltWorkspace, hostsFile, workspacePaths } from '../domain/workspace.js';
import { fetchObject } from '../streams/fetch-object.js';
import type { Turn } from './run-within-memory.js';
import type { JobEgress } from './with-egress.js';

export interface RunFilePorts {
  readonly engine: ContainerEngine;
  readonly store: ObjectStore;
  readonly limits: ResourceLimits;
  /** Labels every container carries, so leftovers of this worker can be found and removed. */
  readonly labels: Readonly<Record<string, string>>;
  /** The job's way out to the hosts its task lists; undefined: no network. */
  readonly egress?: JobEgress | undefined;
  /** Bytes free for containers right now (the reserve kept aside): what tells a host out of memory. */
  readonly freeMemory: () => number;
  /** The job's group of results holders (ContainerEngine.openResultsHolders); undefined: the run's own. */
  readonly holders?: string | undefined;
}

export const WRAPPER_PATH = '/opt/pvhub/pvhub_wrapper.py';
export const OUTPUT_FILE = 'output.csv';
const STATUS_FILE = 'status.json';

/** The wrapper writes a few hundred bytes; anything bigger was written by the submission and is not read. */
const REPORT_MAX_BYTES = 64 * 1024;

async function readReport(file: string): Promise<WrapperReport | undefined> {
  try {
    // lstat: a link planted by the submission would make the worker read its own files.
    const info = await lstat(file);
    if (!info.isFile() || info.size > REPORT_MAX_BYTES) return undefined;
    const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as WrapperReport) : undefined;
  } catch {
    return undefined;
  }
}

/** Why the output was not copied out, when the container left something other than a regular file in its place. */
const notCollected = (entry: CollectedEntry | undefined) =>
  entry === undefined || entry === 'file' || entry === 'missing'
    ? undefined
    : `the output is a ${entry}, not a regular file, and was not kept`;

/**
 * How long a container started ahead of its turn waits for it, at most: the runs ahead of it end within their time
 * limit, and are handed on as they end. Past it the wrapper gives up (wr_500), and its results' holder with it.
 */
export const turnWaitLimitMs = (limits: ResourceLimits) => 2 * limits.fileTimeLimitMs + 60_000;

/** A run that goes at once, with no turn to wait for. */
const NOW: Turn = { go: Promise.resolve(), done: () => undefined };

/**
 * The wrapper's command line for one file (container/pvhub_wrapper.py). It runs isolated from site hooks (-I -S),
 * and enforces the time limit itself, so the container ends on time even when the worker is gone. It warms up, then
 * waits for the go on its stdin (the data file is in place by then).
 */
export function wrapperCommand(functionName: string, task: FileTask, limits: ResourceLimits): string[] {
  return [
    WRAPPER_PYTHON,
    '-I',
    '-S',
    WRAPPER_PATH,
    '--module',
    'submission_wrapper',
    '--function',
    functionName,
    '--data',
    `/data/${task.metadata.file_name}`,
    '--out',
    '/results',
    '--kwargs',
    JSON.stringify(task.kwargs),
    '--time-limit',
    String(limits.fileTimeLimitMs / 1000),
    '--go-on-stdin',
    '--wait-limit',
    String(turnWaitLimitMs(limits) / 1000),
  ];
}

async function runFileOnce(
  ws: BuiltWorkspace,
  task: FileTask,
  deps: RunFilePorts,
  signal: AbortSignal,
  turn: Turn,
): Promise<FileRun> {
  const runDir = path.join(workspacePaths(ws.dir).runs, String(task.index));
  // Mounted at /data, empty until the run's turn: the submission warms up without its data.
  const dataDir = path.join(runDir, 'data');
  const incomingDir = path.join(runDir, 'incoming');
  // What the run wrote that the worker reads, copied out of the engine as plain bytes.
  const resultsDir = path.join(runDir, 'results');
  await rm(runDir, { recursive: true, force: true });
  for (const dir of [dataDir, incomingDir, resultsDir]) await mkdir(dir, { recursive: true });
  // The container runs as an unprivileged uid that owns nothing on the host, whatever the worker's umask.
  await chmod(dataDir, 0o755);
  const incomingFile = path.join(incomingDir, task.metadata.file_name);
  await fetchObject(deps.store, s3Keys.dataFile(task.metadata.file_name), incomingFile, 'wr_10', signal);
  await chmod(incomingFile, 0o644);
  // One rename on one file system: the file appears in the container whole, just before the go. A run tried again
  // after a fault of ours keeps its turn: a try that ended before the go leaves the file to the next one.
  let tryEnded = false;
  const placed = turn.go.then(async () => {
    if (!tryEnded) await rename(incomingFile, path.join(dataDir, task.metadata.file_name));
  });
  const log = ws.log.child({ file: task.metadata.file_name });
  log.debug('container starting');
  const outcome = await deps.engine
    .runContainer(
      {
        image: ws.image,
        command: wrapperCommand(ws.config.functionName, task, deps.limits),
        mounts: [{ hostPath: dataDir, containerPath: '/data', readOnly: true }, ...(deps.egress?.mounts ?? [])],
        results: {
          containerPath: '/results',
          capBytes: deps.limits.resultsCapBytes,
          collect: [OUTPUT_FILE, STATUS_FILE],
          hostDir: resultsDir,
          holders: deps.holders,
        },
        network: deps.egress?.network,
        hostsFile: deps.egress === undefined ? hostsFile(ws.dir) : undefined,
        ...sandboxLimits(deps.limits),
        timeoutMs: deps.limits.fileTimeLimitMs,
        labels: { ...deps.labels, 'pvhub.file': task.metadata.file_name },
        turn: { go: placed, waitLimitMs: turnWaitLimitMs(deps.limits), ended: turn.done },
      },
      signal,
    )
    .finally(() => {
      tryEnded = true;
    });
  await rm(dataDir, { recursive: true, force: true });
  await rm(incomingDir, { recursive: true, force: true });
  const { containerMemoryBytes, memoryReserveBytes } = deps.limits;
  if (hostRanOutOfMemory(outcome, deps.freeMemory() + memoryReserveBytes, containerMemoryBytes)) {
    throw new InfrastructureFault(
      'host-out-of-memory',
      `the host ran out of memory under the container: less than its limit of ${containerMemoryBytes} bytes is available even after it was killed`,
    );
  }
  if (outcome.output.trim() !== '') {
    log.info({ output: outcome.output, truncated: outcome.outputTruncated }, 'submission output');
  }
  const verdict = judgeRun({
    exitCode: outcome.exitCode,
    timedOut: outcome.timedOut,
    oomKilled: outcome.oomKilled,
    resultsExceeded: outcome.resultsExceeded,
    resultsCapBytes: deps.limits.resultsCapBytes,
    timeLimitSeconds: deps.limits.fileTimeLimitMs / 1000,
    memoryLimitBytes: deps.limits.containerMemoryBytes,
    outputTail: outcome.output,
    durationMs: outcome.durationMs,
    report: await readReport(path.join(resultsDir, STATUS_FILE)),
  });
  const wallTimeMs = outcome.durationMs;
  if (!verdict.ok) {
    // The message is the submission's text: what reaches a terminal, a log message or the Hub has no control codes.
    const failure = withNetworkHint(
      { ...verdict.failure, message: plainText(verdict.failure.message) },
      ws.config.networkAllowlist,
      outcome.output,
    );
    log.warn({ code: failure.code, durationMs: wallTimeMs }, failure.message);
    return { kind: 'failed', task, failure, wallTimeMs };
  }
  log.info({ executionTime: verdict.executionTime, durationMs: wallTimeMs }, 'file ran');
  return {
    kind: 'ran',
    task,
    executionTime: verdict.executionTime,
    outputPath: path.join(resultsDir, OUTPUT_FILE),
    outputProblem: notCollected(outcome.collected?.[OUTPUT_FILE]),
    functionParameters: verdict.functionParameters,
    wallTimeMs,
  };
}

/**
 * Runs the submission on one data file in its own container. Cold and cancellable: unsubscribing aborts the run,
 * and the engine removes the container before the abort settles. Breaking problems (the data file is missing)
 * error the Observable; so do faults of ours (an InfrastructureFault: the container vanished, the engine did not
 * answer, the host ran out of memory), which another try may not meet; everything the submission does wrong is a
 * `failed` FileRun.
 *
 * Given a turn, the container is made and warms up at once (the interpreter, pandas, the submission's imports) with an
 * empty /data; at the turn's go the data file is placed there and the wrapper told to start, and the run's time
 * counts from there. Its turn is done as soon as its container has ended.
 */
export function runFile(ws: BuiltWorkspace, task: FileTask, deps: RunFilePorts, turn = NOW): Observable<FileRun> {
  return fromAbortable((signal) => runFileOnce(ws, task, deps, signal, turn));
}
