import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { AwsSettings, AwsTimeouts } from '../../src/config.js';
import { ROOT } from './cli.js';

/** The local SQS and S3 servers of scripts/services/start.sh, as it wrote them to .cache/services.env. */
export interface Services {
  readonly sqsEndpoint: string;
  readonly s3Endpoint: string;
}

export const SERVICES_ENV = path.join(ROOT, '.cache/services.env');
const REGION = 'us-east-1';
export const DUMMY_CREDENTIALS = { accessKeyId: 'x', secretAccessKey: 'x' };

function servicesValues(): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(SERVICES_ENV, 'utf8');
  } catch {
    throw new Error(`the local servers are not set up (no ${SERVICES_ENV}): run bash scripts/services/start.sh`);
  }
  return Object.fromEntries(
    text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

function readEndpoints(): Services {
  const values = servicesValues();
  const sqsEndpoint = values['PVHUB_TEST_SQS_ENDPOINT'];
  const s3Endpoint = values['PVHUB_TEST_S3_ENDPOINT'];
  if (!sqsEndpoint || !s3Endpoint)
    throw new Error(
      `${SERVICES_ENV} lacks PVHUB_TEST_SQS_ENDPOINT or PVHUB_TEST_S3_ENDPOINT: run bash scripts/services/start.sh`,
    );
  return { sqsEndpoint, s3Endpoint };
}

async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(3000) });
    return true;
  } catch {
    return false;
  }
}

let checked: Promise<Services> | undefined;

/**
 * The endpoints, once both servers answered. A missing server fails the calling test with what to run: these
 * specs are part of the suite and must not pass by skipping.
 */
export function requireServices(): Promise<Services> {
  checked ??= (async () => {
    const services = readEndpoints();
    for (const [name, url] of [
      ['SQS (ElasticMQ)', `${services.sqsEndpoint}/?Action=ListQueues`],
      ['S3 (moto)', `${services.s3Endpoint}/`],
    ] as const) {
      if (!(await answers(url)))
        throw new Error(`the local ${name} server does not answer at ${url}: run bash scripts/services/start.sh`);
    }
    return services;
  })();
  return checked;
}

/** `host:port` of the local image registry (Debian's docker-registry), once it answers. */
export async function requireRegistry(): Promise<string> {
  const registry = servicesValues()['PVHUB_TEST_REGISTRY'];
  if (registry === undefined)
    throw new Error(`${SERVICES_ENV} lacks PVHUB_TEST_REGISTRY: run bash scripts/services/start.sh`);
  if (!(await answers(`http://${registry}/v2/`)))
    throw new Error(`the local image registry does not answer at ${registry}: run bash scripts/services/start.sh`);
  return registry;
}

export function testSqsClient(services: Services): SQSClient {
  return new SQSClient({ region: REGION, endpoint: services.sqsEndpoint, credentials: DUMMY_CREDENTIALS });
}

export function testS3Client(services: Services): S3Client {
  return new S3Client({
    region: REGION,
    endpoint: services.s3Endpoint,
    forcePathStyle: true,
    credentials: DUMMY_CREDENTIALS,
  });
}

/** The worker's settings for one local S3 or SQS server (the other unset), with these time limits. */
export function localAwsSettings(endpoint: { s3: string } | { sqs: string }, timeouts: AwsTimeouts): AwsSettings {
  return {
    region: REGION,
    sqsEndpoint: 'sqs' in endpoint ? endpoint.sqs : undefined,
    s3Endpoint: 's3' in endpoint ? endpoint.s3 : undefined,
    queueName: 'unused',
    bucket: 'unused',
    createQueue: false,
    localCredentials: DUMMY_CREDENTIALS,
    timeouts,
  };
}

/** A name no other spec run uses, so runs and files never see each other's queues or buckets. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export async function createBucket(services: Services, prefix = 'pvhub-spec'): Promise<string> {
  const bucket = uniqueName(prefix);
  await testS3Client(services).send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}
