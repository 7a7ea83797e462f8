import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { holdOwnerMark, type OwnerMark } from '../../src/adapters/owner-mark.js';
import { SimulatedEngine } from '../../src/adapters/simulated/engine.js';
import { MemoryPublisher } from '../../src/adapters/simulated/publisher.js';
import {
  MANAGED_LABELS,
  ownedLogFolder,
  ownedWorkspacePrefix,
  ownerLabels,
  ownerSocket,
} from '../../src/domain/ownership.js';
import { cleanUpAfterDeadOwners } from '../../src/sinks/dead-owners.js';
import { writeJobRecord } from '../../src/sinks/job-record.js';

const MINUTE = 60_000;
const LIFETIME = 40 * MINUTE;
const DEAD = 'dead-1-dddddd';

let work = '';
const marks: OwnerMark[] = [];
test.before.each(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'pvhub-dead-owners-'));
});
test.after.each(async () => {
  for (const mark of marks.splice(0)) mark.release();
  await rm(work, { recursive: true, force: true });
});

async function mark(): Promise<OwnerMark> {
  const held = await holdOwnerMark(work);
  marks.push(held);
  return held;
}

/** A worker killed with -9: its socket file stayed, no process listens on it. */
async function deadSocket(owner: string): Promise<void> {
  await mkdir(path.join(work, 'workers'), { recursive: true });
  await writeFile(ownerSocket(work, owner), '');
}

const sweep = (engine: SimulatedEngine, self: string, publisher = new MemoryPublisher()) =>
  cleanUpAfterDeadOwners(
    { engine, publisher },
    { workDir: work, self, unownedLifetimeMs: LIFETIME, log: pino({ level: 'silent' }) },
  );
const owned = (owner: string, dir = work) => ({
  ...MANAGED_LABELS,
  'pvhub.submission': '7',
  ...ownerLabels(owner, dir),
});

test("only provably dead owners' containers go, and older versions' once no live worker can run them", async () => {
  const self = await mark();
  const peer = await mark();
  await deadSocket(DEAD);
  const engine = new SimulatedEngine(() => ({ kind: 'correct' }));
  const mine = engine.leftBehind(owned(self.id));
  const peers = engine.leftBehind(owned(peer.id));
  engine.leftBehind(owned(DEAD));
  engine.leftBehind(owned(DEAD));
  const vanishedOwner = engine.leftBehind(owned('gone-2-eeeeee'));
  const elsewhere = engine.leftBehind(owned('far-3-ffffff', path.join(work, 'not-mounted')));
  const youngUnowned = engine.leftBehind(
    { ...MANAGED_LABELS, 'pvhub.submission': '8' },
    Date.now() - LIFETIME + MINUTE,
  );
  engine.leftBehind({ ...MANAGED_LABELS, 'pvhub.submission': '9' }, Date.now() - LIFETIME - MINUTE);
  engine.networks.set('dead-job', owned(DEAD));
  engine.networks.set('peer-job', owned(peer.id));

  const cleaned = await sweep(engine, self.id);
  assert.equal(
    [...cleaned.deadOwners].sort(),
    [DEAD, 'gone-2-eeeeee'].sort(),
    'a refused socket, and a missing one in this work folder',
  );
  assert.is(cleaned.containers, 4);
  assert.equal([...engine.running.keys()].sort(), [mine, peers, elsewhere, youngUnowned].sort());
  assert.not.ok(engine.running.has(vanishedOwner));
  assert.is(cleaned.networks, 1);
  assert.equal([...engine.networks.keys()], ['peer-job'], "a dead owner's job network goes, a live one's stays");
});

test('a live peer is never swept, however old its containers and however often the sweep runs', async () => {
  const peer = await mark();
  const self = await mark();
  const engine = new SimulatedEngine(() => ({ kind: 'correct' }));
  const old = engine.leftBehind(owned(peer.id), 0);
  for (let round = 0; round < 3; round += 1)
    assert.equal(await sweep(engine, self.id), { deadOwners: [], containers: 0, networks: 0, workspaces: 0, logs: 0 });
  assert.ok(engine.running.has(old));
  peer.release();
  assert.equal(
    await sweep(engine, self.id),
    { deadOwners: [peer.id], containers: 1, networks: 0, workspaces: 0, logs: 0 },
    'once it is gone, its container goes',
  );
});

/** A folder of the work folder with a file in it; its path. */
async function folder(name: string, files: Record<string, string> = { 'a.txt': 'a' }): Promise<string> {
  const dir = path.join(work, name);
  await mkdir(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) await writeFile(path.join(dir, file), text);
  return dir;
}

const JOB = { analysisId: 1, submissionId: 7, userId: 'u', submissionFilename: 'a.zip', pythonVersion: '3.11' };
const STARTED = Date.UTC(2025, 11, 4, 1, 42, 7, 123);

test("a dead worker's workspaces go; its job log goes to its submission as the attempt's log first; others' folders stay", async () => {
  const self = await mark();
  const peer = await mark();
  await deadSocket(DEAD);
  const workspace = await folder(`${ownedWorkspacePrefix(7, DEAD)}Ab12Cd`);
  const log = await folder(ownedLogFolder(7, DEAD, STARTED), {
    'submission.log.jsonl': '{"level":30,"msg":"file ran"}\n',
  });
  writeJobRecord(log, { job: JOB, worker: DEAD, startedAt: STARTED });
  const unrecorded = await folder(ownedLogFolder(8, DEAD, STARTED));
  const staying = [
    `${ownedWorkspacePrefix(9, peer.id)}Ef34Gh`,
    'submission-10-Ij56Kl',
    'logs-11-1733300000000',
    ownedLogFolder(12, self.id, STARTED),
  ];
  for (const name of staying) await folder(name);
  const publisher = new MemoryPublisher();

  const cleaned = await sweep(new SimulatedEngine(() => ({ kind: 'correct' })), self.id, publisher);
  assert.equal(cleaned, { deadOwners: [DEAD], containers: 0, networks: 0, workspaces: 1, logs: 1 });
  assert.equal(publisher.attemptLogs, [{ submissionId: 7, logsDir: log, attempt: `20251204T014207Z-${DEAD}` }]);
  assert.equal(publisher.logs, [], 'never as the log of the attempt that settles the job');
  for (const gone of [workspace, log, unrecorded, ownerSocket(work, DEAD)]) assert.not.ok(existsSync(gone), gone);
  for (const name of staying) assert.ok(existsSync(path.join(work, name)), name);
});

test("a dead worker's log whose upload fails stays for the next worker, which uploads it", async () => {
  const self = await mark();
  await deadSocket(DEAD);
  const log = await folder(ownedLogFolder(7, DEAD, STARTED));
  writeJobRecord(log, { job: JOB, worker: DEAD, startedAt: STARTED });
  const down = new (class extends MemoryPublisher {
    override async publishLogs(): Promise<void> {
      throw new Error('S3 is down');
    }
  })();
  assert.equal(await sweep(new SimulatedEngine(() => ({ kind: 'correct' })), self.id, down), {
    deadOwners: [DEAD],
    containers: 0,
    networks: 0,
    workspaces: 0,
    logs: 0,
  });
  assert.ok(existsSync(log));
  const up = new MemoryPublisher();
  assert.equal(
    (await sweep(new SimulatedEngine(() => ({ kind: 'correct' })), self.id, up)).logs,
    1,
    'its owner is still known dead by the folder',
  );
  assert.is(up.attemptLogs.length, 1);
  assert.not.ok(existsSync(log));
});

test.run();
