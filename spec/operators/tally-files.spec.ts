import { pino } from 'pino';
import { inMemoryFileList } from '../../src/domain/file-list.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FileScore, FileScoreRow, FileTask } from '../../src/domain/file-run.js';
import { ScoredColumns } from '../../src/domain/tally.js';
import type { JobEvent } from '../../src/domain/job-event.js';
import type { BuiltWorkspace } from '../../src/domain/workspace.js';
import { parseTaskConfig } from '../../src/domain/task-config.js';
import { tallyFiles } from '../../src/operators/tally-files.js';
import { marbleScheduler } from '../helpers/marbles.js';

const task = (name: string): FileTask => ({
  index: 0,
  metadata: { file_id: 1, system_id: 1, file_name: name, include_on_leaderboard: true },
  kwargs: [],
});
const scored = (name: string): FileScore => ({
  kind: 'scored',
  run: {
    kind: 'ran',
    task: task(name),
    executionTime: 1,
    outputPath: '/x',
    functionParameters: ['time_series'],
    wallTimeMs: 2000,
  },
  row: { file_name: name, data_requirements: ['time_series'], values: { runtime: 1 } },
});
const failed: FileScore = {
  kind: 'failed',
  task: task('b.csv'),
  failure: { code: 'sb_1', message: 'slow' },
  wallTimeMs: 4000,
};

const WORKSPACE: BuiltWorkspace = {
  job: { analysisId: 1, submissionId: 1, userId: 'u', submissionFilename: 's.zip', pythonVersion: '3.11' },
  dir: '/nonexistent',
  log: pino({ level: 'silent' }),
  config: parseTaskConfig({
    function_name: 'f',
    comparison_type: 'time_series',
    performance_metrics: ['runtime'],
    metrics_operations: { runtime: ['mean'] },
    allowable_kwargs: [],
    references_compare: ['time_series'],
    public_results_table: 'p.json',
    private_results_columns: ['file_name'],
  }),
  files: inMemoryFileList([task('a.csv'), task('b.csv')]),
  systems: new Map(),
  templatePath: undefined,
  submissionDir: '/nonexistent',
  image: 'img',
};

const rowOf = (name: string) => ({ file_name: name, data_requirements: ['time_series'], values: { runtime: 1 } });
function columnsOf(row: FileScoreRow, executionTime: number): ScoredColumns {
  const columns = new ScoredColumns();
  columns.add(row, executionTime);
  return columns;
}
const fileEvent = (
  score: FileScore,
  done: number,
  failedCount: number,
  wallTimeMs: number,
  parallel: number,
): JobEvent => ({
  type: 'file',
  score,
  progress: { total: 2, done, failed: failedCount, wallTimeMs },
  parallel,
});

test('a file event per score with the progress so far, then scored with the whole tally', () => {
  marbleScheduler().run(({ cold, expectObservable }) => {
    const result = cold('-a-b-|', { a: scored('a.csv'), b: failed }).pipe(tallyFiles(WORKSPACE, 2, () => 2));
    expectObservable(result).toBe('-a-b-(s|)', {
      a: fileEvent(scored('a.csv'), 1, 0, 2000, 2),
      b: fileEvent(failed, 2, 1, 6000, 2),
      s: {
        type: 'scored',
        workspace: WORKSPACE,
        peakParallel: 2,
        tally: {
          total: 2,
          done: 2,
          rows: columnsOf(rowOf('a.csv'), 1),
          failed: [{ fileName: 'b.csv', failure: { code: 'sb_1', message: 'slow' } }],
          functionParameters: ['time_series'],
          wallTimeMs: 6000,
        },
      },
    });
  });
});

test('each subscription folds a tally of its own', () => {
  const tallies: unknown[] = [];
  marbleScheduler().run(({ cold, flush }) => {
    const result = cold('-a|', { a: scored('a.csv') }).pipe(tallyFiles(WORKSPACE, 1, () => 1));
    for (let run = 0; run < 2; run += 1)
      result.subscribe((event) => event.type === 'scored' && tallies.push(event.tally));
    flush();
  });
  assert.is(tallies.length, 2);
  assert.is.not(tallies[0], tallies[1]);
  assert.equal(tallies[0], tallies[1]);
});

test.run();
