import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DockerEngine } from '../../src/adapters/docker-engine.js';
import { baseImage } from '../../src/adapters/images/base-images.js';
import { holdOwnerMark } from '../../src/adapters/owner-mark.js';
import { MANAGED_LABELS, ownedLogFolder, ownedWorkspacePrefix, ownerLabels } from '../../src/domain/ownership.js';
import { createJobLogger } from '../../src/logging.js';
import { writeJobRecord } from '../../src/sinks/job-record.js';
import { HUB_PASSWORD } from '../helpers/hub-server.js';
import {
  ANALYSIS,
  bodyOf,
  containersOf,
  containersOwnedBy,
  createContainer,
  disposeWorlds,
  keysUnder,
  messagesLeft,
  objectText,
  prefixOf,
  runWorker,
  sendRaw,
  startWorker,
  storeTask,
  submit,
  type Submission,
  visibleMessages,
  type World,
  world,
  WORKER_TIME_LIMIT_MS,
} from '../helpers/hub-world.js';
import { until } from '../helpers/until.js';

/**
 * The worker as the Hub runs it: `pvhub-worker worker --max-jobs N` in its own process, against ElasticMQ, an
 * S3-compatible server and a stand-in of the Hub API, with the example task stored under the contract's keys.
 */

test.after.each(disposeWorlds);

/**
 * The calls of a job that ran its files, in the order of the original (contract §3): login, running, every file's
 * metadata (concurrent, so as a set), the versions (and their redirect), the systems, then one progress per file
 * (with a non-breaking report before it for a failed file, and the blank report those go to before the first), the
 * result and the final status.
 */
async function assertRunSequence(w: World, s: Submission, failedFiles: readonly string[]): Promise<void> {
  const sid = s.submissionId;
  const calls = w.hub.calls();
  const n = w.files.length;
  assert.equal(calls.slice(0, 2), ['POST login', `PUT submissions/change_submission_status/${sid}`], calls.join('\n'));
  assert.equal(
    calls.slice(2, 2 + n).sort(),
    w.files.map((file) => `GET file_metadata/filemetadata/${String(file['file_id'])}/`).sort(),
  );
  const afterMetadata = calls.slice(2 + n);
  assert.equal(
    afterMetadata.slice(0, 3),
    ['GET versions/python', 'GET versions/python/', 'GET system_metadata/systemmetadata/'],
    calls.join('\n'),
  );
  const perFile = afterMetadata.slice(3, afterMetadata.length - 2);
  assert.is(perFile.filter((call) => call === `POST submissions/submission/${sid}/progress_increment`).length, n);
  const nonBreakingCall = `POST error/error_report/${sid}/update_non_breaking`;
  assert.is(
    perFile.filter((call) => call === nonBreakingCall).length,
    failedFiles.length,
    JSON.stringify(bodyOf(w.hub.requests, 'POST', `error/error_report/${sid}/update_non_breaking`)),
  );
  const reportMade = failedFiles.length > 0 ? 1 : 0;
  assert.is(perFile.length, n + failedFiles.length + reportMade, 'nothing else between the build and the result');
  if (reportMade > 0)
    assert.is(
      perFile[perFile.indexOf(nonBreakingCall) - 1],
      'POST error/error_report/new',
      'the report is made right before the first file error',
    );
  assert.equal(afterMetadata.slice(-2), [
    `PUT submissions/update_submission_result/${sid}`,
    `PUT submissions/change_submission_status/${sid}`,
  ]);

  const requests = w.hub.requests;
  assert.equal(bodyOf(requests, 'PUT', `submissions/change_submission_status/${sid}`), [
    { status: 'running' },
    { status: 'finished' },
  ]);
  assert.equal(w.hub.statuses.get(sid), ['running', 'finished']);
  const blankReport = {
    submission: sid,
    error_code: '',
    error_type: '',
    error_message: '',
    error_rate: 0,
    file_errors: { errors: [] },
  };
  assert.equal(bodyOf(requests, 'POST', 'error/error_report/new'), failedFiles.length > 0 ? [blankReport] : []);
  assert.equal(bodyOf(requests, 'POST', 'error/error_report'), [], 'no breaking error');
  const nonBreaking = bodyOf(requests, 'POST', `error/error_report/${sid}/update_non_breaking`) as Array<
    Record<string, unknown>
  >;
  assert.equal(nonBreaking.map((body) => body['file_name']).sort(), [...failedFiles].sort());
  for (const body of nonBreaking) {
    assert.equal(Object.keys(body).sort(), ['error_code', 'error_message', 'error_type', 'file_name']);
    assert.is(body['error_code'], 'sb_500');
    assert.is(body['error_type'], 'SubmissionException');
    assert.match(String(body['error_message']), 'ValueError');
  }
  // Every file's progress, a failed one's too, carries its container's wall time: a container takes some tenths of a
  // second at least, where the function alone may take hundredths. Each request of a failed file comes right before
  // its progress.
  const progress = requests.filter((r) => r.path === `submissions/submission/${sid}/progress_increment`);
  assert.ok(
    progress.every((r) => r.status === 200),
    'the API took every progress',
  );
  const seconds = progress.map((r) => (r.body as { file_exec_time: unknown }).file_exec_time);
  assert.ok(
    seconds.every((value) => typeof value === 'number' && value > 0.1 && value < 60),
    JSON.stringify(seconds),
  );
  const perFileRequests = requests.filter(
    (r) => r.path.includes('progress_increment') || r.path.includes('update_non_breaking'),
  );
  perFileRequests.forEach((r, i) => {
    if (r.path.includes('update_non_breaking')) assert.ok(perFileRequests[i + 1]?.path.includes('progress_increment'));
  });
  const shown = await w.hub.frontEnd(sid);
  assert.is(shown.filesDone, n, 'the progress reaches the total');
  if (failedFiles.length === 0)
    assert.is(shown.errorReport, undefined, 'no error report for a submission without errors');
  else
    assert.equal(
      shown.errorReport?.file_errors.errors.length,
      failedFiles.length,
      'the report shown holds every file error',
    );
  for (const entry of requests) {
    assert.is(entry.headers['content-type'], 'application/json');
    if (entry.path !== 'login') assert.match(String(entry.headers['authorization']), /^Token \S+$/);
  }
}

