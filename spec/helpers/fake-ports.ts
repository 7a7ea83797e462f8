import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { hubFileFormats } from '../../src/adapters/file-formats.js';
import { LocalHubApi } from '../../src/adapters/local-hub-api.js';
import { LocalTaskStore } from '../../src/adapters/local-task-store.js';
import { WorkerError } from '../../src/domain/errors.js';
import type { Job } from '../../src/domain/job.js';
import type { ResourceLimits } from '../../src/domain/limits.js';
import type { FileMetadata, SystemMetadata } from '../../src/domain/metadata.js';
import type { ResultsObject } from '../../src/domain/results.js';
import { createJobLogger, JOB_LOG_FILE, type JobLogger } from '../../src/logging.js';
import type { JobPorts } from '../../src/operators/evaluate-submission.js';
import type { ContainerEngine, ContainerOutcome, ContainerRunSpec, ImageBuildSpec } from '../../src/ports/container-engine.js';
import type { BreakingError, HubApi, NonBreakingError, SubmissionStatus } from '../../src/ports/hub-api.js';
import type { ImageBuilder, SubmissionImage, SubmissionImageRequest } from '../../src/ports/image-builder.js';
import type { JobQueue, QueueMessage } from '../../src/ports/job-queue.js';
import type { ObjectStore } from '../../src/ports/object-store.js';
import type { ResultNames, ResultsPublisher } from '../../src/ports/results-publisher.js';

/** In-memory fakes of every port the job talks to, for specs of the job's operators that need no engine. */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const TIME_SHIFT_TASK = path.join(ROOT, 'examples/tasks/time-shift-detection');
export const CORRECT_SUBMISSION = path.join(ROOT, 'examples/submissions/time-shift-correct');

/** The Hub: answers from a task folder's CSV files (as the local command does) and records every call it is sent. */
export class RecordingHub implements HubApi {
  readonly calls: string[] = [];
  readonly statuses: SubmissionStatus[] = [];
  readonly fileErrors: NonBreakingError[] = [];
  readonly breakingErrors: BreakingError[] = [];
  readonly results: ResultsObject[] = [];
  readonly progress: number[] = [];
  /** Calls named here reject with their error. */
  readonly failing = new Map<string, Error>();
  private readonly answers: LocalHubApi;

  /** The Hub down for this call, as the HTTP adapter reports it (wr_5, retryable). */
  unreachableFor(call: string): void {
    this.failing.set(call, new WorkerError('wr_5', `${call}: connect ECONNREFUSED`));
  }

  constructor(taskDir: string = TIME_SHIFT_TASK) {
    this.answers = new LocalHubApi(taskDir, pino({ level: 'silent' }), ['3.11']);
  }

  private async record(call: string): Promise<void> {
    this.calls.push(call);
    const failure = this.failing.get(call);
    if (failure) throw failure;
  }

  async setStatus(_id: number, status: SubmissionStatus): Promise<void> {
    await this.record(`status ${status}`);
    this.statuses.push(status);
  }
  async fileMetadata(fileId: number): Promise<FileMetadata> {
    await this.record('file metadata');
    return this.answers.fileMetadata(fileId);
  }
  async fileMetadataMany(fileIds: readonly number[]): Promise<FileMetadata[]> {
    await this.record('file metadata');
    return this.answers.fileMetadataMany(fileIds);
  }
  async systemMetadata(): Promise<SystemMetadata[]> {
    await this.record('systems');
    return this.answers.systemMetadata();
  }
  async pythonVersions(): Promise<string[]> {
    await this.record('versions');
    return ['3.9', '3.10', '3.11', '3.12'];
  }
  async createBlankErrorReport(): Promise<void> {
    await this.record('blank error report');
  }
  async progressIncrement(_id: number, fileExecTime: number): Promise<void> {
    await this.record('progress');
    this.progress.push(fileExecTime);
  }
  async reportFileError(_id: number, error: NonBreakingError): Promise<void> {
    await this.record('file error');
    this.fileErrors.push(error);
  }
  async reportBreakingError(_id: number, error: BreakingError): Promise<void> {
    await this.record('breaking error');
    this.breakingErrors.push(error);
  }
  async updateResult(_id: number, results: ResultsObject): Promise<void> {
    await this.record('result');
    this.results.push(results);
  }
}

/** What the fake submission does on one data file. */
export type FileBehaviour =
  | { readonly kind: 'correct'; readonly seconds?: number }
  | { readonly kind: 'raises'; readonly message: string }
  /** Runs until its time limit or until it is stopped. */
  | { readonly kind: 'hangs' };

/**
 * The engine with instant containers: a run plays the wrapper (status.json and output.csv in the results mount) as
 * `behaviour` says, after `delayMs`; an aborted run rejects at once. Every container started, still running or
 * removed by label is counted, so a spec can prove none is left behind.
 */
export class FakeEngine implements ContainerEngine {
  readonly started: string[] = [];
  readonly running = new Set<string>();
  removals = 0;

  constructor(
    private readonly behaviour: (fileName: string) => FileBehaviour,
    private readonly delayMs = 0,
    private readonly referenceDir = path.join(TIME_SHIFT_TASK, 'validation_data'),
  ) {}

  async imageExists(): Promise<boolean> {
    return true;
  }
  async buildImage(_spec: ImageBuildSpec): Promise<void> {}
  async pruneImages(): Promise<string[]> {
    return [];
  }

  async removeContainers(labels: Readonly<Record<string, string>>): Promise<number> {
    this.removals += 1;
    const removed = [...this.running].filter(() => labels['pvhub.managed'] === 'true');
    for (const name of removed) this.running.delete(name);
    return removed.length;
  }

