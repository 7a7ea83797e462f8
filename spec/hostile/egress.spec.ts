/**
 * Egress by allowlist, with real parts: `pvhub-worker evaluate` runs a task whose config.json lists one host of a
 * "world" container, and pairs that must be refused however they are listed (loopback, link-local, the engine's
 * address). The world sits on a Docker network this spec makes: internal, on a documentation range (198.51.100.0/24,
 * TEST-NET-2), so that it leads to its members and this machine's side of it, never beyond. It is the job's outward
 * network, and the world plays two hosts there by two names, one listed and one not. A server of the spec on the
 * host's side of that network, and on the host's loopback, counts any request that reaches it. The submission
 * (egress_submission.py) tries every way out on one file and calls the unlisted host on another.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DockerEngine } from '../../src/adapters/docker-engine.js';
import { baseImage } from '../../src/adapters/images/base-images.js';
import { cli, ROOT, run } from '../helpers/cli.js';

const TASK = path.join(ROOT, 'examples/tasks/time-shift-detection');
/**
 * A documentation range (TEST-NET-2): nothing on the internet answers there. It must not be one the machine already
 * routes to (a machine may reach its package mirrors on another TEST-NET), which setUp checks before making it.
 */
const WORLD_SUBNET = '198.51.100.0/24';
/** The host's side of the world network: the engine's own address there. */
const WORLD_GATEWAY = '198.51.100.1';
const WORLD_NETWORK = 'pvhub-spec-egress-world';
// One world at a time: its subnet is fixed, so a world left by a run that died is removed first.
const WORLD_LABEL = 'pvhub.spec=egress-world';
const PROBES_FILE = '1001_ac_power_ts01.csv';
const CALLS_UNLISTED = '1001_ac_power_ts02.csv';
/** The world's answer to every GET: the probes look for "world host". */
const WORLD_SERVER = `
import http.server, sys
class World(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("hello from the world host, %s%s\\n" % (self.headers.get("Host"), self.path)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        print("WORLD GOT %s %s" % (self.headers.get("Host"), self.path), flush=True)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", 8080), World).serve_forever()
`;

let scratch = '';
let worldAddress = '';
let engineAddress = '';
let hostPort = 0;
const hostHits: string[] = [];
const hostServers: Server[] = [];

