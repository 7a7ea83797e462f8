import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HUB_PASSWORD, HUB_USERNAME, type HubServer, startHubServer } from './hub-server.js';

/** The test Hub server does with each call what the real API does (contract §11), so no regression can pass it. */

const SID = 31;
const RESULTS = `submission_files/submission_user_u-9/submission_${SID}/results/`;

let hub: HubServer;
let keys: string[] = [];
test.before.each(async () => {
  keys = [];
  hub = await startHubServer({
    fileMetadata: [1, 2, 3, 4].map((id) => ({ file_id: id, file_name: `${id}.csv` })),
    resultsBucket: {
      list: async (prefix) => keys.filter((key) => key.startsWith(prefix)),
      url: (key) => `https://cdn.example/${key}`,
    },
  });
  hub.addSubmission(SID, 'u-9');
});
test.after.each(() => hub.close());

const login = async () => {
  const answer = await fetch(`${hub.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: HUB_USERNAME, password: HUB_PASSWORD }),
  });
  return ((await answer.json()) as { token: string }).token;
};

async function call(method: string, route: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const token = await login();
  const answer = await fetch(`${hub.url}/${route}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Token ${token}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await answer.text();
  return {
    status: answer.status,
    body: answer.headers.get('content-type') === 'application/json' && text !== '' ? JSON.parse(text) : text,
  };
}

test("login: every worker gets the user's one token (get_or_create), so one's login never signs another out", async () => {
  const first = await login();
  assert.is(await login(), first);
  const answer = await fetch(`${hub.url}/versions/python/`, { headers: { authorization: `Token ${first}` } });
  assert.is(answer.status, 200);
  hub.expireToken();
  const renewed = await login();
  assert.is.not(renewed, first);
  assert.is(await login(), renewed);
});

test('progress_increment: float(file_exec_time), so null or a missing field is a 500 and is not counted', async () => {
  assert.is(
    (await call('POST', `submissions/submission/${SID}/progress_increment`, { file_exec_time: null })).status,
    500,
  );
  assert.is((await call('POST', `submissions/submission/${SID}/progress_increment`, {})).status, 500);
  assert.is(
    (await call('POST', `submissions/submission/${SID}/progress_increment`, { file_exec_time: 1.5 })).status,
    200,
  );
  assert.is((await hub.frontEnd(SID)).filesDone, 1);
});

test("a breaking report is a new row with the code's text; file errors go to the first row; the front end shows the first", async () => {
  const blank = {
    submission: SID,
    error_code: '',
    error_type: '',
    error_message: '',
    error_rate: 0,
    file_errors: { errors: [] },
  };
  assert.is((await call('POST', 'error/error_report/new', blank)).status, 201);
  await call('POST', 'error/error_report', {
    submission: SID,
    error_code: 'op_2',
    error_type: 'RunnerException',
    error_message: 'pip said no',
  });
  const fileError = {
    error_code: 'sb_500',
    error_type: 'SubmissionException',
    error_message: 'ValueError',
    file_name: '2.csv',
  };
  assert.is((await call('POST', `error/error_report/${SID}/update_non_breaking`, fileError)).status, 200);
  const rows = hub.errorReports.get(SID) ?? [];
  assert.equal(
    rows.map((row) => [row.error_code, row.error_message, row.file_errors.errors.length]),
    [
      ['', '', 1],
      ['op_2', 'Error installing Python submission dependencies', 0],
    ],
  );
  assert.is(rows[0]?.error_rate, 0.25, 'error_rate = file errors ÷ total files');
  assert.is((await hub.frontEnd(SID)).errorReport?.error_code, '', 'the blank first row hides the breaking code');
});

test('submission_results lists every .html key under results/ in listing order; the page opens the first', async () => {
  assert.is((await call('GET', `submissions/submission_results/${SID}`)).status, 404, 'no results yet');
  keys = [
    `${RESULTS}files/a.csv`,
    `${RESULTS}private_results.html`,
    `${RESULTS}report.html`,
    `submission_files/submission_user_u-9/submission_32/results/x.html`,
  ];
  const listed = await call('GET', `submissions/submission_results/${SID}`);
  assert.equal(listed, {
    status: 200,
    body: {
      marimo_url: [`https://cdn.example/${RESULTS}private_results.html`, `https://cdn.example/${RESULTS}report.html`],
    },
  });
  assert.is((await hub.frontEnd(SID)).privateReport, `https://cdn.example/${RESULTS}private_results.html`);
  assert.is(
    (await call('GET', 'submissions/submission_results/999')).status,
    406,
    'a submission the API does not know',
  );
});

test.run();
