import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { holdOwnerMark, probeOwner } from '../../src/adapters/owner-mark.js';
import { ownerSocket } from '../../src/domain/ownership.js';
import { ROOT } from '../helpers/cli.js';

let work = '';
test.before.each(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'pvhub-owner-'));
});
test.after.each(async () => {
  await rm(work, { recursive: true, force: true });
});

test('a held mark answers; once released its owner is dead, the socket gone', async () => {
  const mark = await holdOwnerMark(work);
  const socket = ownerSocket(work, mark.id);
  assert.is(await probeOwner(socket), 'alive');
  mark.release();
  assert.not.ok(existsSync(socket));
  assert.is(await probeOwner(socket), 'dead', 'a missing socket in a visible workers folder');
});

test('a socket whose folder is not visible here (another work folder, not mounted) tells nothing', async () => {
  assert.is(await probeOwner(path.join(work, 'not-mounted/workers/host-1-aaaaaa.sock')), 'unknown');
});

test('a process busy in a loop that never yields is alive; killed with -9 it is dead, its socket left behind', async () => {
  const id = 'spec-1-abcdef';
  const holder = `import('${path.join(ROOT, 'src/adapters/owner-mark.ts')}').then((m) => m.holdOwnerMark(process.argv[1], process.argv[2])).then(() => { console.log('held'); for (;;); });`;
  const child = spawn('node', ['--import', 'tsx', '-e', holder, work, id], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('held') && resolve());
      child.on('exit', (code) => reject(new Error(`the holder exited with ${code}`)));
    });
    const socket = ownerSocket(work, id);
    assert.is(await probeOwner(socket), 'alive', 'the kernel accepts the connection for a process that cannot');
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    assert.ok(existsSync(socket), 'nothing removed the socket');
    assert.is(await probeOwner(socket), 'dead');
  } finally {
    child.kill('SIGKILL');
  }
});

test.run();
