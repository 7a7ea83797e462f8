import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, python, ROOT, run } from '../helpers/cli.js';

const TASK = path.join(ROOT, 'examples/tasks/time-shift-detection');
const SUBMISSIONS = path.join(ROOT, 'examples/submissions');
/** Small limits so the suite stays fast on 2 cores: 1 GiB containers, 60 s per file. */
const ENV = { PVHUB_CONTAINER_MEMORY: '1g', PVHUB_FILE_TIME_LIMIT: '60', PVHUB_MAX_PARALLEL: '2' };

let scratch = '';

test.before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-evaluate-'));
});

test.after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/**
 * The public metrics recomputed from the run's own per-file outputs and the references with pandas, by the
 * contract's rules (positional alignment, mean |o − r| per file, mean/median over leaderboard files), without any
 * of the worker's code.
 */
const INDEPENDENT = `
import json, sys, pandas as pd
task, out = sys.argv[1], sys.argv[2]
meta = pd.read_csv(f"{task}/file_metadata.csv")
config = json.load(open(f"{task}/config.json"))
rows = []
for name in meta["file_name"]:
    try:
        o = pd.read_csv(f"{out}/files/{name}", index_col=0).squeeze("columns")
    except FileNotFoundError:
        continue
    r = pd.read_csv(f"{task}/validation_data/{name}", index_col=0).squeeze("columns")
    o.index = r.index
    rows.append({"file_name": name, "mae": float((o - r).abs().mean())})
df = pd.DataFrame(rows).merge(meta, on="file_name")
pub = df[df["include_on_leaderboard"]]
print(json.dumps({"n": int(len(pub)), "mean": float(pub["mae"].mean()), "median": float(pub["mae"].median())}))
`;

