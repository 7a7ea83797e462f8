import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type EgressSettings, type HostPattern, parseCidr, parseHostPattern } from './domain/egress-policy.js';
import type { ResourceLimits } from './domain/limits.js';
import { socketPathProblem } from './domain/ownership.js';
import { ConfigError, type Env, Reader } from './config-reader.js';

export interface AwsSettings {
  readonly region: string;
  /** Set for local servers (ElasticMQ, an S3-compatible server); unset means AWS itself. */
  readonly sqsEndpoint: string | undefined;
  readonly s3Endpoint: string | undefined;
  readonly queueName: string;
  readonly bucket: string;
  readonly createQueue: boolean;
  /**
   * Fixed keys for a local stack when the environment names none (ElasticMQ accepts any, and the Hub's local stack
   * uses x/x); unset means the SDK's default chain (environment, profile, instance role).
   */
  readonly localCredentials: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
  readonly timeouts: AwsTimeouts;
}

/** Time limits of each S3 and SQS request; a request past one fails as a time-out and is tried again. */
export interface AwsTimeouts {
  /** To open the connection. */
  readonly connectMs: number;
  /**
   * For the answer once the request is sent (a long poll's wait comes on top), and for each silence while a body
   * flows either way: a transfer is never cut while its bytes still move.
   */
  readonly answerMs: number;
}

/**
 * Where the bucket is: `s3` speaks the S3 protocol (to AWS, or to the S3-compatible server at `s3Endpoint`);
 * `emulator` is the Hub's local-stack "s3" service, which has its own three routes (contract §2).
 */
export type ObjectStoreSettings = { readonly kind: 's3' } | { readonly kind: 'emulator'; readonly url: string };

/** The AWS settings of the worker service; the store choice is apart from AwsSettings, which the SDK clients take. */
export interface WorkerAwsSettings extends AwsSettings {
  readonly objectStore: ObjectStoreSettings;
}

export interface HubSettings {
  readonly apiUrl: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly credentialsSecret: string;
  readonly credentialsSecretRegion: string;
  readonly requestTimeoutMs: number;
}

/**
 * Every setting of the worker, read from the environment in this one place. loadConfig is pure: it takes the
 * environment as an argument and either returns a typed config or throws ConfigError listing every bad setting.
 */
export interface WorkerConfig {
  readonly production: boolean;
  readonly workDir: string;
  readonly logLevel: string;
  readonly limits: ResourceLimits;
  readonly aws: WorkerAwsSettings;
  readonly hub: HubSettings;
  /** Hard limit on one job; kept below the 12-hour visibility cap of SQS. */
  readonly jobTimeLimitMs: number;
  /** Visibility lease asked for at each heartbeat. */
  readonly visibilityLeaseSeconds: number;
  readonly pollWaitSeconds: number;
  /**
   * After SIGTERM, how long the S3 and SQS requests still under way or still to make (the job's log, the message's
   * release) may take before they are abandoned, so that a stalled one cannot hold the exit.
   */
  readonly stopGraceMs: number;
  /** A message that spent this many tries (SIGTERM hand-backs not counted) is settled (failed, deleted) instead. */
  readonly maxReceives: number;
  /** Keep each job's workspace after it settles, for debugging. */
  readonly keepWorkspace: boolean;
  /** Submission images kept on the engine (a cache for resubmissions); the oldest beyond it go at worker start. */
  readonly imageCacheBytes: number;
  /**
   * Wheels built from source, kept so an archive is built once per target: `dir` under the work folder (it survives
   * restarts), and, when `bucketPrefix` is set (PVHUB_WHEEL_CACHE_PREFIX), the bucket too, shared by a fleet.
   */
  readonly wheelCache: { readonly dir: string; readonly bucketPrefix: string | undefined };
  /**
   * The file the worker touches at each poll and each visibility extension, and how old it may get before the
   * health check fails (a worker hung on the engine or the network is then replaced).
   */
  readonly health: { readonly file: string; readonly maxAgeSeconds: number };
  /** The host Python whose pip resolves wheels (submissions' and the report image's); no package code runs in it. */
  readonly hostPython: string;
  /**
   * Where a base image the engine lacks is pulled from, as `<repository>:<python>-slim`: Docker Hub's `python`, or
   * a mirror (an ECR repository); when the pull fails, versions Debian ships are built from Debian.
   */
  readonly baseImageRepository: string;
  /** Network access for tasks that list host:port pairs (README, "Network by allowlist"). */
  readonly egress: EgressSettings;
}