async function docker(args: readonly string[]): Promise<string> {
  const result = await run('docker', args);
  assert.is(result.status, 0, `docker ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

async function removeWorld(): Promise<void> {
  const containers = (await run('docker', ['ps', '-aq', '--filter', `label=${WORLD_LABEL}`])).stdout
    .split('\n')
    .filter((id) => id !== '');
  if (containers.length > 0) await run('docker', ['rm', '-f', ...containers]);
  await run('docker', ['network', 'rm', WORLD_NETWORK]);
}

/** A server on the host that no request of the job may reach; it records whatever does. */
function hostServer(address: string, port: number): Promise<number> {
  const server = createServer((request, response) => {
    hostHits.push(`${address} ${request.method} ${request.url}`);
    response.end('host service');
  });
  hostServers.push(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve((server.address() as AddressInfo).port));
  });
}

test.before(async () =>
  setUp().catch((error: unknown) => {
    console.error(error);
    throw error;
  }),
);

async function setUp(): Promise<void> {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-egress-'));
  await baseImage(new DockerEngine(), 'python', '3.11');
  await removeWorld();
  const routes = (await run('ip', ['-4', 'route', 'show', 'match', WORLD_GATEWAY])).stdout
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('default'));
  assert.equal(routes, [], `${WORLD_SUBNET} is in use on this machine; the world network would take its traffic`);
  // Internal: the world network leads to its own members and to this machine's side of it, never beyond, whatever
  // the proxy under test would let through.
  await docker([
    'network',
    'create',
    '--internal',
    '--subnet',
    WORLD_SUBNET,
    '--gateway',
    WORLD_GATEWAY,
    '--label',
    WORLD_LABEL,
    WORLD_NETWORK,
  ]);
  const world = await docker([
    'run',
    '-d',
    '--label',
    WORLD_LABEL,
    '--network',
    WORLD_NETWORK,
    '--network-alias',
    'api.listed.test',
    '--network-alias',
    'api.unlisted.test',
    '--read-only',
    '--cap-drop',
    'ALL',
    '--user',
    '10001:10001',
    'python:3.11-slim',
    'python3',
    '-c',
    WORLD_SERVER,
  ]);
  worldAddress = await docker([
    'inspect',
    '-f',
    `{{(index .NetworkSettings.Networks "${WORLD_NETWORK}").IPAddress}}`,
    world,
  ]);
  engineAddress = WORLD_GATEWAY;
  hostPort = await hostServer('127.0.0.1', 0);
  await hostServer(engineAddress, hostPort);

  const task = path.join(scratch, 'task');
  await cp(TASK, task, { recursive: true });
  const config = JSON.parse(await readFile(path.join(task, 'config.json'), 'utf8')) as Record<string, unknown>;
  // The world's listed name, and pairs that are listed yet must be refused for what they resolve to.
  const allowlist = [
    'api.listed.test:8080',
    `localhost:${hostPort}`,
    '169.254.169.254:80',
    `${engineAddress}:${hostPort}`,
  ];
  await writeFile(path.join(task, 'config.json'), JSON.stringify({ ...config, network_allowlist: allowlist }, null, 2));
  const submission = path.join(scratch, 'submission');
  await mkdir(submission, { recursive: true });
  const code = (await readFile(path.join(ROOT, 'spec/hostile/egress_submission.py'), 'utf8'))
    .replace('@WORLD_ADDRESS@', worldAddress)
    .replace('@ENGINE_ADDRESS@', engineAddress)
    .replace('@HOST_PORT@', String(hostPort));
  await writeFile(path.join(submission, 'submission_wrapper.py'), code);
  await writeFile(path.join(submission, 'requirements.txt'), 'pandas==2.2.3\nnumpy==2.1.3\n');
}

test.after(async () => {
  for (const server of hostServers) server.close();
  await removeWorld();
  await rm(scratch, { recursive: true, force: true });
});

test('only the listed host answers: every other way out is refused, DNS resolves nothing, the proxy logs it all', async () => {
  const out = path.join(scratch, 'out');
  const result = await cli(
    ['evaluate', '--task', path.join(scratch, 'task'), '--submission', path.join(scratch, 'submission'), '--out', out],
    {
      PVHUB_EGRESS: 'on',
      PVHUB_EGRESS_NETWORK: WORLD_NETWORK,
      PVHUB_CONTAINER_MEMORY: '512m',
      PVHUB_FILE_TIME_LIMIT: '120',
      PVHUB_EARLY_ABORT_FILES: '0',
      PVHUB_MAX_PARALLEL: '2',
      PVHUB_WORK_DIR: path.join(scratch, 'work'),
    },
  );
  assert.is(result.status, 0, `${result.stdout}\n${result.stderr.slice(-3000)}`);
  const records = (await readFile(path.join(out, 'logs', 'submission.log.jsonl'), 'utf8'))
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const submissionId = String(records[0]?.['submission']);

  // The probes, one line each, in the probing file's output; that file is scored: the listed host answered.
  const output = records.find((record) => record['file'] === PROBES_FILE && record['msg'] === 'submission output');
  assert.ok(output, 'the probing file printed its probes');
  const probes = new Map(
    [...String(output['output']).matchAll(/^PROBE (\S+) (OK|BREACH) (.*)$/gm)].map((match) => [
      match[1],
      `${match[2]} ${match[3]}`,
    ]),
  );
  const expected = [
    'listed-http',
    'listed-connect',
    'unlisted-connect',
    'unlisted-address-connect',
    'metadata-connect',
    'loopback-name-connect',
    'loopback-connect',
    'engine-address-connect',
    'proxy-itself-connect',
    'unlisted-http',
    'proxy-admin',
    'direct-world',
    'direct-metadata',
    'direct-engine',
    'dns-api.listed.test',
    'dns-example.com',
    'dns-localhost.localdomain',
    'dns-reverse-proxy',
  ];
  assert.equal([...probes.keys()].sort(), [...expected].sort());
  for (const [name, verdict] of probes) assert.match(verdict, /^OK /, `${name}: ${verdict}`);
  assert.match(probes.get('listed-http') ?? '', 'hello from the world host, api.listed.test:8080/hello');
  const failed = records
    .filter((record) => record['file'] !== undefined && record['code'] !== undefined)
    .map((record) => record['file']);
  assert.equal(failed, [CALLS_UNLISTED], 'every file but the one calling the unlisted host is scored');
  // Its message names the policy, so the participant knows the task refused the call.
  const refusal = records.find((record) => record['file'] === CALLS_UNLISTED && record['code'] !== undefined);
  assert.match(String(refusal?.['msg']), 'this task allows network access only to api.listed.test:8080, localhost:');

  // The proxy's access log, in the job's log: the allowed calls and the refused ones.
  const access = records
    .filter((record) => record['egress'] !== undefined)
    .map((record) => ({ ...(record['egress'] as { method: string; target: string }), msg: String(record['msg']) }));
  const seen = (msg: string, method: string, target: string) =>
    access.some((entry) => entry.msg === msg && entry.method === method && entry.target === target);
  assert.ok(seen('egress allowed', 'CONNECT', 'api.listed.test:8080'), JSON.stringify(access));
  assert.ok(seen('egress allowed', 'GET', 'http://api.listed.test:8080/hello'));
  const refusedTargets = [
    'api.unlisted.test:8080',
    `${worldAddress}:8080`,
    '169.254.169.254:80',
    `localhost:${hostPort}`,
    `127.0.0.1:${hostPort}`,
    `${engineAddress}:${hostPort}`,
  ];
  for (const target of refusedTargets) {
    assert.ok(seen('egress refused', 'CONNECT', target), `${target} refused: ${JSON.stringify(access)}`);
  }
  assert.ok(
    seen('egress refused', 'GET', 'http://api.unlisted.test:8080/irradiance'),
    'the unlisted call of the other file',
  );
  assert.ok(
    access.some((entry) => entry.msg === 'egress refused' && entry.target.endsWith('/squid-internal-mgr/info')),
    'the admin interface',
  );
  const ready = records.find((record) => record['msg'] === 'egress ready');
  assert.type(ready?.['setupMs'], 'number');

  // Nothing refused arrived anywhere: the world saw only the listed name, the host's services saw nothing.
  const worldSaw = (await docker(['logs', await docker(['ps', '-q', '--filter', `label=${WORLD_LABEL}`])]))
    .split('\n')
    .filter((line) => line.startsWith('WORLD GOT'));
  assert.equal([...new Set(worldSaw)].sort(), [
    'WORLD GOT api.listed.test:8080 /hello',
    'WORLD GOT api.listed.test:8080 /tunnel',
  ]);
  assert.equal(hostHits, []);

  // The job's network and proxy went with its containers.
  assert.is(await docker(['ps', '-aq', '--filter', `label=pvhub.submission=${submissionId}`]), '', 'no container left');
  assert.is(
    await docker(['network', 'ls', '-q', '--filter', `label=pvhub.submission=${submissionId}`]),
    '',
    'no network left',
  );
});

test.run();
