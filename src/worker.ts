import { parseArgs } from 'node:util';
import { paceHeapForService } from './heap-pacing.js';
import { concatMap, defer, lastValueFrom, map, type Observable, repeat, takeWhile, tap } from 'rxjs';
import type { Logger } from 'pino';
import type { WorkerConfig } from './config.js';
import type { JobEvent } from './domain/job-event.js';
import { createRootLogger } from './logging.js';
import {
  type MessageOptions,
  type MessageOutcome,
  type MessagePorts,
  settleMessage,
} from './operators/settle-message.js';
import { touchHealthFile } from './sinks/health-file.js';
import { abortAfterGrace, SIGNAL_EXIT } from './signals.js';
import { abortReason } from './streams/abort-reason.js';
import { nextMessage } from './streams/next-message.js';
import { servicePorts } from './wiring.js';
import { cutBy } from './operators/cut-by.js';
import { REPORT_TIME_LIMIT_MS } from './operators/job-report.js';
import { holdOwnerMark, type OwnerMark } from './adapters/owner-mark.js';
import { unownedLifetimeMs } from './domain/ownership.js';
import { cleanUpAfterDeadOwners } from './sinks/dead-owners.js';

export interface WorkerArgs {
  /** Messages to handle before exiting; 0 = until stopped. */
  readonly maxJobs: number;
}

export function parseWorkerArgs(args: readonly string[]): WorkerArgs {
  const { values } = parseArgs({
    args: [...args],
    options: { 'max-jobs': { type: 'string', default: '1' } },
    strict: true,
  });
  const text = values['max-jobs'];
  const maxJobs = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(maxJobs)) {
    throw Object.assign(new TypeError(`--max-jobs must be a whole number (0 = until stopped), got ${text}`), {
      code: 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE',
    });
  }
  return { maxJobs };
}

export interface ServeOptions extends MessageOptions {
  readonly pollWaitSeconds: number;
  /** Messages to handle; 0 = until stopped. */
  readonly maxJobs: number;
  /** Called at each poll and each visibility extension: the worker's loop is alive. */
  readonly onAlive?: () => void;
}

/** A poll cut by the stop: the end of the worker's loop. */
const STOPPED = 'stopped' as const;

/**
 * Messages one at a time, each asked for only when the previous one is settled, `maxJobs` of them (0 = no end), each
 * job kept invisible by the heartbeat while it runs. Once the signal is aborted no message is asked for: a poll under
 * way is cut, and the job under way stops and settles its message (released for another worker, or deleted when the
 * Hub had its final status already). `onEvent` sees each job's events; `onAlive` each poll and each beat.
 */
export function serveJobs(
  ports: MessagePorts,
  options: ServeOptions,
  onEvent?: (event: JobEvent) => void,
): Observable<MessageOutcome> {
  const stopped$ = abortReason(options.signal).pipe(map(() => STOPPED));
  const alive = () => options.onAlive?.();
  const beating: MessagePorts = { ...ports, heartbeat: (message) => ports.heartbeat(message).pipe(tap(alive)) };
  const nextJob = defer(() => {
    alive();
    return nextMessage(ports.queue, options.pollWaitSeconds, () => {
      alive();
      options.log.debug('no message');
    });
  }).pipe(
    cutBy(stopped$),
    concatMap((polled) => (polled === STOPPED ? [STOPPED] : settleMessage(polled, beating, options, onEvent))),
  );
  const { maxJobs } = options;
  return nextJob.pipe(
    maxJobs === 0 ? repeat() : repeat(maxJobs),
    takeWhile((outcome): outcome is MessageOutcome => outcome !== STOPPED),
  );
}

async function startUp(
  ports: ReturnType<typeof servicePorts>,
  config: WorkerConfig,
  owner: OwnerMark,
  log: Logger,
): Promise<void> {
  const { imageCacheBytes } = config;
  // Containers left by workers that died (this host's engine) hold memory the budget counts on, their workspaces
  // disk, and their job logs would never reach the bucket; other workers' containers on this engine run on.
  const unownedLifetime = unownedLifetimeMs(config.limits, REPORT_TIME_LIMIT_MS);
  await cleanUpAfterDeadOwners(ports, {
    workDir: config.workDir,
    self: owner.id,
    unownedLifetimeMs: unownedLifetime,
    log,
  });
  // Each job may add a submission image of a gigabyte or more: the cache is held to its size here, oldest first.
  const pruned = await ports.images.pruneSubmissionImages(imageCacheBytes).catch((error: unknown) => {
    log.warn({ err: error }, 'could not prune the submission image cache');
    return [];
  });
  if (pruned.length > 0)
    log.info({ removed: pruned.length, keepBytes: imageCacheBytes }, 'pruned the submission image cache');
  // A missing queue (wr_1), or credentials the Hub refuses (wr_5), stop the worker here, before any message is taken.
  await ports.queue.queueUrl();
  await ports.hub.signIn();
}

/**
 * `pvhub-worker worker [--max-jobs N]`: the Hub's worker service. Handles N messages (default 1, as the Hub deploys
 * it: one job per process, a fresh worker for the next), then exits 0. SIGTERM or SIGINT stops taking messages,
 * stops the job under way (its containers removed, its message released) and exits 128 + the signal number; a
 * second signal exits at once.
 */
export async function runWorkerCommand(config: WorkerConfig, { maxJobs }: WorkerArgs): Promise<void> {
  paceHeapForService();
  const log = createRootLogger(config.logLevel);
  const stop = new AbortController();
  const ports = servicePorts(config, log, abortAfterGrace(stop.signal, config.stopGraceMs));
  const owner = await holdOwnerMark(config.workDir);
  log.info(
    {
      worker: owner.id,
      queue: config.aws.queueName,
      bucket: config.aws.bucket,
      api: config.hub.apiUrl,
      maxJobs,
      production: config.production,
    },
    'worker starting',
  );
  await startUp(ports, config, owner, log);

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log.warn({ signal }, 'stopping: no new messages; stopping the job under way');
      process.once(signal, () => process.exit(SIGNAL_EXIT[signal] ?? 1));
      stop.abort(signal);
    });
  }
  const options: ServeOptions = {
    limits: config.limits,
    jobTimeLimitMs: config.jobTimeLimitMs,
    egress: config.egress,
    maxReceives: config.maxReceives,
    workDir: config.workDir,
    workerId: owner.id,
    keepWorkspace: config.keepWorkspace,
    logLevel: config.logLevel,
    log,
    jobConsole: process.stdout,
    signal: stop.signal,
    pollWaitSeconds: config.pollWaitSeconds,
    maxJobs,
    onAlive: () => touchHealthFile(config.health.file),
  };
  let handled = 0;
  await lastValueFrom(
    serveJobs(ports, options).pipe(
      tap((outcome) => {
        handled += 1;
        log.info({ ...outcome, handled }, 'job settled');
      }),
    ),
    { defaultValue: undefined },
  ).catch((error: unknown) => {
    // After a stop, a release that failed or passed the grace leaves the message to come back when its lease ends.
    if (!stop.signal.aborted) throw error;
    log.error({ err: error }, 'the message of the job under way was not settled after the stop');
  });
  owner.release();
  if (stop.signal.aborted) {
    const signal = String(stop.signal.reason);
    log.warn({ handled, signal }, 'worker stopped');
    process.exit(SIGNAL_EXIT[signal] ?? 1);
  }
  log.info({ handled }, 'worker done');
  // Idle keep-alive sockets of the SDKs and the engine must not keep a finished worker alive.
  process.exit(0);
}
