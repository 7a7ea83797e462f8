/**
 * The stream playground: the worker's own loop and job operators (memory scheduling, early abort, the visibility
 * heartbeat, retry-or-fail) on simulated messages, a simulated engine and a simulated Hub, printed as a timeline.
 * No Docker, queue or API. Every setting is a key=value argument:
 *
 *   npm run playground -- messages=2 latencyMs=300 freeGiB=20 containerGiB=8 failEvery=0 hubOutages=1 leaseSeconds=2
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lastValueFrom, NEVER, tap } from 'rxjs';
import { pino } from 'pino';
import { hubFileFormats } from '../src/adapters/file-formats.js';
import { LocalTaskStore } from '../src/adapters/local-task-store.js';
import { MemoryLedger } from '../src/adapters/memory-ledger.js';
import { SIMULATED_PROXY_IMAGE, SimulatedEngine } from '../src/adapters/simulated/engine.js';
import { EXAMPLE_TASK, RecordingHub } from '../src/adapters/simulated/hub.js';
import { SimulatedImages } from '../src/adapters/simulated/images.js';
import { MemoryPublisher } from '../src/adapters/simulated/publisher.js';
import { RecordingQueue } from '../src/adapters/simulated/queue.js';
import type { JobEvent } from '../src/domain/job-event.js';
import type { MessagePorts } from '../src/operators/settle-message.js';
import { messageHeartbeat } from '../src/streams/visibility-heartbeat.js';
import { serveJobs } from '../src/worker.js';

export interface PlaygroundSettings {
  /** Queued submissions, each a job of the example time-shift task (13 data files). */
  readonly messages: number;
  /** How long each simulated container runs. */
  readonly latencyMs: number;
  /** Memory free for containers, and what each reserves: the parallelism comes from these. */
  readonly freeGiB: number;
  readonly containerGiB: number;
  /** Every n-th data file of a job raises (0: none); three failures first stop the job (op_7). */
  readonly failEvery: number;
  /** The first this-many jobs find the Hub down while staging: released untold, tried again. */
  readonly hubOutages: number;
  /** The visibility lease: the heartbeat extends it every half lease (at least every second). */
  readonly leaseSeconds: number;
}

export const DEFAULTS: PlaygroundSettings = {
  messages: 2,
  latencyMs: 300,
  freeGiB: 20,
  containerGiB: 8,
  failEvery: 0,
  hubOutages: 1,
  leaseSeconds: 2,
};

const GIB = 1024 ** 3;
const BODY = (id: number) =>
  JSON.stringify({
    analysis_pk: 1,
    submission_pk: id,
    user_pk: 'playground',
    submission_filename: 'time-shift-correct',
    python_version: '3.11',
  });

function describe(event: JobEvent): string | undefined {
  switch (event.type) {
    case 'staged':
      return `staged: ${event.files} files, function ${event.functionName}`;
    case 'image':
      return `image ${event.tag}`;
    case 'file':
      return `file ${event.progress.done}/${event.progress.total} ${event.score.kind === 'scored' ? 'scored' : `failed ${event.score.failure.code}`} (parallel ${event.parallel})`;
    case 'scored':
      return `all files in: ${event.tally.rows.length} scored, ${event.tally.failed.length} failed, at most ${event.peakParallel} at once`;
    case 'finished':
      return `finished: ${JSON.stringify(event.publicResults.metrics)}`;
    case 'failed':
      return `failed ${event.error.code}${event.retry ? ' (back to the queue, the Hub not told)' : ''}: ${event.error.message}`;
    case 'cancelled':
      return `cancelled (${event.reason})`;
  }
}

