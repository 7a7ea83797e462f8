import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Job } from '../../src/domain/job.js';
import { StorePublisher } from '../../src/sinks/store-publisher.js';
import { MemoryStore } from '../helpers/memory-store.js';

const JOB: Job = { analysisId: 1, submissionId: 12, userId: 'u-1', submissionFilename: 's.zip', pythonVersion: '3.11' };
const RESULTS_PREFIX = 'submission_files/submission_user_u-1/submission_12/results/';

let scratch = '';
test.before.each(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-store-publisher-'));
});
test.after.each(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** A results folder as the job's finish writes it (the built-in report beside the tables), and the private report. */
async function resultsFolder(): Promise<{ dir: string; report: string }> {
  const dir = path.join(scratch, 'results');
  await mkdir(path.join(dir, 'files'), { recursive: true });
  const files: Record<string, string> = {
    'report.html': '<html>built in</html>',
    'ts-public-metrics.json': '{}',
    'submission_full_results.csv': ',file_name\n',
    'files/a.csv': 'x\n',
  };
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  const report = path.join(scratch, 'report', 'private_results.html');
  await mkdir(path.dirname(report));
  await writeFile(report, '<html>the task template</html>');
  return { dir, report };
}

test('the Hub gets one report under results/, the private one: the front end opens the first .html it finds', async () => {
  const store = new MemoryStore();
  const publisher = new StorePublisher(store);
  const { dir, report } = await resultsFolder();
  await publisher.publishResults(JOB, dir);
  const keys = async () => (await store.list(RESULTS_PREFIX)).map((key) => key.slice(RESULTS_PREFIX.length));
  assert.equal(await keys(), ['files/a.csv', 'submission_full_results.csv', 'ts-public-metrics.json']);
  await publisher.publishReport(JOB, report);
  assert.equal(
    (await keys()).filter((key) => key.endsWith('.html')),
    ['private_results.html'],
  );
  assert.equal(store.objects.get(`${RESULTS_PREFIX}private_results.html`), {
    contentType: 'text/html',
    text: '<html>the task template</html>',
  });
});

test.run();
