import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DockerEngine } from '../../src/adapters/docker-engine.js';
import { engineFaultKind, FaultClassifyingEngine } from '../../src/adapters/engine-faults.js';
import { WorkerError } from '../../src/domain/errors.js';
import { SimulatedEngine } from '../../src/adapters/simulated/engine.js';
import { InfrastructureFault } from '../../src/domain/infrastructure-fault.js';
import type { ContainerRunSpec } from '../../src/ports/container-engine.js';

/** The engine's failures told apart; the container removed under a real run is in integration/workers.spec.ts. */

const dockerError = (statusCode: number, message: string) =>
  Object.assign(new Error(`(HTTP code ${statusCode}) ${message}`), { statusCode });

test("the engine's own answers: a container gone is one removed from outside, a 5xx or a broken socket the engine", () => {
  assert.is(engineFaultKind(dockerError(404, 'no such container - No such container: 4ff0')), 'container-vanished');
  assert.is(
    engineFaultKind(dockerError(409, 'removal of container 4ff0 is already in progress')),
    'container-vanished',
  );
  assert.is(
    engineFaultKind(dockerError(500, 'connection error: desc = "transport: dial unix containerd.sock"')),
    'engine-unavailable',
  );
  assert.is(
    engineFaultKind(Object.assign(new Error('connect ECONNREFUSED /var/run/docker.sock'), { code: 'ECONNREFUSED' })),
    'engine-unavailable',
  );
  assert.is(
    engineFaultKind(
      Object.assign(new Error('connect ENOENT /var/run/docker.sock'), { code: 'ENOENT', syscall: 'connect' }),
    ),
    'engine-unavailable',
  );
  assert.is(engineFaultKind(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })), 'engine-unavailable');
});

test('what is not a fault of the engine stays as it was: a missing image, a refused request, a typed error, a file', () => {
  assert.is(engineFaultKind(dockerError(404, 'No such image: python:3.99-slim')), undefined);
  assert.is(engineFaultKind(dockerError(400, 'invalid mount config')), undefined);
  assert.is(engineFaultKind(new WorkerError('op_2', 'image build failed: pip could not find numpy')), undefined);
  assert.is(
    engineFaultKind(
      Object.assign(new Error("ENOENT: no such file or directory, open 'x'"), { code: 'ENOENT', syscall: 'open' }),
    ),
    undefined,
  );
  assert.is(engineFaultKind('a string'), undefined);
});

test('an engine whose socket is gone: every call fails as ours (wr_500) and retryable', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pvhub-no-engine-'));
  const engine = new FaultClassifyingEngine(new DockerEngine({ socketPath: path.join(dir, 'docker.sock') }));
  try {
    for (const call of [
      () => engine.imageExists('python:3.11-slim'),
      () => engine.listContainers({ 'pvhub.managed': 'true' }),
    ]) {
      const error = await call().then(
        () => assert.unreachable('no engine answers'),
        (rejection: unknown) => rejection,
      );
      assert.instance(error, InfrastructureFault);
      const fault = error as InfrastructureFault;
      assert.equal([fault.kind, fault.code, fault.retryable], ['engine-unavailable', 'wr_500', true]);
      assert.match(fault.message, 'the Docker engine did not answer');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

function runSpec(dir: string, timeoutMs: number): ContainerRunSpec {
  return {
    image: 'pvhub-submission:any',
    command: ['python'],
    mounts: [{ hostPath: dir, containerPath: '/data', readOnly: true }],
    results: { containerPath: '/results', capBytes: 1024 ** 2, collect: ['output.csv', 'status.json'], hostDir: dir },
    memoryBytes: 1024 ** 3,
    nanoCpus: 1e9,
    pidsLimit: 64,
    timeoutMs,
    labels: { 'pvhub.file': '1001_ac_power_ts01.csv' },
    outputCapBytes: 1024,
    user: '10001:10001',
  };
}

test('an engine that stops answering: a run going on past its time limit and the grace, or past its stop, is ours', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pvhub-hung-engine-'));
  const hung = new FaultClassifyingEngine(new SimulatedEngine(() => ({ kind: 'engine-hangs' })), 200);
  try {
    let started = Date.now();
    const unanswered = await hung.runContainer(runSpec(dir, 100), new AbortController().signal).then(
      () => assert.unreachable('it never ends'),
      (error: unknown) => error,
    );
    assert.instance(unanswered, InfrastructureFault);
    assert.equal(
      [(unanswered as InfrastructureFault).kind, (unanswered as InfrastructureFault).retryable],
      ['engine-unavailable', true],
    );
    assert.match((unanswered as Error).message, 'the Docker engine did not answer within 0.3 s');
    assert.ok(Date.now() - started >= 290, 'not before the time limit and the grace');

    const stop = new AbortController();
    started = Date.now();
    setTimeout(() => stop.abort(), 50);
    const stopped = await hung.runContainer(runSpec(dir, 60_000), stop.signal).then(
      () => assert.unreachable('it never ends'),
      (error: unknown) => error,
    );
    assert.instance(stopped, InfrastructureFault);
    assert.ok(Date.now() - started < 2_000, 'a stopped run does not wait for its time limit');

    const answering = new FaultClassifyingEngine(new SimulatedEngine(() => ({ kind: 'correct' })), 200);
    const outcome = await answering.runContainer(runSpec(dir, 100), new AbortController().signal);
    assert.is(outcome.exitCode, 0, 'an engine that answers is passed through');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
