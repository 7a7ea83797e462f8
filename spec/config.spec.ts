import os from 'node:os';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../src/config.js';
import { ConfigError, parseByteSize } from '../src/config-reader.js';

test('embedded defaults: local stack endpoints, contract names, 8 GiB containers', () => {
  const config = loadConfig({}, 2);
  assert.is(config.production, false);
  assert.is(config.aws.sqsEndpoint, 'http://sqs:9324');
  assert.is(config.aws.queueName, 'valhub_submission_queue.fifo');
  assert.is(config.aws.bucket, 'valhub-bucket');
  assert.is(config.hub.apiUrl, 'http://api:8005');
  assert.is(config.limits.containerMemoryBytes, 8 * 1024 ** 3);
  assert.is(config.limits.maxParallel, 2);
  assert.is(config.limits.fileTimeLimitMs, 1_800_000);
});

test('PROD (any value) switches to AWS and the production API', () => {
  const config = loadConfig({ PROD: '', AWS_DEFAULT_REGION: 'eu-west-1' }, 2);
  assert.is(config.production, true);
  assert.is(config.aws.sqsEndpoint, undefined);
  assert.is(config.aws.region, 'eu-west-1');
  assert.is(config.hub.apiUrl, 'https://api-pv-validation-hub.stratus.nrel.gov');
  assert.is(config.aws.createQueue, false);
});

