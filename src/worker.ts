import { mkdir } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { concatMap, defer, fromEvent, lastValueFrom, map, merge, type Observable, repeat, take, takeUntil, tap } from 'rxjs';
import type { Logger } from 'pino';
import { DockerEngine } from './adapters/docker-engine.js';
import { DockerImageBuilder } from './adapters/images/docker-image-builder.js';
import { credentialsFrom, HttpHubApi } from './adapters/http-hub-api.js';
import { S3EmulatorStore } from './adapters/s3-emulator-store.js';
import { createS3Client, S3ObjectStore } from './adapters/s3-store.js';
import { createSqsClient, SqsJobQueue } from './adapters/sqs-queue.js';
import { loadConfig, type WorkerConfig } from './config.js';
import { submissionIdOf } from './domain/job.js';
import { createRootLogger } from './logging.js';
import { freeMemoryFor } from './main.js';
import type { JobEvent } from './pipeline/events.js';
import { handleMessage, type MessageDeps, type MessageOutcome, outcomeOf } from './pipeline/handle-message.js';
import { removeJobContainers } from './pipeline/remove-job-containers.js';
import { removeJobWorkspaces } from './pipeline/workspace.js';
import type { ContainerEngine } from './ports/container-engine.js';
import type { JobQueue, QueueMessage } from './ports/job-queue.js';
import { SIGNAL_EXIT } from './signals.js';
import { StorePublisher } from './sinks/store-publisher.js';
import { nextMessage } from './streams/next-message.js';
import { messageHeartbeat } from './streams/visibility-heartbeat.js';

export interface WorkerArgs {
  /** Messages to handle before exiting; 0 = until stopped. */
  readonly maxJobs: number;
}

