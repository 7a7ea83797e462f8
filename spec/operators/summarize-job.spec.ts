import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WorkerError } from '../../src/domain/errors.js';
import type { JobSummary, SummaryEvent } from '../../src/domain/job-summary.js';
import { summarizeJob } from '../../src/operators/summarize-job.js';
import { marbleScheduler } from '../helpers/marbles.js';

const JOB = { submissionId: 7, analysisId: 2 };
// What the summary reads of each event; a JobEvent has more.
const events: Record<string, SummaryEvent> = {
  s: { type: 'staged', bytes: 4096 },
  i: { type: 'image', cached: true },
  o: { type: 'file', score: { kind: 'scored' } },
  x: { type: 'file', score: { kind: 'failed' } },
  d: { type: 'scored', peakParallel: 2 },
  F: { type: 'finished' },
  E: { type: 'failed', error: new WorkerError('op_2', 'no wheel') },
};

function summaries(marbles: string): JobSummary[] {
  const emitted: JobSummary[] = [];
  marbleScheduler().run(({ cold, expectObservable }) => {
    let clock = 0;
    const source = cold(marbles, events);
    expectObservable(
      source.pipe(
        summarizeJob(
          JOB,
          (summary) => emitted.push(summary),
          () => (clock += 1000),
        ),
      ),
    ).toBe(marbles, events);
  });
  return emitted;
}

test('a finished job: one line with every phase, the files, the parallelism, the cache and the bytes', () => {
  assert.equal(summaries('-s-i-o-x-o-d-F|'), [
    {
      msg: 'job summary',
      submission: 7,
      analysis: 2,
      outcome: 'finished',
      code: null,
      total_seconds: 7,
      stage_seconds: 1,
      build_seconds: 1,
      files_seconds: 4,
      finish_seconds: 1,
      files_ok: 2,
      files_failed: 1,
      peak_parallel: 2,
      image_cached: true,
      bytes_staged: 4096,
    },
  ]);
});

test('a job failed at the build: its code, and null for the phases it never reached', () => {
  const [summary] = summaries('-s-E|');
  assert.equal(
    {
      outcome: summary?.outcome,
      code: summary?.code,
      build: summary?.build_seconds,
      files: summary?.files_seconds,
      finish: summary?.finish_seconds,
      cached: summary?.image_cached,
    },
    { outcome: 'failed', code: 'op_2', build: null, files: null, finish: null, cached: null },
  );
});

test.run();
