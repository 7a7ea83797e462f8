import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { judgeRun, type RunFacts } from '../../src/domain/wrapper-outcome.js';

const facts: RunFacts = {
  exitCode: 0,
  timedOut: false,
  oomKilled: false,
  timeLimitSeconds: 60,
  memoryLimitBytes: 2 * 1024 ** 3,
  outputTail: '',
  report: { ok: true, execution_time: 1.25, function_parameters: ['time_series', 'latitude'] },
};

test('a clean run with a report is ok with its timing', () => {
  assert.equal(judgeRun(facts), { ok: true, executionTime: 1.25, functionParameters: ['time_series', 'latitude'] });
});

test('the time limit and the memory limit win over anything the report says', () => {
  assert.equal(judgeRun({ ...facts, timedOut: true, exitCode: null }), {
    ok: false,
    failure: { code: 'sb_1', message: 'exceeded the time limit of 60 s' },
  });
  assert.equal(judgeRun({ ...facts, resultsExceeded: true, resultsCapBytes: 256 * 1024 ** 2, exitCode: null }), {
    ok: false,
    failure: { code: 'sb_500', message: 'wrote more than the results limit of 256 MiB' },
  });
  assert.equal(judgeRun({ ...facts, oomKilled: true, exitCode: 137 }), {
    ok: false,
    failure: { code: 'sb_500', message: 'exceeded the memory limit of 2.0 GiB' },
  });
});

test("the wrapper's own code is kept when it is a Hub code, else sb_500", () => {
  assert.equal(judgeRun({ ...facts, exitCode: 3, report: { ok: false, code: 'op_6', message: 'no function f' } }), {
    ok: false,
    failure: { code: 'op_6', message: 'no function f' },
  });
  assert.equal(judgeRun({ ...facts, exitCode: 1, report: { ok: false, code: 'zz_9', message: 'odd' } }), {
    ok: false,
    failure: { code: 'sb_500', message: 'odd' },
  });
});

test('a crash without a report names the exit status and the last output lines', () => {
  const verdict = judgeRun({ ...facts, exitCode: 139, report: undefined, outputTail: 'a\nb\nSegmentation fault\n' });
  assert.equal(verdict, {
    ok: false,
    failure: {
      code: 'sb_500',
      message: 'the submission ended with exit status 139 and no result: a | b | Segmentation fault',
    },
  });
});

test('a report claiming success with a non-zero exit is not trusted', () => {
  assert.is(judgeRun({ ...facts, exitCode: 1 }).ok, false);
  assert.is(judgeRun({ ...facts, report: { ok: true, execution_time: Number.NaN } }).ok, false);
});

test.run();