async function assertLogsUploaded(w: World, s: Submission): Promise<void> {
  assert.equal(await keysUnder(w, `${prefixOf(s)}logs/`), [
    'submission.error.log',
    'submission.log',
    'submission.log.jsonl',
  ]);
}

test('a good submission, end to end: results and logs in S3, API calls in order, finished, queue empty', async () => {
  const w = await world();
  await storeTask(w);
  const s = await submit(w, 'time-shift-correct.zip', 101);
  const run = await runWorker(w, ['--max-jobs', '1']);
  assert.is(run.status, 0, run.stderr.slice(-3000));

  await assertRunSequence(w, s, []);
  const results = await keysUnder(w, `${prefixOf(s)}results/`);
  for (const name of [
    'time-shift-public-metrics.json',
    'time-shift-private-metrics.json',
    'submission_full_results.csv',
    'private_results.html',
  ]) {
    assert.ok(results.includes(name), `results/${name} uploaded (have: ${results.join(', ')})`);
  }
  const outputs = results.filter((key) => key.startsWith('files/')).map((key) => key.slice('files/'.length));
  assert.equal(outputs.sort(), w.files.map((file) => String(file['file_name'])).sort(), 'one output per data file');
  await assertLogsUploaded(w, s);

  const publicResults = JSON.parse(
    await objectText(w, `${prefixOf(s)}results/time-shift-public-metrics.json`),
  ) as Record<string, unknown>;
  assert.equal(w.hub.results.get(s.submissionId), publicResults, 'the result PUT is the public results file');
  assert.is(publicResults['module'], 'submission');
  assert.is(publicResults['number_of_files'], w.files.filter((file) => file['include_on_leaderboard'] === true).length);
  assert.equal(publicResults['data_requirements'], ['time_series', 'latitude', 'longitude', 'data_sampling_frequency']);
  const metrics = publicResults['metrics'] as Record<string, unknown>;
  assert.equal(Object.keys(metrics).sort(), [
    'mean_mean_absolute_error_time_series',
    'mean_runtime',
    'median_mean_absolute_error_time_series',
  ]);
  assert.ok(Object.values(metrics).every((value) => typeof value === 'number' && Number.isFinite(value)));
  const shown = await w.hub.frontEnd(s.submissionId);
  assert.equal(
    shown.reports,
    [`${w.services.s3Endpoint}/${w.bucket}/${prefixOf(s)}results/private_results.html`],
    'one report in S3: the one the private report page opens',
  );
  const privateReport = await objectText(w, `${prefixOf(s)}results/private_results.html`);
  assert.match(
    privateReport,
    'scored files; metrics in hours',
    "the task's template rendered with marimo (a line only it writes)",
  );
  assert.not.match(privateReport, 'class="note"', 'not the built-in report in its place');

  assert.is(await messagesLeft(w), 0, 'message deleted');
  assert.not.match(run.stdout + run.stderr, HUB_PASSWORD, 'the password never reaches the output');
  const token = String(w.hub.requests.at(-1)?.headers['authorization']).replace(/^Token /, '');
  assert.not.match(run.stdout + run.stderr, token, 'nor the token');
});