test("credentials come as one pair: main's names first, develop's otherwise, never a mix", () => {
  const both = loadConfig({
    worker_username: 'w',
    worker_password: 'wp',
    valhub_admin_username: 'a',
    valhub_admin_password: 'ap',
  });
  assert.equal([both.hub.username, both.hub.password], ['a', 'ap']);
  const develop = loadConfig({ worker_username: 'w', worker_password: 'wp' });
  assert.equal([develop.hub.username, develop.hub.password], ['w', 'wp']);
  const none = loadConfig({});
  assert.equal([none.hub.username, none.hub.password], [undefined, undefined]);
  try {
    loadConfig({ worker_username: 'w', valhub_admin_password: 'ap' });
    assert.unreachable();
  } catch (error) {
    assert.instance(error, ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    assert.match(problems, 'valhub_admin_username is missing');
    assert.match(problems, 'worker_password is missing');
  }
});

test('the host Python: the venv set-up makes, or PVHUB_HOST_PYTHON as an absolute path', () => {
  assert.match(loadConfig({}).hostPython, /\/\.cache\/venv\/bin\/python$/);
  assert.is(loadConfig({ PVHUB_HOST_PYTHON: '/opt/py/bin/python3' }).hostPython, '/opt/py/bin/python3');
});

test("each worker's heartbeat file is named by its host name (its container), so workers sharing a work folder each have one", () => {
  const config = loadConfig({ PVHUB_WORK_DIR: '/var/lib/pvhub-worker' });
  assert.is(config.health.file, `/var/lib/pvhub-worker/health/${os.hostname()}.alive`);
  assert.is(loadConfig({ PVHUB_HEALTH_FILE: '/run/alive' }).health.file, '/run/alive');
});

test("base images are pulled from Docker Hub's python unless PVHUB_BASE_IMAGE_REPOSITORY names a mirror", () => {
  assert.is(loadConfig({}).baseImageRepository, 'python');
  const ecr = '123456789012.dkr.ecr.us-west-2.amazonaws.com/mirror/python';
  assert.is(loadConfig({ PVHUB_BASE_IMAGE_REPOSITORY: ecr }).baseImageRepository, ecr);
  assert.is(
    loadConfig({ PVHUB_BASE_IMAGE_REPOSITORY: '127.0.0.1:5555/pvhub-spec/python' }).baseImageRepository,
    '127.0.0.1:5555/pvhub-spec/python',
  );
  for (const bad of ['python:3.11-slim', 'Python', 'https://mirror.example/python', 'a b']) {
    assert.throws(
      () => loadConfig({ PVHUB_BASE_IMAGE_REPOSITORY: bad }),
      (error: ConfigError) =>
        error.problems.some((problem) =>
          problem.startsWith(`PVHUB_BASE_IMAGE_REPOSITORY=${bad} is not an image repository`),
        ),
    );
  }
});

test('LOG_LEVEL must be a pino level', () => {
  assert.is(loadConfig({ LOG_LEVEL: 'debug' }).logLevel, 'debug');
  assert.throws(() => loadConfig({ LOG_LEVEL: 'verbose' }), /LOG_LEVEL=verbose must be one of fatal, error/);
});

test('every bad setting is listed in one error', () => {
  try {
    loadConfig({
      PVHUB_CONTAINER_MEMORY: 'lots',
      PVHUB_FILE_TIME_LIMIT: '-1',
      PVHUB_API_URL: 'not a url',
      PVHUB_JOB_TIME_LIMIT: '13',
    });
    assert.unreachable();
  } catch (error) {
    assert.instance(error, ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    assert.match(problems, 'PVHUB_CONTAINER_MEMORY=lots');
    assert.match(problems, 'PVHUB_FILE_TIME_LIMIT=-1');
    assert.match(problems, 'PVHUB_API_URL=not a url');
    assert.match(problems, '12 hours');
  }
});

test('worker settings: receive limit, workspace, local keys only for a local stack', () => {
  const local = loadConfig({}, 2);
  assert.is(local.maxReceives, 3);
  assert.is(local.keepWorkspace, false);
  assert.equal(local.aws.localCredentials, { accessKeyId: 'x', secretAccessKey: 'x' });
  const tuned = loadConfig({ PVHUB_MAX_RECEIVES: '5', PVHUB_KEEP_WORKSPACE: 'yes', AWS_ACCESS_KEY_ID: 'AKIA' }, 2);
  assert.is(tuned.maxReceives, 5);
  assert.is(tuned.keepWorkspace, true);
  assert.is(tuned.aws.localCredentials, undefined, 'keys in the environment are used as they are');
  assert.is(loadConfig({ PROD: '1' }, 2).aws.localCredentials, undefined, 'production uses the default chain');
});

test("a work folder too long for the workers' sockets is refused, with its length", () => {
  assert.is(loadConfig({ PVHUB_WORK_DIR: `/var/lib/${'w'.repeat(50)}` }, 2).workDir, `/var/lib/${'w'.repeat(50)}`);
  try {
    loadConfig({ PVHUB_WORK_DIR: `/var/lib/${'w'.repeat(70)}` }, 2);
    assert.unreachable('a socket path over 107 bytes is cut by the kernel');
  } catch (error) {
    assert.instance(error, ConfigError);
    assert.match(
      (error as ConfigError).message,
      /PVHUB_WORK_DIR=\/var\/lib\/w+ is too long: the workers' sockets in it would be \d+ bytes, over the 107/,
    );
  }
});

test('SQS limits are checked at start: wait at most 20 s, lease at most 12 h, whole receive counts', () => {
  try {
    loadConfig({ PVHUB_POLL_WAIT: '25', PVHUB_VISIBILITY_LEASE: '50000', PVHUB_MAX_RECEIVES: '1.5' });
    assert.unreachable();
  } catch (error) {
    const problems = (error as ConfigError).problems.join('\n');
    assert.match(problems, 'PVHUB_POLL_WAIT');
    assert.match(problems, 'PVHUB_VISIBILITY_LEASE');
    assert.match(problems, 'PVHUB_MAX_RECEIVES');
  }
});

test('S3 and SQS time limits and the stop grace: defaults, seconds in the environment, at least 1 s for the limits', () => {
  const defaults = loadConfig({}, 2);
  assert.equal(defaults.aws.timeouts, { connectMs: 5_000, answerMs: 30_000 });
  assert.is(defaults.stopGraceMs, 20_000);
  const tuned = loadConfig({ PVHUB_AWS_CONNECT_TIMEOUT: '2', PVHUB_AWS_TIMEOUT: '45', PVHUB_STOP_GRACE: '0' }, 2);
  assert.equal(tuned.aws.timeouts, { connectMs: 2_000, answerMs: 45_000 });
  assert.is(tuned.stopGraceMs, 0);
  try {
    loadConfig({ PVHUB_AWS_CONNECT_TIMEOUT: '0', PVHUB_AWS_TIMEOUT: 'soon', PVHUB_STOP_GRACE: '-1' });
    assert.unreachable();
  } catch (error) {
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['PVHUB_AWS_CONNECT_TIMEOUT', 'PVHUB_AWS_TIMEOUT', 'PVHUB_STOP_GRACE'])
      assert.match(problems, name);
  }
});

test("the object store: the local stack's emulator, an S3 endpoint when one is given, AWS S3 in production", () => {
  assert.equal(loadConfig({}, 2).aws.objectStore, { kind: 'emulator', url: 'http://s3:5000' });
  assert.equal(loadConfig({ PVHUB_S3_EMULATOR_URL: 'http://127.0.0.1:5001/' }, 2).aws.objectStore, {
    kind: 'emulator',
    url: 'http://127.0.0.1:5001/',
  });
  const s3 = loadConfig(
    { PVHUB_S3_ENDPOINT: 'http://127.0.0.1:4566', PVHUB_S3_EMULATOR_URL: 'http://127.0.0.1:5001' },
    2,
  );
  assert.equal(s3.aws.objectStore, { kind: 's3' }, 'an S3 endpoint wins over the emulator');
  assert.is(s3.aws.s3Endpoint, 'http://127.0.0.1:4566');
  const production = loadConfig({ PROD: 'true', PVHUB_S3_EMULATOR_URL: 'http://s3:5000' }, 2);
  assert.equal(production.aws.objectStore, { kind: 's3' }, 'production never uses the emulator');
  assert.is(production.aws.s3Endpoint, undefined);
});

test('the emulator URL must be an http(s) URL', () => {
  for (const bad of ['s3:5000', 'not a url', 'ftp://s3:5000']) {
    try {
      loadConfig({ PVHUB_S3_EMULATOR_URL: bad }, 2);
      assert.unreachable(bad);
    } catch (error) {
      assert.instance(error, ConfigError);
      assert.match((error as ConfigError).problems.join('\n'), `PVHUB_S3_EMULATOR_URL=${bad}`);
    }
  }
});

test('sizes', () => {
  assert.is(parseByteSize('512m'), 512 * 1024 ** 2);
  assert.is(parseByteSize('1.5GiB'), 1.5 * 1024 ** 3);
  assert.is(parseByteSize('100'), 100);
  assert.is(parseByteSize('0'), undefined);
  assert.is(parseByteSize('eight'), undefined);
});

test('egress: on outside production, off in production unless the operator turns it on; cap, network and denied ranges read', () => {
  assert.equal(loadConfig({}).egress, { enabled: true, cap: undefined, outwardNetwork: 'bridge', deny: [] });
  assert.is(loadConfig({ PROD: '1' }).egress.enabled, false);
  const set = loadConfig({
    PROD: '1',
    PVHUB_EGRESS: 'on',
    PVHUB_EGRESS_CAP: '*.nrel.gov:443, api.example.org:8080',
    PVHUB_EGRESS_NETWORK: 'pvhub-out',
    PVHUB_EGRESS_DENY: '198.51.100.7,203.0.113.0/24',
  });
  assert.equal(set.egress, {
    enabled: true,
    cap: [
      { host: 'nrel.gov', subdomains: true, port: 443 },
      { host: 'api.example.org', subdomains: false, port: 8080 },
    ],
    outwardNetwork: 'pvhub-out',
    deny: ['198.51.100.7/32', '203.0.113.0/24'],
  });
  try {
    loadConfig({ PVHUB_EGRESS_CAP: 'nrel.gov', PVHUB_EGRESS_DENY: 'fe80::/10' });
    assert.unreachable('accepted');
  } catch (error) {
    assert.instance(error, ConfigError);
    assert.match((error as ConfigError).message, 'PVHUB_EGRESS_CAP: "nrel.gov" is not host:port');
    assert.match((error as ConfigError).message, 'PVHUB_EGRESS_DENY: "fe80::/10" is not an IPv4 address or range');
  }
});

test.run();