export function parseWorkerArgs(args: readonly string[]): WorkerArgs {
  const { values } = parseArgs({ args: [...args], options: { 'max-jobs': { type: 'string', default: '1' } }, strict: true });
  const text = values['max-jobs'];
  const maxJobs = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(maxJobs)) {
    throw Object.assign(new TypeError(`--max-jobs must be a whole number (0 = until stopped), got ${text}`), { code: 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' });
  }
  return { maxJobs };
}

const MANAGED = { 'pvhub.managed': 'true' } as const;

/**
 * Messages one at a time, each asked for only when the previous one is settled, `maxJobs` of them (0 = no end),
 * each job kept invisible by the heartbeat while it runs. `onReceived` tells which message is in hand, for
 * cancellation; it stays in hand until its outcome is emitted. `onEvent` sees its job's events.
 */
export function serveJobs(
  deps: MessageDeps,
  pollWaitSeconds: number,
  maxJobs: number,
  onReceived: (message: QueueMessage) => void,
  onEvent: (event: JobEvent) => void = () => undefined,
): Observable<MessageOutcome> {
  const one = defer(() => nextMessage(deps.queue, pollWaitSeconds, () => deps.log.debug('no message'))).pipe(
    concatMap((message) => {
      onReceived(message);
      return handleMessage(message, deps, onEvent);
    }),
  );
  return maxJobs === 0 ? one.pipe(repeat()) : one.pipe(repeat(maxJobs));
}

/**
 * After a stop: the job's containers are removed (removeJobContainers), and the message goes back to the queue at
 * once for another worker, instead of staying hidden for the lease; unless the Hub already has the job's final word
 * (`final`: stopped while the job was settling), when another run would undo it: then it is deleted.
 */
async function cancelJob(message: QueueMessage | undefined, final: JobEvent | undefined, engine: ContainerEngine, queue: JobQueue, config: WorkerConfig, log: Logger): Promise<void> {
  const submissionId = message ? submissionIdOf(message.body) : undefined;
  const labels = submissionId !== undefined ? { ...MANAGED, 'pvhub.submission': String(submissionId) } : MANAGED;
  const removed = await removeJobContainers(engine, labels, log);
  if (removed > 0) log.warn({ removed, submissionId }, 'removed containers of the cancelled job');
  if (submissionId !== undefined && !config.keepWorkspace) await removeJobWorkspaces(config.workDir, submissionId);
  // The same decision as when the job settles undisturbed.
  const settled = message !== undefined && submissionId !== undefined && final !== undefined && outcomeOf({ submissionId }, final, message.receiveCount, config.maxReceives).action === 'deleted';
  if (message && settled) {
    await queue.delete(message).then(
      () => log.warn({ messageId: message.id, submissionId }, 'message deleted: the Hub had the final status already'),
      (error: unknown) => log.error({ err: error, messageId: message.id }, 'could not delete the message; it reappears when its lease ends'),
    );
  } else if (message) {
    await queue.release(message).then(
      () => log.warn({ messageId: message.id, submissionId }, 'message released for another worker'),
      (error: unknown) => log.error({ err: error, messageId: message.id }, 'could not release the message; it reappears when its lease ends'),
    );
  }
}

function buildDeps(config: WorkerConfig, log: Logger) {
  const queue = new SqsJobQueue(createSqsClient(config.aws), {
    queueName: config.aws.queueName,
    createQueue: config.aws.createQueue,
    leaseSeconds: config.visibilityLeaseSeconds,
  });
  const store =
    config.aws.objectStore.kind === 'emulator'
      ? new S3EmulatorStore(config.aws.objectStore.url, config.aws.bucket, { log })
      : new S3ObjectStore(createS3Client(config.aws), config.aws.bucket, { log });
  const hub = new HttpHubApi({ baseUrl: config.hub.apiUrl, credentials: credentialsFrom(config.hub), requestTimeoutMs: config.hub.requestTimeoutMs, log });
  const engine = new DockerEngine();
  const images = new DockerImageBuilder({ engine, limits: config.limits, hostPython: config.hostPython, baseImageRepository: config.baseImageRepository });
  const deps: MessageDeps = {
    queue,
    store,
    hub,
    engine,
    publisher: new StorePublisher(store),
    limits: config.limits,
    jobTimeLimitMs: config.jobTimeLimitMs,
    workDir: config.workDir,
    freeMemory: freeMemoryFor(config),
    keepWorkspace: config.keepWorkspace,
    images,
    maxReceives: config.maxReceives,
    logLevel: config.logLevel,
    log,
    heartbeat: (message) =>
      messageHeartbeat(queue, message, config.visibilityLeaseSeconds).pipe(
        tap((beat) => {
          if (beat.kind === 'refused') log.warn({ err: beat.error, messageId: message.id, seconds: beat.seconds }, 'visibility extension refused');
          else log.debug({ messageId: message.id, seconds: beat.seconds }, 'visibility extended');
        }),
      ),
  };
  return { deps, queue, engine, images, hub };
}

/**
 * `pvhub-worker worker [--max-jobs N]`: the Hub's worker service. Handles N messages (default 1, as the Hub deploys
 * it: one job per process, a fresh worker for the next), then exits 0. SIGTERM or SIGINT stops taking messages,
 * cancels the job under way (its containers removed, its message released) and exits 128 + the signal number;
 * a second signal exits at once.
 */
export async function runWorkerCommand(args: string[]): Promise<void> {
  const { maxJobs } = parseWorkerArgs(args);
  const config = loadConfig(process.env);
  const log = createRootLogger(config.logLevel);
  await mkdir(config.workDir, { recursive: true });
  const { deps, queue, engine, images, hub } = buildDeps(config, log);
  log.info(
    { queue: config.aws.queueName, bucket: config.aws.bucket, api: config.hub.apiUrl, maxJobs, production: config.production },
    'worker starting',
  );

  // Containers left by a worker that died (this host's engine); they hold memory the budget counts on.
  if (config.removeLeftoverContainers) {
    const leftovers = await engine.removeContainers(MANAGED);
    if (leftovers > 0) log.warn({ removed: leftovers }, 'removed containers left by an earlier worker');
  }
  // Each job may add a submission image of a gigabyte or more: the cache is held to its size here, oldest first.
  const pruned = await images.pruneSubmissionImages(config.imageCacheBytes).catch((error: unknown) => {
    log.warn({ err: error }, 'could not prune the submission image cache');
    return [];
  });
  if (pruned.length > 0) log.info({ removed: pruned.length, keepBytes: config.imageCacheBytes }, 'pruned the submission image cache');
  // A missing queue (wr_1), or credentials the Hub refuses (wr_5), stop the worker here, before any message is taken.
  await queue.queueUrl();
  await hub.signIn();

  let stoppedBy: string | undefined;
  const stop$ = merge(fromEvent(process, 'SIGTERM').pipe(map(() => 'SIGTERM')), fromEvent(process, 'SIGINT').pipe(map(() => 'SIGINT'))).pipe(
    take(1),
    tap((signal) => {
      stoppedBy = signal;
      log.warn({ signal }, 'stopping: no new messages; cancelling the job under way');
      process.once(signal, () => process.exit(SIGNAL_EXIT[signal] ?? 1));
    }),
  );

  let inHand: QueueMessage | undefined;
  let final: JobEvent | undefined;
  let handled = 0;
  const onReceived = (message: QueueMessage) => {
    inHand = message;
    final = undefined;
  };
  const onEvent = (event: JobEvent) => {
    if (event.type === 'finished' || event.type === 'failed') final = event;
  };
  await lastValueFrom(
    serveJobs(deps, config.pollWaitSeconds, maxJobs, onReceived, onEvent).pipe(
      tap((outcome) => {
        handled += 1;
        inHand = undefined;
        log.info({ ...outcome, handled }, 'job settled');
      }),
      takeUntil(stop$),
    ),
    { defaultValue: undefined },
  );

  if (stoppedBy !== undefined) {
    await cancelJob(inHand, final, engine, queue, config, log);
    log.warn({ handled, signal: stoppedBy }, 'worker stopped');
    process.exit(SIGNAL_EXIT[stoppedBy] ?? 1);
  }
  log.info({ handled }, 'worker done');
  // Idle keep-alive sockets of the SDKs and the engine must not keep a finished worker alive.
  process.exit(0);
}
