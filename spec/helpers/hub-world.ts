import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { ROOT } from './cli.js';
import { HUB_PASSWORD, HUB_USERNAME, type HubServer, type RecordedRequest, startHubServer } from './hub-server.js';
import { createBucket, requireServices, type Services, testS3Client, testSqsClient, uniqueName } from './services.js';

/**
 * The Hub's side of a worker, on loopback: a FIFO queue on ElasticMQ made as the Hub makes it, a bucket on the
 * S3-compatible server holding the example task under the contract's keys (§4), a stand-in of the Hub API, and the
 * submissions queued as the API queues them (§1). For specs and benchmarks that run the worker as the Hub does.
 */

export const TASK = path.join(ROOT, 'examples/tasks/time-shift-detection');
export const SUBMISSIONS = path.join(ROOT, 'examples/submissions');
export const ANALYSIS = 1;
/** A worker's run in a spec is killed, and fails, past this. */
export const WORKER_TIME_LIMIT_MS = 9 * 60_000;

/** The task's metadata tables as the API serves them: ints, floats and booleans typed. */
async function readTable(file: string): Promise<Array<Record<string, unknown>>> {
  const [header = '', ...lines] = (await readFile(file, 'utf8')).trim().split('\n');
  const columns = header.split(',');
  const typed = (text: string): unknown => {
    if (text === 'True' || text === 'False') return text === 'True';
    if (text.trim() !== '' && Number.isFinite(Number(text))) return Number(text);
    return text;
  };
  return lines.map((line) =>
    Object.fromEntries(line.split(',').map((cell, i) => [columns[i] ?? `c${i}`, typed(cell)])),
  );
}

export interface World {
  readonly services: Services;
  readonly bucket: string;
  readonly queueUrl: string;
  readonly queueName: string;
  readonly hub: HubServer;
  readonly work: string;
  readonly files: Array<Record<string, unknown>>;
}

export interface Submission {
  readonly submissionId: number;
  readonly userId: string;
  readonly filename: string;
}

const worlds: World[] = [];

export async function world(): Promise<World> {
  const services = await requireServices();
  const bucket = await createBucket(services, 'pvhub-worker-spec');
  const queueName = `${uniqueName('pvhub-worker-spec')}.fifo`;
  // Made as the Hub makes it (contract §1); the worker must find it, not create it.
  const created = await testSqsClient(services).send(
    new CreateQueueCommand({
      QueueName: queueName,
      Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false', VisibilityTimeout: '21600' },
    }),
  );
  const files = await readTable(path.join(TASK, 'file_metadata.csv'));
  const s3 = testS3Client(services);
  // What the API's submission_results route lists: the bucket's keys, as the worker left them.
  const resultsBucket = {
    list: async (prefix: string) =>
      ((await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).Contents ?? []).map(
        (object) => object.Key ?? '',
      ),
    url: (key: string) => `${services.s3Endpoint}/${bucket}/${key}`,
  };
  const hub = await startHubServer({
    fileMetadata: files,
    systemMetadata: await readTable(path.join(TASK, 'system_metadata.csv')),
    resultsBucket,
  });
  const work = await mkdtemp(path.join(os.tmpdir(), 'pvhub-worker-spec-'));
  const made: World = { services, bucket, queueUrl: created.QueueUrl ?? '', queueName, hub, work, files };
  worlds.push(made);
  return made;
}

/** Closes the API stand-in and removes the work folder of every world made since the last call. */
export async function disposeWorlds(): Promise<void> {
  for (const made of worlds.splice(0)) {
    await made.hub.close();
    await rm(made.work, { recursive: true, force: true });
  }
}

async function put(w: World, key: string, file: string): Promise<void> {
  await testS3Client(w.services).send(new PutObjectCommand({ Bucket: w.bucket, Key: key, Body: await readFile(file) }));
}

/**
 * The task under the contract's S3 keys (§4): scripts, data files, references. Metadata is the API's. `template`
 * replaces the task's template.py.
 */
export async function storeTask(
  w: World,
  omit: readonly string[] = [],
  template = path.join(TASK, 'template.py'),
): Promise<void> {
  for (const name of ['config.json', 'file_test_link.csv', 'template.py']) {
    if (!omit.includes(name))
      await put(w, `evaluation_scripts/${ANALYSIS}/${name}`, name === 'template.py' ? template : path.join(TASK, name));
  }
  for (const name of await readdir(path.join(TASK, 'data')))
    await put(w, `data_files/files/${name}`, path.join(TASK, 'data', name));
  for (const name of await readdir(path.join(TASK, 'validation_data'))) {
    await put(w, `data_files/references/${ANALYSIS}/${name}`, path.join(TASK, 'validation_data', name));
  }
}

/**
 * The archive where the API stores it, and the message the API sends (contract §1): in message group "1", as the
 * API sends every submission, unless another group is given. `zip` names an example submission, or is a path.
 */
export async function submit(w: World, zip: string, submissionId: number, groupId = '1'): Promise<Submission> {
  const userId = randomUUID();
  const filename = `${randomUUID()}_${path.basename(zip)}`;
  await put(
    w,
    `submission_files/submission_user_${userId}/submission_${submissionId}/${filename}`,
    path.resolve(SUBMISSIONS, zip),
  );
  w.hub.addSubmission(submissionId, userId);
  await sendRaw(
    w,
    JSON.stringify({
      analysis_pk: ANALYSIS,
      submission_pk: submissionId,
      user_pk: userId,
      submission_filename: filename,
      python_version: '3.11',
    }),
    String(submissionId),
    groupId,
  );
  return { submissionId, userId, filename };
}