/** A task template with a cell that raises, as the Hub's own templates do when a column they read is missing. */
const BROKEN_TEMPLATE = `import marimo

app = marimo.App()


@app.cell
def _():
    import marimo as mo
    mo.md("a template by the task's authors")
    return


@app.cell
def _():
    raise ValueError("a column this template reads is missing")
    return


if __name__ == "__main__":
    app.run()
`;

test('a submission that fails on some files, on a task whose template raises: one non-breaking report per failed file, none for the template, then finished', async () => {
  const w = await world();
  const template = path.join(w.work, 'broken-template.py');
  await writeFile(template, BROKEN_TEMPLATE);
  await storeTask(w, [], template);
  const s = await submit(w, 'time-shift-raises-some.zip', 102);
  const run = await runWorker(w, ['--max-jobs', '1']);
  assert.is(run.status, 0, run.stderr.slice(-3000));
  // The submission refuses 5-minute data (see its submission_wrapper.py).
  const failing = w.files
    .filter((file) => file['data_sampling_frequency'] === 5)
    .map((file) => String(file['file_name']));
  assert.ok(failing.length > 0);
  await assertRunSequence(w, s, failing);
  const publicResults = w.hub.results.get(s.submissionId) as { number_of_files: number };
  const scoredOnLeaderboard = w.files.filter(
    (file) => file['include_on_leaderboard'] === true && file['data_sampling_frequency'] !== 5,
  ).length;
  assert.is(publicResults.number_of_files, scoredOnLeaderboard);
  const shown = await w.hub.frontEnd(s.submissionId);
  assert.is(
    shown.errorReport?.error_rate,
    failing.length / w.files.length,
    "the error rate counts the participant's files only",
  );
  assert.equal(shown.reports, [`${w.services.s3Endpoint}/${w.bucket}/${prefixOf(s)}results/private_results.html`]);
  const privateReport = await objectText(w, `${prefixOf(s)}results/private_results.html`);
  assert.match(
    privateReport,
    '"evalue": "a column this template reads is missing"',
    "marimo's report with the cell's error, as the Hub shows it",
  );
  assert.not.match(privateReport, 'class="note"', 'not the built-in report');
  await assertLogsUploaded(w, s);
  assert.is(await messagesLeft(w), 0);
});

