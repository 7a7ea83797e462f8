import { randomUUID } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { run } from '../helpers/cli.js';
import { HUB_PASSWORD } from '../helpers/hub-server.js';
import {
  bodyOf,
  containersOf,
  disposeWorlds,
  keysUnder,
  messagesLeft,
  objectText,
  prefixOf,
  storeTask,
  submit,
  type World,
  workerSettings,
  world,
} from '../helpers/hub-world.js';

/**
 * Dockerfile.prod as the Hub deploys it: the image built from this checkout, then run as one ECS task runs it, with
 * the host's Docker socket and the work folder (at the same path) mounted, and ElasticMQ, the S3-compatible server
 * and the Hub API stand-in on the host's loopback (host network). One job, then the container exits.
 */

const IMAGE = 'pvhub-worker:spec';
const NODE_MAJOR = '24';
const SOCKET = '/var/run/docker.sock';

test.after.each(disposeWorlds);

async function succeed(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const result = await run(command, args, env);
  if (result.status !== 0)
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.status}:\n${(result.stdout + result.stderr).slice(-4000)}`,
    );
  return result.stdout;
}

let built: Promise<void> | undefined;

/** The image of this checkout, on the Node base of the Dockerfile's default (made from Debian when the engine lacks it). */
function buildImage(): Promise<void> {
  built ??= (async () => {
    await succeed('bash', ['container/base/build-node-base-image.sh', NODE_MAJOR]);
    await succeed('docker', ['build', '-f', 'Dockerfile.prod', '-t', IMAGE, '.']);
    const bytes = Number((await succeed('docker', ['image', 'inspect', '-f', '{{.Size}}', IMAGE])).trim());
    console.log(`  ${IMAGE}: ${(bytes / 1e6).toFixed(0)} MB (${bytes} bytes)`);
  })();
  return built;
}

test('the runtime stage holds compiled JavaScript and production dependencies on Node 24: no sources, no TypeScript loader', async () => {
  await buildImage();
  const listing = await succeed('docker', [
    'run',
    '--rm',
    '--entrypoint',
    'sh',
    IMAGE,
    '-c',
    'node --version; ls; ls node_modules; test -f dist/cli.js && echo has-dist-cli; test -x "$(command -v docker)" && echo has-docker-cli',
  ]);
  const [version = '', ...entries] = listing.trim().split('\n');
  assert.match(version, /^v24\./);
  assert.ok(entries.includes('has-dist-cli'), listing);
  assert.ok(
    entries.includes('has-docker-cli'),
    'the docker command line, for the base images build-base-image.sh makes',
  );
  for (const absent of ['src', 'spec', 'bin', 'tsx', 'typescript', 'esbuild', 'eslint', 'uvu']) {
    assert.not.ok(entries.includes(absent), `${absent} is not in the runtime image`);
  }
  for (const present of ['dist', 'container', 'dockerode', 'rxjs', '@aws-sdk'])
    assert.ok(entries.includes(present), `${present} is in the runtime image`);
  const entrypoint = JSON.parse(
    await succeed('docker', ['image', 'inspect', '-f', '{{json .Config.Entrypoint}}', IMAGE]),
  ) as string[];
  assert.equal(entrypoint, ['node', 'dist/cli.js', 'worker']);
});

interface ContainerRun {
  readonly status: number | null;
  readonly output: string;
  readonly exitCode: number;
}

/**
 * Runs the image as the task definition does, to its end; the container is removed afterwards, by name. A file
 * may take long on a loaded machine: the spec is about the image, not the file time limit.
 */
async function runImage(w: World): Promise<ContainerRun> {
  const name = `pvhub-prod-spec-${randomUUID().slice(0, 8)}`;
  const settings = { ...workerSettings(w), PVHUB_FILE_TIME_LIMIT: '600' };
  // `-e NAME` takes the value from docker's own environment: the password never appears on a command line.
  const environment = Object.keys(settings).flatMap((key) => ['-e', key]);
  try {
    const result = await run(
      'docker',
      [
        'run',
        '--name',
        name,
        '--network',
        'host',
        '-v',
        `${SOCKET}:${SOCKET}`,
        '-v',
        `${w.work}:${w.work}`,
        ...environment,
        IMAGE,
        '--max-jobs',
        '1',
      ],
      settings,
    );
    const exitCode = Number((await succeed('docker', ['inspect', '-f', '{{.State.ExitCode}}', name])).trim());
    return { status: result.status, output: result.stdout + result.stderr, exitCode };
  } finally {
    await run('docker', ['rm', '-f', name]);
  }
}

test('the image checks its own health: the HEALTHCHECK runs the worker heartbeat check, which fails with no heartbeat', async () => {
  await buildImage();
  const check = JSON.parse(
    await succeed('docker', ['image', 'inspect', '-f', '{{json .Config.Healthcheck.Test}}', IMAGE]),
  ) as string[];
  assert.equal(check, ['CMD', 'node', 'dist/cli.js', 'healthcheck']);
  const unhealthy = await run('docker', ['run', '--rm', '--entrypoint', 'node', IMAGE, 'dist/cli.js', 'healthcheck']);
  assert.is(unhealthy.status, 1);
  assert.match(unhealthy.stderr, 'no heartbeat yet');
  const healthy = await run('docker', [
    'run',
    '--rm',
    '--entrypoint',
    'sh',
    IMAGE,
    '-c',
    // Its own heartbeat file, named by the container's host name, is the one the check reads.
    'mkdir -p $PVHUB_WORK_DIR/health && touch $PVHUB_WORK_DIR/health/$(cat /proc/sys/kernel/hostname).alive && node dist/cli.js healthcheck',
  ]);
  assert.is(healthy.status, 0, healthy.stderr);
});

test('one job through the image: finished with the right result, results and logs in S3, exit 0, no container left', async () => {
  await buildImage();
  const w = await world();
  await storeTask(w);
  const s = await submit(w, 'time-shift-correct.zip', 301);
  const ran = await runImage(w);
  assert.is(ran.exitCode, 0, ran.output.slice(-4000));
  assert.is(ran.status, 0);

  assert.equal(w.hub.statuses.get(s.submissionId), ['running', 'finished'], ran.output.slice(-4000));
  const publicResults = JSON.parse(
    await objectText(w, `${prefixOf(s)}results/time-shift-public-metrics.json`),
  ) as Record<string, unknown>;
  assert.equal(w.hub.results.get(s.submissionId), publicResults, 'the result PUT is the public results file');
  const metrics = publicResults['metrics'] as Record<string, unknown>;
  assert.equal(Object.keys(metrics).sort(), [
    'mean_mean_absolute_error_time_series',
    'mean_runtime',
    'median_mean_absolute_error_time_series',
  ]);
  assert.ok(Object.values(metrics).every((value) => typeof value === 'number' && Number.isFinite(value)));
  const fileErrors = JSON.stringify(
    bodyOf(w.hub.requests, 'POST', `error/error_report/${s.submissionId}/update_non_breaking`),
  );
  assert.is(
    publicResults['number_of_files'],
    w.files.filter((file) => file['include_on_leaderboard'] === true).length,
    `every file scored; errors: ${fileErrors}`,
  );

  const results = await keysUnder(w, `${prefixOf(s)}results/`);
  for (const key of [
    'time-shift-public-metrics.json',
    'time-shift-private-metrics.json',
    'submission_full_results.csv',
    'private_results.html',
  ]) {
    assert.ok(results.includes(key), `results/${key} uploaded (have: ${results.join(', ')})`);
  }
  assert.equal(
    results.filter((key) => key.startsWith('files/')).sort(),
    w.files.map((file) => `files/${String(file['file_name'])}`).sort(),
    'one output per data file',
  );
  assert.equal(await keysUnder(w, `${prefixOf(s)}logs/`), [
    'submission.error.log',
    'submission.log',
    'submission.log.jsonl',
  ]);

  assert.is(await messagesLeft(w), 0, 'message deleted');
  assert.equal(await containersOf(s.submissionId), [], 'no container of the job is left');
  assert.not.match(ran.output, HUB_PASSWORD, 'the password never reaches the output');
});

test.run();