export async function sendRaw(w: World, body: string, deduplicationId: string, groupId = '1'): Promise<void> {
  await testSqsClient(w.services).send(
    new SendMessageCommand({
      QueueUrl: w.queueUrl,
      MessageBody: body,
      MessageGroupId: groupId,
      MessageDeduplicationId: deduplicationId,
    }),
  );
}

/** The worker's settings for this world: everything pointing at the local servers, small limits for a 2-core machine. */
export function workerSettings(w: World): Record<string, string> {
  return {
    PVHUB_SQS_ENDPOINT: w.services.sqsEndpoint,
    PVHUB_S3_ENDPOINT: w.services.s3Endpoint,
    PVHUB_API_URL: w.hub.url,
    PVHUB_QUEUE_NAME: w.queueName,
    PVHUB_CREATE_QUEUE: 'false',
    S3_BUCKET_NAME: w.bucket,
    AWS_ACCESS_KEY_ID: 'x',
    AWS_SECRET_ACCESS_KEY: 'x',
    AWS_DEFAULT_REGION: 'us-east-1',
    worker_username: HUB_USERNAME,
    worker_password: HUB_PASSWORD,
    PVHUB_WORK_DIR: w.work,
    PVHUB_CONTAINER_MEMORY: '1g',
    PVHUB_FILE_TIME_LIMIT: '60',
    PVHUB_MAX_PARALLEL: '2',
    PVHUB_POLL_WAIT: '1',
  };
}

/** This process's environment (without PROD) with the world's settings and `env` over it. */
export function workerEnv(w: World, env: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = { ...process.env };
  delete inherited['PROD'];
  return { ...inherited, ...workerSettings(w), ...env };
}

export interface WorkerRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The worker's command line from the sources (bin/pvhub-worker.js), as a clone runs it. */
export function startWorker(w: World, args: readonly string[], env: Record<string, string> = {}) {
  return spawn('node', [path.join(ROOT, 'bin/pvhub-worker.js'), 'worker', ...args], {
    cwd: ROOT,
    env: workerEnv(w, env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs the worker's command line to its end (killed, and failed, past the time limit). */
export function runWorker(w: World, args: readonly string[], env: Record<string, string> = {}): Promise<WorkerRun> {
  return new Promise((resolve, reject) => {
    const child = startWorker(w, args, env);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the worker ran past ${WORKER_TIME_LIMIT_MS / 1000} s; stderr: ${stderr.slice(-2000)}`));
    }, WORKER_TIME_LIMIT_MS);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

export async function keysUnder(w: World, prefix: string): Promise<string[]> {
  const answer = await testS3Client(w.services).send(new ListObjectsV2Command({ Bucket: w.bucket, Prefix: prefix }));
  return (answer.Contents ?? []).map((object) => (object.Key ?? '').slice(prefix.length)).sort();
}

export async function objectText(w: World, key: string): Promise<string> {
  const answer = await testS3Client(w.services).send(new GetObjectCommand({ Bucket: w.bucket, Key: key }));
  return (await answer.Body?.transformToString()) ?? '';
}

export async function visibleMessages(w: World): Promise<{ visible: number; hidden: number }> {
  const { Attributes } = await testSqsClient(w.services).send(
    new GetQueueAttributesCommand({
      QueueUrl: w.queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(Attributes?.ApproximateNumberOfMessages),
    hidden: Number(Attributes?.ApproximateNumberOfMessagesNotVisible),
  };
}

/** Visible plus in flight: 0 means the message was deleted, not merely hidden. */
export async function messagesLeft(w: World): Promise<number> {
  const { visible, hidden } = await visibleMessages(w);
  return visible + hidden;
}

export const prefixOf = (s: Submission) => `submission_files/submission_user_${s.userId}/submission_${s.submissionId}/`;
export const bodyOf = (requests: readonly RecordedRequest[], method: string, route: string) =>
  requests.filter((r) => r.method === method && r.path === route).map((r) => r.body);

/** Bodies of the requests the Hub applied (answered 2xx): workers sharing one login refuse each other's tokens. */
export const appliedBodies = (requests: readonly RecordedRequest[], method: string, route: string) =>
  bodyOf(
    requests.filter((r) => r.status < 300),
    method,
    route,
  );

/** The worker's containers of a submission, running or not (their ids). */
export async function containersOf(submissionId: number): Promise<string[]> {
  const { stdout } = await promisify(execFile)('docker', [
    'ps',
    '-aq',
    '--filter',
    `label=pvhub.submission=${submissionId}`,
    '--filter',
    'label=pvhub.managed=true',
  ]);
  return stdout.split('\n').filter((line) => line.trim() !== '');
}

/** The containers (ids) of this worker, running or not: all, or only those of files (its results holders left out). */
export async function containersOwnedBy(owner: string, only: 'all' | 'files' = 'all'): Promise<string[]> {
  const filters = [
    '--filter',
    `label=pvhub.worker=${owner}`,
    ...(only === 'files' ? ['--filter', 'label=pvhub.file'] : []),
  ];
  const { stdout } = await promisify(execFile)('docker', ['ps', '-aq', ...filters]);
  return stdout.split('\n').filter((line) => line.trim() !== '');
}

/** A container that does nothing, with these labels: what a worker left behind. Its id. */
export async function createContainer(image: string, labels: Readonly<Record<string, string>>): Promise<string> {
  const { stdout } = await promisify(execFile)('docker', [
    'create',
    ...Object.entries(labels).flatMap(([key, value]) => ['--label', `${key}=${value}`]),
    image,
    'true',
  ]);
  return stdout.trim();
}
