import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WorkerError } from '../../src/domain/errors.js';
import { parseJobMessage, submissionIdOf } from '../../src/domain/job.js';

const body = {
  analysis_pk: 3,
  submission_pk: 42,
  user_pk: 7,
  submission_filename: '6f1c2d_submission.zip',
  python_version: '3.11',
};

test('a contract message becomes a Job', () => {
  assert.equal(parseJobMessage(JSON.stringify(body)), {
    analysisId: 3,
    submissionId: 42,
    userId: '7',
    submissionFilename: '6f1c2d_submission.zip',
    pythonVersion: '3.11',
  });
});

function rejects(raw: string, fragment: string) {
  try {
    parseJobMessage(raw);
  } catch (error) {
    assert.instance(error, WorkerError);
    assert.ok((error as Error).message.includes(fragment), (error as Error).message);
    return;
  }
  assert.unreachable(`accepted ${raw}`);
}

test('every field is checked, with a message naming it', () => {
  rejects('not json', 'not JSON');
  rejects('[1]', 'JSON object');
  rejects(JSON.stringify({ ...body, analysis_pk: 0 }), '"analysis_pk"');
  rejects(JSON.stringify({ ...body, submission_pk: 'x' }), '"submission_pk"');
  rejects(JSON.stringify({ ...body, user_pk: '' }), '"user_pk"');
  rejects(JSON.stringify({ ...body, submission_filename: '../x.zip' }), 'plain file name');
  rejects(JSON.stringify({ ...body, python_version: 'three' }), '"python_version"');
  rejects(JSON.stringify({ ...body, python_version: undefined }), '"python_version"');
});

test('the submission id is read from an otherwise invalid body, so the failure can be reported', () => {
  assert.is(submissionIdOf(JSON.stringify({ submission_pk: 9 })), 9);
  assert.is(submissionIdOf(JSON.stringify({ submission_pk: '12' })), 12);
  assert.is(submissionIdOf('garbage'), undefined);
  assert.is(submissionIdOf(JSON.stringify({ submission_pk: -1 })), undefined);
});

test.run();
