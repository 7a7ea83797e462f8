import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { holdOwnerMark, type OwnerMark } from '../../src/adapters/owner-mark.js';
import { SimulatedEngine } from '../../src/adapters/simulated/engine.js';
import { MANAGED_LABELS, ownerLabels, ownerSocket } from '../../src/domain/ownership.js';
import { cleanUpAfterDeadOwners } from '../../src/sinks/dead-owners.js';

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

const sweep = (engine: SimulatedEngine, self: string) => cleanUpAfterDeadOwners(engine, { workDir: work, self, unownedLifetimeMs: LIFETIME, log: pino({ level: 'silent' }) });
const owned = (owner: string, dir = work) => ({ ...MANAGED_LABELS, 'pvhub.submission': '7', ...ownerLabels(owner, dir) });

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
  const youngUnowned = engine.leftBehind({ ...MANAGED_LABELS, 'pvhub.submission': '8' }, Date.now() - LIFETIME + MINUTE);
  engine.leftBehind({ ...MANAGED_LABELS, 'pvhub.submission': '9' }, Date.now() - LIFETIME - MINUTE);

  const cleaned = await sweep(engine, self.id);
  assert.equal([...cleaned.deadOwners].sort(), [DEAD, 'gone-2-eeeeee'].sort(), 'a refused socket, and a missing one in this work folder');
  assert.is(cleaned.containers, 4);
  assert.equal([...engine.running.keys()].sort(), [mine, peers, elsewhere, youngUnowned].sort());
  assert.not.ok(engine.running.has(vanishedOwner));
});

test('a live peer is never swept, however old its containers and however often the sweep runs', async () => {
  const peer = await mark();
  const self = await mark();
  const engine = new SimulatedEngine(() => ({ kind: 'correct' }));
  const old = engine.leftBehind(owned(peer.id), 0);
  for (let round = 0; round < 3; round += 1) assert.equal(await sweep(engine, self.id), { deadOwners: [], containers: 0 });
  assert.ok(engine.running.has(old));
  peer.release();
  assert.equal(await sweep(engine, self.id), { deadOwners: [peer.id], containers: 1 }, 'once it is gone, its container goes');
});

test.run();
