import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderedDom, serveFolder } from '../helpers/browser.js';
import { cli, ROOT } from '../helpers/cli.js';

const TASK = path.join(ROOT, 'examples/tasks/time-shift-detection');
const SUBMISSION = path.join(ROOT, 'examples/submissions/time-shift-correct.zip');
/** Small limits so the suite stays fast on 2 cores: 1 GiB containers, 60 s per file. */
const ENV = { PVHUB_CONTAINER_MEMORY: '1g', PVHUB_FILE_TIME_LIMIT: '60', PVHUB_MAX_PARALLEL: '2' };

let scratch = '';
let out = '';
/** The heading the task's template writes first: its TITLE, then ": private results". */
let heading = '';

test.before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-offline-'));
  out = path.join(scratch, 'out');
  const result = await cli(['evaluate', '--task', TASK, '--submission', SUBMISSION, '--out', out], ENV);
  assert.is(result.status, 0, result.stderr);
  const title = /^\s*TITLE = "([^"]+)"/m.exec(await readFile(path.join(TASK, 'template.py'), 'utf8'))?.[1];
  assert.ok(title, "the template's title");
  heading = `${title}: private results`;
});

test.after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const headingIn = (dom: string) =>
  new RegExp(`<h1[^>]*>${heading.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}</h1>`).test(dom);

test("the local marimo report shows the template's title in Chromium with no network, its page beside it", async () => {
  const served = await serveFolder(out);
  try {
    const dom = await renderedDom(`${served.url}/private_results.html`);
    assert.ok(headingIn(dom), `the rendered page has <h1>${heading}</h1>`);
  } finally {
    await served.stop();
  }
  const html = await readFile(path.join(out, 'private_results.html'), 'utf8');
  assert.not.ok(
    headingIn(html),
    "the heading is not in the file as such: only marimo's scripts write it into the page",
  );
  assert.not.match(html, 'cdn.jsdelivr.net', 'nothing from the CDN');
  assert.match(html, 'src="private_results_assets/assets/index-');
});

test('opened as a file, where browsers run no module script, the page says how to serve it instead of staying blank', async () => {
  const dom = await renderedDom(`file://${path.join(out, 'private_results.html')}`);
  assert.match(
    dom,
    /<p id="pvhub-serve-note" style="[^"]*">This report runs marimo's scripts from private_results_assets\//,
  );
  assert.ok(existsSync(path.join(out, 'report.html')), 'the built-in report is there too, self-contained');
});

test.run();