test('a breaking failure (the task has no config.json): failed once, one error report with its code, logs uploaded', async () => {
  const w = await world();
  await storeTask(w, ['config.json']);
  const s = await submit(w, 'time-shift-correct.zip', 103);
  const run = await runWorker(w, ['--max-jobs', '1']);
  assert.is(run.status, 0, run.stderr.slice(-3000));
  assert.equal(w.hub.calls(), [
    'POST login',
    `PUT submissions/change_submission_status/${s.submissionId}`,
    `PUT submissions/change_submission_status/${s.submissionId}`,
    'POST error/error_report',
  ]);
  assert.equal(w.hub.statuses.get(s.submissionId), ['running', 'failed']);
  const [report] = bodyOf(w.hub.requests, 'POST', 'error/error_report') as Array<Record<string, unknown>>;
  assert.equal(Object.keys(report ?? {}).sort(), ['error_code', 'error_message', 'error_type', 'submission']);
  assert.is(report?.['submission'], s.submissionId);
  assert.is(report?.['error_code'], 'wr_6');
  assert.is(report?.['error_type'], 'WorkerException');
  assert.match(String(report?.['error_message']), 'config.json');
  const shown = (await w.hub.frontEnd(s.submissionId)).errorReport;
  assert.equal(
    [shown?.error_code, shown?.error_message],
    ['wr_6', 'Required evaluation files not found in s3 bucket'],
    'the front end shows the breaking code: no blank report before it',
  );
  assert.equal(await keysUnder(w, `${prefixOf(s)}results/`), [], 'no results for a failed job');
  await assertLogsUploaded(w, s);
  assert.is(await messagesLeft(w), 0, 'a failure that retrying cannot fix is deleted, not looped');
});

test('a transient failure before any file (the Hub answers 503 for the systems): released untold, the next try finishes, failed never set', async () => {
  const w = await world();
  await storeTask(w);
  const s = await submit(w, 'time-shift-correct.zip', 106);
  // Every retry of the client's own policy (5 tries) gets the 503: the job ends retryable, which a fresh try may fix.
  w.hub.fail('GET', 'system_metadata/systemmetadata/', 503, 5);
  const run = await runWorker(w, ['--max-jobs', '2']);
  assert.is(run.status, 0, run.stderr.slice(-3000));
  assert.match(run.stdout, 'message released');
  assert.equal(w.hub.statuses.get(s.submissionId), ['running', 'running', 'finished'], 'the Hub never reads failed');
  assert.equal(
    bodyOf(w.hub.requests, 'POST', 'error/error_report'),
    [],
    'no breaking report for a try that was given back',
  );
  const progress = bodyOf(w.hub.requests, 'POST', `submissions/submission/${s.submissionId}/progress_increment`);
  assert.is(progress.length, w.files.length, 'each file counted once');
  assert.ok(w.hub.results.has(s.submissionId));
  assert.is(await messagesLeft(w), 0, 'deleted once finished');
});

test('a transient failure after the files were reported (503 on the result): released, and the next try resumes from the ledger: no file run or counted twice', async () => {
  const w = await world();
  await storeTask(w);
  const s = await submit(w, 'time-shift-raises-some.zip', 108);
  w.hub.fail('PUT', `submissions/update_submission_result/${s.submissionId}`, 503, 5);
  const run = await runWorker(w, ['--max-jobs', '2']);
  assert.is(run.status, 0, run.stderr.slice(-3000));
  assert.match(run.stdout, 'message released');
  assert.match(run.stdout, 'files scored by an earlier attempt are not run again');
  assert.equal(w.hub.statuses.get(s.submissionId), ['running', 'running', 'finished'], 'the Hub never reads failed');
  assert.equal(
    bodyOf(w.hub.requests, 'POST', 'error/error_report'),
    [],
    'no breaking report for a try that was given back',
  );
  const progress = bodyOf(w.hub.requests, 'POST', `submissions/submission/${s.submissionId}/progress_increment`);
  assert.is(progress.length, w.files.length, 'each file counted once across both tries');
  const fileErrors = bodyOf(w.hub.requests, 'POST', `error/error_report/${s.submissionId}/update_non_breaking`);
  assert.is(
    new Set(fileErrors.map((body) => (body as { file_name: string }).file_name)).size,
    fileErrors.length,
    'each failed file reported once',
  );
  assert.is(bodyOf(w.hub.requests, 'POST', 'error/error_report/new').length, 1, 'one error report for the submission');
  const shown = await w.hub.frontEnd(s.submissionId);
  assert.is(shown.filesDone, w.files.length, 'the progress the Hub shows is the file count, not more');
  const ledger = await keysUnder(w, `${prefixOf(s)}ledger/files/`);
  assert.is(ledger.length, w.files.length, 'a ledger entry per file, beside the results');
  assert.is(await messagesLeft(w), 0, 'deleted once finished');
});

