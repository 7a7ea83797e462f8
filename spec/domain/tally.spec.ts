import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FileScore, FileTask } from '../../src/domain/file-run.js';
import { addScore, emptyTally, etaSeconds, progressOf } from '../../src/domain/tally.js';

const task = (name: string): FileTask => ({
  index: 0,
  metadata: { file_id: 1, system_id: 1, file_name: name, include_on_leaderboard: true },
  kwargs: [],
});

const scored = (name: string, seconds: number): FileScore => ({
  kind: 'scored',
  run: {
    kind: 'ran',
    task: task(name),
    executionTime: seconds,
    outputPath: '/x',
    functionParameters: ['time_series'],
    wallTimeMs: 2000,
  },
  row: { file_name: name, data_requirements: ['time_series'], values: { runtime: seconds } },
});

test('counts successes and failures, keeps rows in arrival order', () => {
  const tally = emptyTally(3);
  addScore(tally, scored('a.csv', 1.5));
  addScore(tally, {
    kind: 'failed',
    task: task('b.csv'),
    failure: { code: 'sb_1', message: 'slow' },
    wallTimeMs: 4000,
  });
  addScore(tally, scored('c.csv', 0.5));
  assert.is(tally.done, 3);
  assert.equal([tally.rows.fileName(0), tally.rows.fileName(1)], ['a.csv', 'c.csv']);
  assert.is(tally.rows.length, 2);
  assert.equal(tally.failed, [{ fileName: 'b.csv', failure: { code: 'sb_1', message: 'slow' } }]);
  assert.equal([tally.rows.executionTime(0), tally.rows.executionTime(1)], [1.5, 0.5]);
  assert.is(tally.rows.value(0, 'runtime'), 1.5);
  assert.is(tally.rows.value(1, 'runtime'), 0.5);
  assert.equal(tally.functionParameters, ['time_series']);
  assert.equal(progressOf(tally), { total: 3, done: 3, failed: 1, wallTimeMs: 8000 });
});

test('eta divides the remaining files at the pace so far by the parallelism', () => {
  const progress = progressOf(addScore(emptyTally(5), scored('a.csv', 1)));
  assert.is(etaSeconds(progressOf(emptyTally(5)), 2), undefined);
  assert.is(etaSeconds(progress, 1), 8);
  assert.is(etaSeconds(progress, 2), 4);
});

test.run();
