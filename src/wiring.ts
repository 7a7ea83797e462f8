import type { Logger } from 'pino';
import { tap } from 'rxjs';
import { DirectoryPublisher } from './adapters/directory-publisher.js';
import { DockerEngine } from './adapters/docker-engine.js';
import { ensureEgressProxyImage } from './adapters/egress-proxy-image.js';
import { FaultClassifyingEngine } from './adapters/engine-faults.js';
import { hubFileFormats } from './adapters/file-formats.js';
import { HttpHubApi } from './adapters/http-hub-api.js';
import { credentialsFrom } from './adapters/hub-credentials.js';
import { builtWheelCache } from './adapters/images/built-wheel-cache.js';
import { DockerImageBuilder } from './adapters/images/docker-image-builder.js';
import { LocalHubApi } from './adapters/local-hub-api.js';
import { LocalTaskStore } from './adapters/local-task-store.js';
import { basePythons, HUB_PYTHON_VERSIONS } from './adapters/python-versions.js';
import { S3EmulatorStore } from './adapters/s3-emulator-store.js';
import { createS3Client, S3ObjectStore } from './adapters/s3-store.js';
import { createSqsClient, SqsJobQueue } from './adapters/sqs-queue.js';
import type { WorkerConfig } from './config.js';
import { memoryBudget } from './domain/memory-budget.js';
import type { JobPorts } from './operators/evaluate-submission.js';
import type { MessagePorts } from './operators/settle-message.js';
import type { ContainerEngine, ContainerSweep } from './ports/container-engine.js';
import type { ObjectStore } from './ports/object-store.js';
import { StoreLedger } from './adapters/store-ledger.js';
import { StorePublisher } from './sinks/store-publisher.js';
import { readMemory } from './streams/memory-readings.js';
import { messageHeartbeat } from './streams/visibility-heartbeat.js';

/**
 * Python versions a local evaluation may ask for: the Hub's (their base images pulled, or built from Debian where
 * it ships them), and those container/base/python-versions.json can build.
 */
export const LOCAL_PYTHON_VERSIONS = [...new Set([...HUB_PYTHON_VERSIONS, ...Object.keys(basePythons())])];

/**
 * The ports both commands share: the engine, the images made on it, the file formats, the memory free. The wheel
 * cache is in the work folder, and in the bucket too where there is one and a prefix is configured.
 */
function enginePorts(config: WorkerConfig, log: Logger, store?: ObjectStore) {
  const engine = new FaultClassifyingEngine(new DockerEngine());
  const { dir, bucketPrefix } = config.wheelCache;
  const wheelCache = builtWheelCache({
    dir,
    ...(store === undefined || bucketPrefix === undefined ? {} : { bucket: { store, prefix: bucketPrefix } }),
    onWarning: (message) => log.warn(message),
  });
  return {
    engine,
    images: new DockerImageBuilder({
      engine,
      limits: config.limits,
      hostPython: config.hostPython,
      baseImageRepository: config.baseImageRepository,
      wheelCache,
    }),
    files: hubFileFormats,
    freeMemory: () => memoryBudget(readMemory(), config.limits.memoryReserveBytes),
    egressProxyImage: () => ensureEgressProxyImage(engine),
  };
}

/** `evaluate`: the task folder as the bucket, the Hub's answers from its CSV files, results into an output folder. */
export function localPorts(
  config: WorkerConfig,
  taskDir: string,
  submission: string,
  outDir: string,
  log: Logger,
): { ports: Omit<JobPorts, 'ledger'>; publisher: DirectoryPublisher } {
  const publisher = new DirectoryPublisher(outDir, { hostPython: config.hostPython, log });
  const ports: Omit<JobPorts, 'ledger'> = {
    ...enginePorts(config, log),
    store: new LocalTaskStore(taskDir, submission),
    hub: new LocalHubApi(taskDir, log, LOCAL_PYTHON_VERSIONS),
    publisher,
  };
  return { ports, publisher };
}

function objectStore(config: WorkerConfig, log: Logger, signal: AbortSignal | undefined): ObjectStore {
  const { objectStore: where, bucket } = config.aws;
  return where.kind === 'emulator'
    ? new S3EmulatorStore(where.url, bucket, { log })
    : new S3ObjectStore(createS3Client(config.aws), bucket, { log, signal });
}

/**
 * `worker`: the Hub's queue, bucket and API, as the configuration names them. Aborting `stopDeadline` abandons
 * every S3 and SQS request still under way or still to come.
 */
export function servicePorts(
  config: WorkerConfig,
  log: Logger,
  stopDeadline?: AbortSignal,
): MessagePorts & {
  readonly engine: ContainerEngine & ContainerSweep;
  readonly queue: SqsJobQueue;
  readonly hub: HttpHubApi;
} {
  const queue = new SqsJobQueue(createSqsClient(config.aws, config.pollWaitSeconds), {
    queueName: config.aws.queueName,
    createQueue: config.aws.createQueue,
    leaseSeconds: config.visibilityLeaseSeconds,
    answerMs: config.aws.timeouts.answerMs,
    signal: stopDeadline,
  });
  const store = objectStore(config, log, stopDeadline);
  return {
    ...enginePorts(config, log, store),
    queue,
    store,
    hub: new HttpHubApi({
      baseUrl: config.hub.apiUrl,
      credentials: credentialsFrom(config.hub),
      requestTimeoutMs: config.hub.requestTimeoutMs,
      log,
    }),
    publisher: new StorePublisher(store),
    ledgers: new StoreLedger(store),
    heartbeat: (message) =>
      messageHeartbeat(queue, message, config.visibilityLeaseSeconds).pipe(
        tap((beat) => {
          if (beat.kind === 'refused')
            log.warn({ err: beat.error, messageId: message.id, seconds: beat.seconds }, 'visibility extension refused');
          else log.debug({ messageId: message.id, seconds: beat.seconds }, 'visibility extended');
        }),
      ),
  };
}
