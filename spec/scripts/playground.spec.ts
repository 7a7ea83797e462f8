import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULTS, playground } from '../../scripts/playground.js';

const happenings = (timeline: readonly string[]) => timeline.map((line) => line.slice(line.indexOf(' s  ') + 4));

test('a Hub outage while staging: released untold, taken again, then every file scored two at once and deleted', async () => {
  const lines = happenings(
    await playground({ ...DEFAULTS, messages: 1, latencyMs: 250, hubOutages: 1, leaseSeconds: 2 }),
  );
  const order = [
    'm1 received (try 1)',
    'the Hub is down for this call',
    'm1 released',
    'm1 received (try 2)',
    'staged: 13 files, function detect_time_shifts',
    'm1 deleted',
  ];
  const positions = order.map((line) => lines.findIndex((seen) => seen.startsWith(line)));
  assert.ok(
    positions.every((position, index) => position >= 0 && (index === 0 || position > (positions[index - 1] ?? -1))),
    `in order: ${JSON.stringify(lines, null, 1)}`,
  );
  assert.ok(lines.some((line) => line.startsWith('failed wr_5 (back to the queue, the Hub not told)')));
  assert.is(
    lines.filter((line) => /^file \d+\/13 scored \(parallel 2\)$/.test(line)).length,
    13,
    'memory allows two 8 GiB containers in 20 GiB',
  );
  assert.ok(lines.includes('all files in: 13 scored, 0 failed, at most 2 at once'));
  assert.ok(lines.includes('m1 visibility extended'), 'a job longer than half the lease is extended');
});

test('the first three files failing stop the job (op_7): reported, deleted, the rest never run', async () => {
  const lines = happenings(
    await playground({
      ...DEFAULTS,
      messages: 1,
      latencyMs: 10,
      failEvery: 1,
      hubOutages: 0,
      freeGiB: 8,
      leaseSeconds: 0,
    }),
  );
  assert.is(
    lines.filter((line) => line.startsWith('  container starts')).length,
    3,
    'one at a time in 8 GiB, three of them',
  );
  assert.ok(lines.some((line) => line.startsWith('failed op_7: the first 3 files all failed')));
  assert.ok(lines.includes('m1 deleted'));
});

test.run();