test('a refusal (the Hub answers 400 to the result): failed at once with wr_4 and the answer, never retried', async () => {
  const w = await world();
  await storeTask(w);
  const s = await submit(w, 'time-shift-correct.zip', 107);
  w.hub.fail(
    'PUT',
    `submissions/update_submission_result/${s.submissionId}`,
    400,
    1,
    '{"error":"mean_runtime is required"}',
  );
  const run = await runWorker(w, ['--max-jobs', '1']);
  assert.is(run.status, 0, run.stderr.slice(-3000));
  assert.equal(w.hub.statuses.get(s.submissionId), ['running', 'failed']);
  const [report] = bodyOf(w.hub.requests, 'POST', 'error/error_report') as Array<Record<string, unknown>>;
  assert.is(report?.['error_code'], 'wr_4');
  assert.match(String(report?.['error_message']), 'answered 400: {"error":"mean_runtime is required"}');
  assert.is(await messagesLeft(w), 0, 'a refusal that retrying cannot fix is deleted, not looped');
});

test('invalid messages: reported when the submission id can be read, deleted either way, nothing run', async () => {
  const w = await world();
  await sendRaw(w, JSON.stringify({ analysis_pk: ANALYSIS, submission_pk: 104, user_pk: 'u' }), 'a');
  await sendRaw(w, 'this is not JSON', 'b');
  const run = await runWorker(w, ['--max-jobs', '2']);
  assert.is(run.status, 0, run.stderr.slice(-3000));
  assert.equal(w.hub.calls(), [
    'POST login',
    'PUT submissions/change_submission_status/104',
    'POST error/error_report',
  ]);
  assert.equal(bodyOf(w.hub.requests, 'PUT', 'submissions/change_submission_status/104'), [{ status: 'failed' }]);
  const [report] = bodyOf(w.hub.requests, 'POST', 'error/error_report') as Array<Record<string, unknown>>;
  assert.is(report?.['submission'], 104);
  assert.is(report?.['error_code'], 'wr_500');
  assert.match(String(report?.['error_message']), 'submission_filename');
  assert.is(await messagesLeft(w), 0);
});

test('no queue: the worker stops at once with wr_1 and the queue name', async () => {
  const w = await world();
  const run = await runWorker(w, ['--max-jobs', '1'], { PVHUB_QUEUE_NAME: 'pvhub-no-such-queue.fifo' });
  assert.is(run.status, 1);
  assert.match(run.stderr, 'pvhub-worker: wr_1: no queue pvhub-no-such-queue.fifo');
  assert.equal(w.hub.calls(), []);
});

test('credentials the Hub refuses: the worker stops at start with wr_5, the message left in the queue', async () => {
  const w = await world();
  await storeTask(w);
  await submit(w, 'time-shift-correct.zip', 105);
  const run = await runWorker(w, ['--max-jobs', '1'], { worker_password: 'not-the-password' });
  assert.is(run.status, 1);
  assert.match(run.stderr, /pvhub-worker: wr_5: POST login answered 400/);
  assert.not.match(run.stderr, 'not-the-password', 'the password never reaches the output');
  assert.equal(w.hub.calls(), ['POST login']);
  assert.equal(await visibleMessages(w), { visible: 1, hidden: 0 }, 'no message was taken');
});

