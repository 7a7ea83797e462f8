import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hubFileFormats } from '../../src/adapters/file-formats.js';
import { MemoryLedger } from '../../src/adapters/memory-ledger.js';
import { LocalTaskStore } from '../../src/adapters/local-task-store.js';
import { SIMULATED_PROXY_IMAGE, SimulatedEngine } from '../../src/adapters/simulated/engine.js';
import type { FileBehaviour } from '../../src/adapters/simulated/file-outcomes.js';
import { EXAMPLE_TASK, RecordingHub } from '../../src/adapters/simulated/hub.js';
import { SimulatedImages } from '../../src/adapters/simulated/images.js';
import { MemoryPublisher } from '../../src/adapters/simulated/publisher.js';
import type { WorkerError } from '../../src/domain/errors.js';
import type { Job } from '../../src/domain/job.js';
import type { ResourceLimits } from '../../src/domain/limits.js';
import { createJobLogger, type JobLogger } from '../../src/logging.js';
import type { JobOptions, JobPorts } from '../../src/operators/evaluate-submission.js';
import type { ObjectStore } from '../../src/ports/object-store.js';
import { LedgerSession } from '../../src/sinks/ledger-session.js';

/** The ports of one job against the example task, over the simulated adapters, for specs that need no engine. */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CORRECT_SUBMISSION = path.join(ROOT, 'examples/submissions/time-shift-correct');

export const FAKE_LIMITS: ResourceLimits = {
  containerMemoryBytes: 1024 ** 3,
  containerNanoCpus: 1e9,
  containerPidsLimit: 64,
  memoryReserveBytes: 0,
  maxParallel: 2,
  fileTimeLimitMs: 60_000,
  buildTimeLimitMs: 60_000,
  imageSizeLimitBytes: 1024 ** 3,
  outputCapBytes: 1024 ** 2,
  resultsCapBytes: 1024 ** 2,
  earlyAbortFiles: 3,
};

/** The worker the fake jobs run for (no socket: nothing sweeps a fake engine). */
export const FAKE_WORKER = 'spec-1-abcdef';

export const FAKE_JOB: Job = {
  analysisId: 1,
  submissionId: 7,
  userId: 'u',
  submissionFilename: 'time-shift-correct',
  pythonVersion: '3.11',
};

export interface FakeJobWorld {
  readonly ports: JobPorts;
  readonly hub: RecordingHub;
  readonly engine: SimulatedEngine;
  readonly images: SimulatedImages;
  readonly publisher: MemoryPublisher;
  readonly workDir: string;
  readonly jobLog: JobLogger;
  /** The job's ledger, where a second attempt finds what the first one kept. */
  readonly ledgers: MemoryLedger;
}

/** The ports of one job against the example time-shift task and submission, in a fresh work folder. */
export async function fakeJobWorld(
  options: {
    behaviour?: (fileName: string, start: number) => FileBehaviour;
    delayMs?: number;
    buildFailure?: WorkerError;
    cachedImage?: boolean;
    submission?: string;
    ledgers?: MemoryLedger;
    freeMemory?: () => number;
    /** A report image, whose containers the simulated engine plays. */
    reportImage?: boolean;
  } = {},
): Promise<FakeJobWorld> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'pvhub-fake-job-'));
  const hub = new RecordingHub();
  const engine = new SimulatedEngine(options.behaviour ?? (() => ({ kind: 'correct' })), options.delayMs);
  const images = new SimulatedImages(options.buildFailure, options.cachedImage, options.reportImage);
  const publisher = new MemoryPublisher();
  const store: ObjectStore = new LocalTaskStore(EXAMPLE_TASK, options.submission ?? CORRECT_SUBMISSION);
  const jobLog = createJobLogger('debug', FAKE_JOB, path.join(workDir, 'logs'));
  const ledgers = options.ledgers ?? new MemoryLedger();
  const ledger = await LedgerSession.open(ledgers, FAKE_JOB, jobLog.log);
  const ports: JobPorts = {
    store,
    hub,
    engine,
    images,
    publisher,
    files: hubFileFormats,
    freeMemory: options.freeMemory ?? (() => 4 * 1024 ** 3),
    ledger,
    egressProxyImage: async () => SIMULATED_PROXY_IMAGE,
  };
  return { ports, hub, engine, images, publisher, workDir, jobLog, ledgers };
}

/** A job's options in the world's work folder: small limits, a minute to run, never stopped from outside. */
export function fakeJobOptions(w: FakeJobWorld, overrides: Partial<JobOptions> = {}): JobOptions {
  return {
    limits: FAKE_LIMITS,
    timeLimitMs: 60_000,
    workDir: w.workDir,
    workerId: FAKE_WORKER,
    keepWorkspace: false,
    jobLog: w.jobLog,
    keepLogUnlessFinished: false,
    signal: new AbortController().signal,
    ...overrides,
  };
}