  async runContainer(spec: ContainerRunSpec, signal: AbortSignal): Promise<ContainerOutcome> {
    const dataMount = spec.mounts.find((mount) => mount.containerPath === '/data');
    const resultsMount = spec.mounts.find((mount) => mount.containerPath === '/results');
    if (!dataMount || !resultsMount) throw new Error('a run mounts /data and /results');
    const fileName = spec.labels['pvhub.file'] ?? '?';
    const name = `run-${this.started.length}-${fileName}`;
    this.started.push(fileName);
    this.running.add(name);
    const behaviour = this.behaviour(fileName);
    try {
      await this.wait(behaviour.kind === 'hangs' ? spec.timeoutMs : this.delayMs, signal);
      if (behaviour.kind === 'hangs') return { exitCode: null, timedOut: true, oomKilled: false, output: '', outputTruncated: false, durationMs: spec.timeoutMs };
      const status = (report: object) => writeFile(path.join(resultsMount.hostPath, 'status.json'), JSON.stringify(report));
      if (behaviour.kind === 'raises') {
        await status({ ok: false, code: 'op_5', message: behaviour.message });
        return { exitCode: 1, timedOut: false, oomKilled: false, output: `ValueError: ${behaviour.message}\n`, outputTruncated: false, durationMs: this.delayMs };
      }
      await copyFile(path.join(this.referenceDir, fileName), path.join(resultsMount.hostPath, 'output.csv'));
      await status({ ok: true, execution_time: behaviour.kind === 'correct' ? (behaviour.seconds ?? 0.5) : 0, function_parameters: ['time_series', 'latitude'] });
      return { exitCode: 0, timedOut: false, oomKilled: false, output: '', outputTruncated: false, durationMs: this.delayMs };
    } finally {
      this.running.delete(name);
    }
  }

  /** Resolves after `ms`; an abort rejects at once, as the real engine's run does. */
  private wait(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new Error('aborted'));
      const timer = setTimeout(resolve, ms);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(new Error('aborted'));
      });
    });
  }
}

/**
 * The images: every submission image is "built" at once (its build start reported), or reused from the cache when
 * `cached`, or the build fails as the request's requirements would.
 */
export class FakeImages implements ImageBuilder {
  readonly requests: SubmissionImageRequest[] = [];
  constructor(
    private readonly failure?: WorkerError,
    private readonly cached = false,
  ) {}

  async submissionImage(request: SubmissionImageRequest): Promise<SubmissionImage> {
    this.requests.push(request);
    if (this.cached) return { tag: 'pvhub-submission:fake', cached: true, warnings: [] };
    request.onBuildStart?.();
    if (this.failure) throw this.failure;
    const requirements = await readFile(path.join(request.submissionDir, 'requirements.txt'), 'utf8').catch(() => undefined);
    return { tag: 'pvhub-submission:fake', cached: false, warnings: requirements === undefined ? ['no requirements.txt'] : [] };
  }
  async reportImage(): Promise<string> {
    throw new Error('the fake has no report image');
  }
  async pruneSubmissionImages(): Promise<string[]> {
    return [];
  }
}

/** Results and logs published into memory: which files, under which names, and the job log's text. */
export class MemoryPublisher implements ResultsPublisher {
  readonly published: string[] = [];
  readonly logs: string[] = [];
  readonly logTexts: string[] = [];
  async publishResults(_job: Job, resultsDir: string, names: ResultNames): Promise<void> {
    this.published.push(path.join(resultsDir, names.publicResultsTable));
  }
  async publishLogs(_job: Job, logsDir: string): Promise<void> {
    this.logs.push(logsDir);
    this.logTexts.push(await readFile(path.join(logsDir, JOB_LOG_FILE), 'utf8'));
  }
}

/** A queue that records what the worker does with its messages. */
export class RecordingQueue implements JobQueue {
  readonly actions: string[] = [];
  constructor(private readonly messages: QueueMessage[] = []) {}
  async receive(): Promise<QueueMessage | undefined> {
    return this.messages.shift();
  }
  async extendVisibility(): Promise<void> {
    this.actions.push('extend');
  }
  async delete(): Promise<void> {
    this.actions.push('delete');
  }
  async release(): Promise<void> {
    this.actions.push('release');
  }
}

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

export const FAKE_JOB: Job = { analysisId: 1, submissionId: 7, userId: 'u', submissionFilename: 'time-shift-correct', pythonVersion: '3.11' };

export interface FakeJobWorld {
  readonly ports: JobPorts;
  readonly hub: RecordingHub;
  readonly engine: FakeEngine;
  readonly images: FakeImages;
  readonly publisher: MemoryPublisher;
  readonly workDir: string;
  readonly jobLog: JobLogger;
}

/** The ports of one job against the example time-shift task and submission, in a fresh work folder. */
export async function fakeJobWorld(
  options: { behaviour?: (fileName: string) => FileBehaviour; delayMs?: number; buildFailure?: WorkerError; cachedImage?: boolean; submission?: string } = {},
): Promise<FakeJobWorld> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'pvhub-fake-job-'));
  const hub = new RecordingHub();
  const engine = new FakeEngine(options.behaviour ?? (() => ({ kind: 'correct' })), options.delayMs);
  const images = new FakeImages(options.buildFailure, options.cachedImage);
  const publisher = new MemoryPublisher();
  const store: ObjectStore = new LocalTaskStore(TIME_SHIFT_TASK, options.submission ?? CORRECT_SUBMISSION);
  const jobLog = createJobLogger('debug', FAKE_JOB, path.join(workDir, 'logs'));
  const ports: JobPorts = { store, hub, engine, images, publisher, files: hubFileFormats, freeMemory: () => 4 * 1024 ** 3 };
  return { ports, hub, engine, images, publisher, workDir, jobLog };
}