const HOUR_MS = 3_600_000;
/** The environment scripts/setup.sh makes. */
const DEFAULT_HOST_PYTHON = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../.cache/venv/bin/python');
/** pino's levels. */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Reads the configuration. Production is chosen by the presence of PROD (any value), as the Hub's deployments set
 * it; without it, the endpoints default to the Hub's local stack names (contract §2).
 */
export function loadConfig(env: Env, cpuCount: number = os.cpus().length): WorkerConfig {
  const read = new Reader(env);
  const production = env['PROD'] !== undefined;
  const region = read.text('AWS_DEFAULT_REGION', production ? 'us-west-2' : 'elasticmq');
  const s3Endpoint = read.url('PVHUB_S3_ENDPOINT', undefined);
  // The local stack's "s3" is not S3 (contract §2): without an S3 endpoint to use instead, it is the emulator.
  const objectStore: ObjectStoreSettings =
    production || s3Endpoint !== undefined
      ? { kind: 's3' }
      : { kind: 'emulator', url: read.httpUrl('PVHUB_S3_EMULATOR_URL', 'http://s3:5000') };
  const workDir = path.resolve(read.text('PVHUB_WORK_DIR', path.join(os.tmpdir(), 'pvhub-worker')));
  const visibilityLeaseSeconds = read.number('PVHUB_VISIBILITY_LEASE', 600, 30);
  const config: WorkerConfig = {
    production,
    workDir,
    logLevel: read.choice('LOG_LEVEL', 'info', LOG_LEVELS),
    limits: {
      containerMemoryBytes: read.bytes('PVHUB_CONTAINER_MEMORY', '8g'),
      containerNanoCpus: Math.round(read.number('PVHUB_CONTAINER_CPUS', 1, 0.01) * 1e9),
      containerPidsLimit: read.number('PVHUB_CONTAINER_PIDS', 256, 16),
      memoryReserveBytes: read.bytes('PVHUB_MEMORY_RESERVE', '1g'),
      maxParallel: read.number('PVHUB_MAX_PARALLEL', Math.max(1, cpuCount), 1),
      fileTimeLimitMs: read.number('PVHUB_FILE_TIME_LIMIT', 1800, 1) * 1000,
      buildTimeLimitMs: read.number('PVHUB_BUILD_TIME_LIMIT', 1200, 10) * 1000,
      imageSizeLimitBytes: read.bytes('PVHUB_IMAGE_SIZE_LIMIT', '8g'),
      outputCapBytes: read.bytes('PVHUB_OUTPUT_CAP', '1m'),
      resultsCapBytes: read.bytes('PVHUB_RESULTS_CAP', '256m'),
      earlyAbortFiles: read.number('PVHUB_EARLY_ABORT_FILES', 3, 0),
    },
    aws: {
      region,
      sqsEndpoint: read.url('PVHUB_SQS_ENDPOINT', production ? undefined : 'http://sqs:9324'),
      s3Endpoint,
      queueName: read.text('PVHUB_QUEUE_NAME', 'valhub_submission_queue.fifo'),
      bucket: read.text('S3_BUCKET_NAME', 'valhub-bucket'),
      createQueue: read.flag('PVHUB_CREATE_QUEUE', !production),
      localCredentials:
        production || read.optional('AWS_ACCESS_KEY_ID') !== undefined || read.optional('AWS_PROFILE') !== undefined
          ? undefined
          : { accessKeyId: 'x', secretAccessKey: 'x' },
      timeouts: {
        connectMs: read.number('PVHUB_AWS_CONNECT_TIMEOUT', 5, 1) * 1000,
        answerMs: read.number('PVHUB_AWS_TIMEOUT', 30, 1) * 1000,
      },
      objectStore,
    },
    hub: {
      apiUrl:
        read.url('PVHUB_API_URL', production ? 'https://api-pv-validation-hub.stratus.nrel.gov' : 'http://api:8005') ??
        'http://api:8005',
      ...read.credentials(),
      credentialsSecret: read.text('PVHUB_CREDENTIALS_SECRET', 'valhub-worker-credentials'),
      credentialsSecretRegion: read.text('PVHUB_CREDENTIALS_SECRET_REGION', production ? region : 'us-west-2'),
      requestTimeoutMs: read.number('PVHUB_API_TIMEOUT', 30, 1) * 1000,
    },
    jobTimeLimitMs: read.number('PVHUB_JOB_TIME_LIMIT', 11, 0.001) * HOUR_MS,
    visibilityLeaseSeconds,
    pollWaitSeconds: read.number('PVHUB_POLL_WAIT', 20, 0),
    stopGraceMs: read.number('PVHUB_STOP_GRACE', 20, 0) * 1000,
    maxReceives: read.number('PVHUB_MAX_RECEIVES', 3, 1),
    keepWorkspace: read.flag('PVHUB_KEEP_WORKSPACE', false),
    imageCacheBytes: read.bytes('PVHUB_IMAGE_CACHE', '40g'),
    wheelCache: { dir: path.join(workDir, 'wheel-cache'), bucketPrefix: read.optional('PVHUB_WHEEL_CACHE_PREFIX') },
    health: {
      // One per container: workers sharing a work folder must not keep each other's health check passing.
      file: path.resolve(read.text('PVHUB_HEALTH_FILE', path.join(workDir, 'health', `${os.hostname()}.alive`))),
      // A job's lease is extended every half lease: a whole lease without a touch is two beats missed.
      maxAgeSeconds: read.number('PVHUB_HEALTH_MAX_AGE', visibilityLeaseSeconds, 1),
    },
    hostPython: path.resolve(read.text('PVHUB_HOST_PYTHON', DEFAULT_HOST_PYTHON)),
    baseImageRepository: read.imageRepository('PVHUB_BASE_IMAGE_REPOSITORY', 'python'),
    egress: {
      // Off in production until the operator has decided which hosts tasks may reach (README).
      enabled: read.flag('PVHUB_EGRESS', !production),
      cap: read.list<HostPattern>('PVHUB_EGRESS_CAP', (item) => {
        const pattern = parseHostPattern(item);
        return typeof pattern === 'string' ? { problem: pattern } : pattern;
      }),
      outwardNetwork: read.text('PVHUB_EGRESS_NETWORK', 'bridge'),
      deny:
        read.list<string>(
          'PVHUB_EGRESS_DENY',
          (item) => parseCidr(item) ?? { problem: `"${item.trim()}" is not an IPv4 address or range` },
        ) ?? [],
    },
  };
  if (config.jobTimeLimitMs >= 12 * HOUR_MS) {
    read.problems.push('PVHUB_JOB_TIME_LIMIT must stay below 12 hours, the SQS visibility cap');
  }
  // SQS refuses longer waits and leases outright.
  if (config.pollWaitSeconds > 20) read.problems.push('PVHUB_POLL_WAIT must be at most 20 seconds (the SQS limit)');
  if (config.visibilityLeaseSeconds > 43_200)
    read.problems.push('PVHUB_VISIBILITY_LEASE must be at most 43200 seconds (12 hours)');
  if (!Number.isInteger(config.maxReceives)) read.problems.push('PVHUB_MAX_RECEIVES must be a whole number');
  if (config.limits.fileTimeLimitMs >= config.jobTimeLimitMs) {
    read.problems.push('PVHUB_FILE_TIME_LIMIT must be shorter than PVHUB_JOB_TIME_LIMIT');
  }
  const socketProblem = socketPathProblem(workDir);
  if (socketProblem !== undefined) read.problems.push(socketProblem);
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return config;
}