test('the correct example submission is scored, and the metrics match an independent computation', async () => {
  const out = path.join(scratch, 'correct');
  const result = await cli(
    ['evaluate', '--task', TASK, '--submission', path.join(SUBMISSIONS, 'time-shift-correct.zip'), '--out', out],
    ENV,
  );
  assert.is(result.status, 0, result.stderr);
  assert.match(result.stdout, 'mean_mean_absolute_error_time_series');
  assert.match(result.stdout, `${out}/report.html`);
  const publicResults = JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8'));
  assert.equal(Object.keys(publicResults).sort(), [
    'data_requirements',
    'function_parameters',
    'mean_runtime',
    'median_runtime',
    'metrics',
    'module',
    'number_of_files',
  ]);
  assert.is(publicResults.module, 'submission');
  assert.equal(publicResults.data_requirements, ['time_series', 'latitude', 'longitude', 'data_sampling_frequency']);
  const expected = JSON.parse(await python(INDEPENDENT, [TASK, out]));
  assert.is(publicResults.number_of_files, expected.n);
  assert.ok(Math.abs(publicResults.metrics.mean_mean_absolute_error_time_series - expected.mean) < 1e-9);
  assert.ok(Math.abs(publicResults.metrics.median_mean_absolute_error_time_series - expected.median) < 1e-9);
  assert.ok(publicResults.mean_runtime > 0);
  const report = await readFile(path.join(out, 'report.html'), 'utf8');
  assert.match(report, '<html');
  assert.match(report, '<svg', 'the built-in report has a chart');
  assert.not.match(report, /<script[^>]+src=|<link[^>]+href="http/, 'and loads nothing from elsewhere');
  const privateReport = await readFile(path.join(out, 'private_results.html'), 'utf8');
  assert.match(
    privateReport,
    'scored files; metrics in hours',
    "the task's template rendered with marimo (a line only it writes)",
  );
  assert.not.match(privateReport, 'class="note"', 'not the built-in report in its place');
  assert.ok(existsSync(path.join(out, 'submission_full_results.csv')));
  assert.ok(existsSync(path.join(out, '.pvhub-worker-output')), 'marked as an output, so the next run may replace it');
  assert.ok(existsSync(path.join(out, 'logs', 'submission.log.jsonl')));
  const metadataRows = (await readFile(path.join(TASK, 'file_metadata.csv'), 'utf8')).trim().split('\n').length - 1;
  assert.is((await readdir(path.join(out, 'files'))).length, metadataRows);
});

test('a submission that raises on some files finishes, with those files listed as failed', async () => {
  const out = path.join(scratch, 'raises');
  const result = await cli(
    ['evaluate', '--task', TASK, '--submission', path.join(SUBMISSIONS, 'time-shift-raises-some.zip'), '--out', out],
    { ...ENV, PVHUB_EARLY_ABORT_FILES: '0' },
  );
  assert.is(result.status, 0, result.stderr);
  assert.match(result.stdout, 'Failed files:');
  assert.match(result.stdout, 'sb_500: ValueError');
  const publicResults = JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8'));
  assert.ok(publicResults.number_of_files > 0);
});

/** The scalar task's metrics from the run's outputs and the system metadata, with pandas (contract §7, main branch). */
const INDEPENDENT_SCALAR = `
import json, sys, pandas as pd
task, out = sys.argv[1], sys.argv[2]
meta = pd.read_csv(f"{task}/file_metadata.csv").merge(pd.read_csv(f"{task}/system_metadata.csv"), on="system_id")
rows = []
for _, m in meta.iterrows():
    o = pd.read_csv(f"{out}/files/{m['file_name']}", index_col=0).iloc[0]
    rows.append({"lb": bool(m["include_on_leaderboard"]), "ae_az": abs(float(o.iloc[0]) - m["azimuth"]), "e_tilt": float(o.iloc[1]) - m["tilt"]})
df = pd.DataFrame(rows)
pub = df[df["lb"]]
print(json.dumps({"n": int(len(pub)), "mean_ae_az": float(pub["ae_az"].mean()), "median_e_tilt": float(pub["e_tilt"].median())}))
`;

test('the scalar example task is scored against the system metadata, as an independent computation says', async () => {
  const task = path.join(ROOT, 'examples/tasks/az-tilt-estimation');
  const out = path.join(scratch, 'az-tilt');
  const result = await cli(
    ['evaluate', '--task', task, '--submission', path.join(SUBMISSIONS, 'az-tilt-correct.zip'), '--out', out],
    ENV,
  );
  assert.is(result.status, 0, result.stderr);
  const publicResults = JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8'));
  const expected = JSON.parse(await python(INDEPENDENT_SCALAR, [task, out]));
  assert.is(publicResults.number_of_files, expected.n);
  assert.ok(Math.abs(publicResults.metrics.mean_absolute_error_azimuth - expected.mean_ae_az) < 1e-9);
  assert.ok(Math.abs(publicResults.metrics.median_error_tilt - expected.median_e_tilt) < 1e-9);
});

test('the wrong submission finishes with poor metrics', async () => {
  const out = path.join(scratch, 'wrong');
  const result = await cli(
    ['evaluate', '--task', TASK, '--submission', path.join(SUBMISSIONS, 'time-shift-wrong.zip'), '--out', out],
    ENV,
  );
  assert.is(result.status, 0, result.stderr);
  const publicResults = JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8'));
  assert.ok(publicResults.metrics.mean_mean_absolute_error_time_series > 1, 'an error of over an hour on average');
});

test('a submission that sleeps past the file time limit loses those files (sb_1), the rest are scored', async () => {
  const out = path.join(scratch, 'sleeps');
  const result = await cli(
    ['evaluate', '--task', TASK, '--submission', path.join(SUBMISSIONS, 'time-shift-sleeps.zip'), '--out', out],
    { ...ENV, PVHUB_FILE_TIME_LIMIT: '5', PVHUB_EARLY_ABORT_FILES: '0' },
  );
  assert.is(result.status, 0, result.stderr);
  assert.match(result.stdout, 'sb_1: exceeded the time limit of 5 s');
  const publicResults = JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8'));
  assert.ok(publicResults.number_of_files > 0);
});

async function brokenTask(change: (dir: string) => Promise<void>): Promise<string> {
  const dir = await mkdtemp(path.join(scratch, 'task-'));
  await cp(TASK, dir, { recursive: true });
  await change(dir);
  return dir;
}

async function expectFailure(args: string[], code: string, fragment: string) {
  const out = path.join(scratch, `fail-${code}-${Date.now()}`);
  const result = await cli(['evaluate', ...args, '--out', out], ENV);
  assert.is(result.status, 1, result.stderr);
  const line = result.stderr.trim().split('\n').pop() ?? '';
  assert.match(line, `pvhub-worker: ${code}: `);
  assert.match(line, fragment);
  assert.not.match(result.stderr, /\n\s+at /, 'no stack trace');
  assert.not.ok(existsSync(out), 'no half-written output');
  const log = /^log: (\S+)$/m.exec(result.stderr)?.[1];
  assert.ok(log !== undefined && existsSync(log), `the job's log is kept and named: ${result.stderr}`);
  assert.match(await readFile(log, 'utf8'), code, 'the log says why');
}

const correctZip = path.join(SUBMISSIONS, 'time-shift-correct.zip');

test('bad input: one clear line with the code, non-zero exit, no output folder', async () => {
  await expectFailure(
    ['--task', await brokenTask((dir) => rm(path.join(dir, 'config.json'))), '--submission', correctZip],
    'wr_6',
    'config.json',
  );
  await expectFailure(
    [
      '--task',
      await brokenTask((dir) => writeFile(path.join(dir, 'config.json'), '{"function_name": ')),
      '--submission',
      correctZip,
    ],
    'wr_6',
    'not valid JSON',
  );
  await expectFailure(
    [
      '--task',
      await brokenTask((dir) => writeFile(path.join(dir, 'file_test_link.csv'), 'test_id,file_id\n0,abc\n')),
      '--submission',
      correctZip,
    ],
    'wr_6',
    'file_test_link.csv line 2',
  );
  const first = (await readdir(path.join(TASK, 'data'))).sort()[0] ?? '';
  await expectFailure(
    ['--task', await brokenTask((dir) => rm(path.join(dir, 'data', first))), '--submission', correctZip],
    'wr_10',
    first,
  );
  const noModule = path.join(scratch, 'no-module');
  await cp(path.join(SUBMISSIONS, 'time-shift-correct'), noModule, { recursive: true });
  await rm(path.join(noModule, 'submission_wrapper.py'));
  await expectFailure(['--task', TASK, '--submission', noModule], 'op_1', 'no submission_wrapper.py');
  const notZip = path.join(scratch, 'not-a.zip');
  await writeFile(notZip, 'this is not a zip');
  await expectFailure(['--task', TASK, '--submission', notZip], 'op_1', 'not a readable zip');
});

test('--out naming a folder of other files is refused before any work, and the folder is left as it was', async () => {
  const mine = path.join(scratch, 'my-files');
  await mkdir(mine);
  await writeFile(path.join(mine, 'thesis.tex'), 'years of work');
  const result = await cli(['evaluate', '--task', TASK, '--submission', correctZip, '--out', mine], ENV);
  assert.is(result.status, 2);
  assert.match(result.stderr, `pvhub-worker: --out ${mine} already holds other files`);
  assert.equal(await readdir(mine), ['thesis.tex']);
  assert.is(await readFile(path.join(mine, 'thesis.tex'), 'utf8'), 'years of work');
});

test('Ctrl-C during the runs: exit 130, every container of the run removed, no output written', async () => {
  const out = path.join(scratch, 'interrupted');
  const child = spawn(
    'node',
    [
      path.join(ROOT, 'bin/pvhub-worker.js'),
      'evaluate',
      '--task',
      TASK,
      '--submission',
      path.join(SUBMISSIONS, 'time-shift-sleeps.zip'),
      '--out',
      out,
    ],
    {
      cwd: ROOT,
      env: { ...process.env, ...ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const containers = async () =>
    (
      await run('docker', [
        'ps',
        '-aq',
        '--filter',
        'label=pvhub.managed=true',
        '--filter',
        `label=pvhub.submission=${child.pid}`,
      ])
    ).stdout.trim();
  const deadline = Date.now() + 180_000;
  while ((await containers()) === '') {
    assert.ok(Date.now() < deadline, `no container started: ${stderr.slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  child.kill('SIGINT');
  assert.is(await exited, 130, stderr.slice(-2000));
  assert.match(stderr, 'SIGINT: stopping');
  assert.is(await containers(), '', 'no container of the run is left');
  assert.not.ok(existsSync(out), 'no output');
  const work = path.join(os.tmpdir(), 'pvhub-worker');
  const workspaces = existsSync(work)
    ? (await readdir(work)).filter((name) => name.startsWith(`submission-${child.pid}-`))
    : [];
  assert.equal(workspaces, [], 'no workspace of the run is left');
});

test('an unknown python version is a wr_500 before any work', async () => {
  const result = await cli(
    ['evaluate', '--task', TASK, '--submission', correctZip, '--out', path.join(scratch, 'py'), '--python', '3.7'],
    ENV,
  );
  assert.is(result.status, 1);
  assert.match(result.stderr, 'wr_500: python 3.7 cannot be provided');
});

test('a requirement that cannot be satisfied is op_2 naming the package', async () => {
  await expectFailure(
    ['--task', TASK, '--submission', path.join(SUBMISSIONS, 'time-shift-bad-requirement.zip')],
    'op_2',
    'pvhub-no-such-package-for-tests',
  );
});

test.run();