/** Runs the simulation and returns its timeline, one line per happening, each stamped with the seconds since start. */
export async function playground(
  settings: PlaygroundSettings,
  print: (line: string) => void = () => undefined,
): Promise<string[]> {
  const started = Date.now();
  const timeline: string[] = [];
  const note = (line: string) => {
    const stamped = `${((Date.now() - started) / 1000).toFixed(2).padStart(6)} s  ${line}`;
    timeline.push(stamped);
    print(stamped);
  };
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'pvhub-playground-'));
  const messages = Array.from({ length: settings.messages }, (_, index) => ({
    id: `m${index + 1}`,
    body: BODY(index + 1),
    receiptHandle: `r${index + 1}`,
    receiveCount: 1,
    firstReceivedAt: Date.now(),
  }));
  const queue = new RecordingQueue(messages);
  queue.onAction = (action, message) =>
    note(
      action === 'receive'
        ? `${message.id} received (try ${message.receiveCount})`
        : `${message.id} ${action === 'extend' ? 'visibility extended' : `${action}d`}`,
    );
  const hub = new RecordingHub();
  let outages = settings.hubOutages;
  hub.onCall = (call) => {
    hub.failing.delete('systems');
    if (call === 'systems' && outages > 0) {
      outages -= 1;
      hub.unreachableFor('systems');
      note('the Hub is down for this call');
    }
  };
  const fileOrder = new Map<string, number>();
  const engine = new SimulatedEngine((fileName) => {
    const index = fileOrder.get(fileName) ?? fileOrder.size;
    fileOrder.set(fileName, index);
    return settings.failEvery > 0 && index % settings.failEvery === 0
      ? { kind: 'raises', message: 'simulated failure' }
      : { kind: 'correct' };
  }, settings.latencyMs);
  engine.onRun = (what, fileName) => note(`  container ${what === 'start' ? 'starts' : 'ends  '} ${fileName}`);
  const ports: MessagePorts = {
    store: new LocalTaskStore(
      EXAMPLE_TASK,
      path.join(path.dirname(fileURLToPath(import.meta.url)), '../examples/submissions/time-shift-correct'),
    ),
    hub,
    engine,
    images: new SimulatedImages(),
    egressProxyImage: async () => SIMULATED_PROXY_IMAGE,
    publisher: new MemoryPublisher(),
    files: hubFileFormats,
    freeMemory: () => settings.freeGiB * GIB,
    queue,
    ledgers: new MemoryLedger(),
    heartbeat:
      settings.leaseSeconds > 0 ? (message) => messageHeartbeat(queue, message, settings.leaseSeconds) : () => NEVER,
  };
  try {
    await lastValueFrom(
      serveJobs(
        ports,
        {
          limits: {
            containerMemoryBytes: settings.containerGiB * GIB,
            containerNanoCpus: 1e9,
            containerPidsLimit: 64,
            memoryReserveBytes: 0,
            maxParallel: 16,
            fileTimeLimitMs: 60_000,
            buildTimeLimitMs: 60_000,
            imageSizeLimitBytes: GIB,
            outputCapBytes: 1024 ** 2,
            resultsCapBytes: 1024 ** 2,
            earlyAbortFiles: 3,
          },
          jobTimeLimitMs: 3_600_000,
          maxReceives: 3,
          workDir,
          workerId: 'playground-1-000000',
          keepWorkspace: false,
          logLevel: 'silent',
          log: pino({ level: 'silent' }),
          signal: new AbortController().signal,
          pollWaitSeconds: 0,
          maxJobs: settings.messages + settings.hubOutages,
        },
        (event) => {
          const line = describe(event);
          if (line !== undefined) note(line);
        },
      ).pipe(tap((outcome) => note(`settled: ${JSON.stringify(outcome)}`))),
      { defaultValue: undefined },
    );
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
  return timeline;
}

function settingsFrom(args: readonly string[]): PlaygroundSettings {
  const given = Object.fromEntries(
    args.map((arg) => {
      const [key = '', value = ''] = arg.split('=');
      if (!(key in DEFAULTS) || !Number.isFinite(Number(value)))
        throw new Error(`unknown setting ${arg}; settings: ${Object.keys(DEFAULTS).join(', ')}`);
      return [key, Number(value)];
    }),
  );
  return { ...DEFAULTS, ...given };
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const settings = settingsFrom(process.argv.slice(2));
  console.log(`settings: ${JSON.stringify(settings)}`);
  await playground(settings, (line) => console.log(line));
}
