import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DockerEngine } from '../../src/adapters/docker-engine.js';
import { ensureEgressProxyImage } from '../../src/adapters/egress-proxy-image.js';
import { PROXY_READY_LINE } from '../../src/domain/squid-config.js';
import { run } from '../helpers/cli.js';

/** The engine's networks and services as a job's egress uses them, and their removal by label (a dead worker's too). */

const engine = new DockerEngine();
const labels = { 'pvhub.managed': 'true', 'pvhub.spec': `networking-${process.pid}` };
let scratch = '';

test.before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-networking-'));
});

test.after(async () => {
  await engine.removeContainers(labels);
  await engine.removeNetworks(labels);
  await rm(scratch, { recursive: true, force: true });
});

test('an internal network: no route out, no address of the host on it, the labels on it; removed by label', async () => {
  const network = await engine.createInternalNetwork(`pvhub-spec-networking-${process.pid}`, labels);
  assert.match(network.subnet, /^\d+\.\d+\.\d+\.\d+\/\d+$/);
  const inspected = JSON.parse((await run('docker', ['network', 'inspect', network.name])).stdout) as Array<{
    Internal: boolean;
    Options: Record<string, string>;
    Labels: Record<string, string>;
  }>;
  assert.is(inspected[0]?.Internal, true);
  assert.is(inspected[0]?.Options['com.docker.network.bridge.inhibit_ipv4'], 'true');
  assert.is(inspected[0]?.Labels['pvhub.spec'], labels['pvhub.spec']);
  // What a worker that starts again does with what a dead one left: by the managed label (narrowed here to this spec's).
  assert.is(await engine.removeNetworks(labels), 1);
  assert.is(await engine.removeNetworks(labels), 0);
});

test('a service that ends before it is ready is refused with its last lines, and removed', async () => {
  const image = await ensureEgressProxyImage(engine);
  const config = path.join(scratch, 'squid.conf');
  await writeFile(config, 'http_port 3128\nno_such_directive on\nhttp_access deny all\n');
  await chmod(config, 0o644);
  const start = engine.startService({
    image,
    mounts: [{ hostPath: config, containerPath: '/etc/pvhub-proxy/squid.conf', readOnly: true }],
    labels,
    user: 'proxy',
    memoryBytes: 256 * 1024 ** 2,
    nanoCpus: 500_000_000,
    pidsLimit: 64,
    network: 'none',
    readyLine: PROXY_READY_LINE,
    readyTimeoutMs: 20_000,
  });
  const error = await start.then(
    () => undefined,
    (reason: unknown) => reason as Error,
  );
  assert.ok(error, 'the start is refused');
  assert.match(error.message, 'ended before it was ready');
  assert.match(error.message, 'no_such_directive');
  assert.is(
    (await run('docker', ['ps', '-aq', '--filter', `label=pvhub.spec=${labels['pvhub.spec']}`])).stdout.trim(),
    '',
  );
});

test.run();
