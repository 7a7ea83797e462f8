import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WorkerError } from '../../src/domain/errors.js';
import { attemptName, jobRecordText, parseJobRecord } from '../../src/domain/job-record.js';

const JOB = {
  analysisId: 3,
  submissionId: 77,
  userId: 'u-1',
  submissionFilename: 'abc_sub.zip',
  pythonVersion: '3.12',
};
const RECORD = { job: JOB, worker: 'host-12-abcdef', startedAt: Date.UTC(2025, 0, 2, 3, 4, 5, 678) };

test('a job record reads back as it was written, the job in its message shape', () => {
  const text = jobRecordText(RECORD);
  assert.equal(JSON.parse(text).message, {
    analysis_pk: 3,
    submission_pk: 77,
    user_pk: 'u-1',
    submission_filename: 'abc_sub.zip',
    python_version: '3.12',
  });
  assert.equal(parseJobRecord(text), RECORD);
});

test('a record that does not read as one is refused: its job is checked as a message is (it names S3 keys)', () => {
  const refused = (record: unknown) => {
    try {
      parseJobRecord(JSON.stringify(record));
    } catch (error) {
      assert.instance(error, WorkerError);
      return (error as WorkerError).message;
    }
    return assert.unreachable('read') as never;
  };
  const good = JSON.parse(jobRecordText(RECORD)) as Record<string, unknown>;
  assert.match(refused({ ...good, worker: '../x' }), 'names no worker');
  assert.match(refused({ ...good, startedAt: 'now' }), 'no start time');
  assert.match(
    refused({ ...good, message: { ...(good['message'] as object), submission_filename: '../../other/x.zip' } }),
    'plain file name',
  );
  assert.throws(() => parseJobRecord('{"message": {'), /not JSON/);
});

test("an attempt's name: when it started (UTC, to the second) and its worker", () => {
  assert.is(attemptName(RECORD), '20250102T030405Z-host-12-abcdef');
});

test.run();
