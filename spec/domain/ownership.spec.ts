import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  abandonedUnowned,
  isWorkerId,
  keptWorkspaceName,
  type ManagedContainer,
  OWNER_DIR_LABEL,
  OWNER_LABEL,
  ownedFolder,
  ownedLogFolder,
  ownedWorkspacePrefix,
  otherOwners,
  socketPathProblem,
  unownedLifetimeMs,
  workerId,
} from '../../src/domain/ownership.js';

const MINUTE = 60_000;

test('a worker id: the host name cut to 12 letters and digits, the pid, six hex; always in the one format', () => {
  assert.is(workerId('ip-10-0-3-17.us-west-2.compute.internal', 4711, 'a1b2c3d4'), 'ip100317uswe-4711-a1b2c3');
  assert.is(workerId('3f2a9c1d0b7e', 1, 'ffffff'), '3f2a9c1d0b7e-1-ffffff');
  assert.is(workerId('---', 7, '000000'), 'worker-7-000000', 'a host name with nothing usable');
  assert.ok(isWorkerId(workerId('Some_Host.Name', 99999, 'abcdef')));
  assert.not.ok(isWorkerId('../etc'));
  assert.not.ok(isWorkerId('host-1'));
});

test('owned folders: the owner is read back from the names a worker gives its workspace and its job log', () => {
  const owner = 'host-42-abc123';
  const workspace = `${ownedWorkspacePrefix(7, owner)}Xy9Zq0`;
  assert.equal(ownedFolder(workspace), { name: workspace, kind: 'workspace', owner });
  const log = ownedLogFolder(7, owner, 1_733_300_000_000);
  assert.is(log, 'logs-7-host-42-abc123-1733300000000');
  assert.equal(ownedFolder(log), { name: log, kind: 'log', owner });
  assert.is(ownedFolder('submission-7-Xy9Zq0'), undefined, "an older version's workspace has no owner");
  assert.is(ownedFolder('logs-7-1733300000000'), undefined);
  assert.is(ownedFolder('worker.alive'), undefined);
  assert.is(keptWorkspaceName(workspace, owner), 'submission-7-Xy9Zq0', 'a kept workspace loses its owner');
  assert.is(ownedFolder(keptWorkspaceName(workspace, owner)), undefined);
});

const container = (id: string, labels: Record<string, string>, createdAt = 0): ManagedContainer => ({
  id,
  labels: { 'pvhub.managed': 'true', ...labels },
  createdAt,
});

test('other owners: from containers, folders and sockets, each with its socket; never this worker', () => {
  const owners = otherOwners(
    [
      container('a', { [OWNER_LABEL]: 'me-1-aaaaaa', [OWNER_DIR_LABEL]: '/work' }),
      container('b', { [OWNER_LABEL]: 'peer-2-bbbbbb', [OWNER_DIR_LABEL]: '/work' }),
      container('c', { [OWNER_LABEL]: 'far-3-cccccc', [OWNER_DIR_LABEL]: '/elsewhere' }),
      container('d', { [OWNER_LABEL]: 'not an id' }),
      container('e', {}),
    ],
    [{ name: 'logs-9-dead-4-dddddd-1', kind: 'log', owner: 'dead-4-dddddd' }],
    ['gone-5-eeeeee'],
    'me-1-aaaaaa',
    '/work',
  );
  assert.equal(Object.fromEntries(owners), {
    'dead-4-dddddd': '/work/workers/dead-4-dddddd.sock',
    'gone-5-eeeeee': '/work/workers/gone-5-eeeeee.sock',
    'peer-2-bbbbbb': '/work/workers/peer-2-bbbbbb.sock',
    'far-3-cccccc': '/elsewhere/workers/far-3-cccccc.sock',
  });
});

test("an older version's container (no owner) is abandoned only once older than any live worker lets one live", () => {
  const limits = { fileTimeLimitMs: 30 * MINUTE, buildTimeLimitMs: 20 * MINUTE };
  const lifetime = unownedLifetimeMs(limits, 5 * MINUTE);
  assert.is(lifetime, 40 * MINUTE, 'the longest limit and the margin for its removal');
  const now = 100 * MINUTE;
  const containers = [
    container('young', {}, now - 39 * MINUTE),
    container('old', {}, now - 41 * MINUTE),
    container('owned', { [OWNER_LABEL]: 'x-1-aaaaaa' }, 0),
  ];
  assert.equal(abandonedUnowned(containers, now, lifetime), ['old']);
});

test('a work folder whose sockets would be cut by the kernel is a problem', () => {
  assert.is(socketPathProblem('/var/lib/pvhub-worker'), undefined);
  assert.match(socketPathProblem(`/${'x'.repeat(80)}`) ?? '', 'over the 107 a Unix socket path may have');
});

test.run();