test("at start, a dead worker's containers and workspaces are removed, its job log uploaded as its attempt's; a live worker's, and an older version's young container, stay", async () => {
  const w = await world();
  const image = await baseImage(new DockerEngine(), 'python', '3.11');
  const live = await holdOwnerMark(w.work);
  // Never listened: its socket is missing from the work folder, as after a worker that was killed and swept.
  const dead = 'spec-2-dddddd';
  const owned = (owner: string, submissionId: number) => ({
    ...MANAGED_LABELS,
    'pvhub.submission': String(submissionId),
    ...ownerLabels(owner, w.work),
  });
  const made = [
    await createContainer(image, owned(dead, 999991)),
    await createContainer(image, owned(dead, 999992)),
    await createContainer(image, owned(live.id, 999993)),
    await createContainer(image, { ...MANAGED_LABELS, 'pvhub.submission': '999994' }),
  ];
  // What the dead worker left in the work folder: a workspace, and the log of the job it was running.
  const job = {
    analysisId: ANALYSIS,
    submissionId: 999991,
    userId: 'spec-user',
    submissionFilename: 'a.zip',
    pythonVersion: '3.11',
  };
  const startedAt = Date.UTC(2025, 0, 2, 3, 4, 5);
  const workspace = path.join(w.work, `${ownedWorkspacePrefix(job.submissionId, dead)}Ab12Cd`);
  const jobLog = createJobLogger('info', job, path.join(w.work, ownedLogFolder(job.submissionId, dead, startedAt)));
  jobLog.log.error({ code: 'wr_500' }, 'the last line before the kill');
  jobLog.close();
  writeJobRecord(jobLog.dir, { job, worker: dead, startedAt });
  await mkdir(path.join(workspace, 'runs'), { recursive: true });
  try {
    await sendRaw(w, 'not JSON', 'c');
    const run = await runWorker(w, ['--max-jobs', '1']);
    assert.is(run.status, 0, run.stderr.slice(-3000));
    assert.match(run.stdout, 'removed containers left by workers that died');
    assert.equal(await containersOwnedBy(dead), []);
    assert.not.ok(existsSync(workspace), 'its workspace is gone');
    assert.not.ok(existsSync(jobLog.dir), 'and its log folder, once uploaded');
    const logs = `submission_files/submission_user_spec-user/submission_${job.submissionId}/logs/`;
    const attempt = `attempts/20250102T030405Z-${dead}/`;
    assert.equal(
      await keysUnder(w, logs),
      ['submission.error.log', 'submission.log', 'submission.log.jsonl'].map((name) => `${attempt}${name}`),
    );
    assert.match(
      await objectText(w, `${logs}${attempt}submission.error.log`),
      'the last line before the kill [wr_500]',
    );
    assert.is((await containersOf(999993)).length, 1, "a live worker's container stays");
    assert.is(
      (await containersOf(999994)).length,
      1,
      "an older version's container stays while its worker may be alive",
    );
  } finally {
    live.release();
    await promisify(execFile)('docker', ['rm', '-f', ...made]);
  }
});

test('SIGTERM while waiting for a message: stops taking messages at once, exits 143', async () => {
  const w = await world();
  const child = startWorker(w, ['--max-jobs', '0'], { PVHUB_POLL_WAIT: '20' });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await until(() => stdout.includes('worker starting'), 30_000, 'the worker to start');
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const started = Date.now();
  child.kill('SIGTERM');
  assert.is(await exited, 143);
  assert.ok(Date.now() - started < 5000, 'the long poll is abandoned, not waited out');
  assert.match(stdout, 'worker stopped');
  assert.equal(w.hub.calls(), ['POST login'], 'only the sign-in at start: no job was taken');
});

test('SIGTERM during a job: its containers are removed, its message goes back to the queue, exit 143', async () => {
  const w = await world();
  await storeTask(w);
  const s = await submit(w, 'time-shift-sleeps.zip', 105);
  const child = startWorker(w, ['--max-jobs', '1'], { PVHUB_FILE_TIME_LIMIT: '600' });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    await until(
      async () => (await containersOf(s.submissionId)).length > 0,
      WORKER_TIME_LIMIT_MS,
      'a container of the job',
    );
    // Let a sleeping (5-minute data) file be among those running.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    child.kill('SIGTERM');
    assert.is(await exited, 143, stdout.slice(-3000));
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  assert.equal(await containersOf(s.submissionId), [], 'no container of the job is left');
  assert.equal(await visibleMessages(w), { visible: 1, hidden: 0 }, 'the message is back for another worker');
  assert.equal(w.hub.statuses.get(s.submissionId), ['running'], 'no final status: another worker will take the job');
  assert.match(stdout, 'message released for another worker');
});

test.run();
