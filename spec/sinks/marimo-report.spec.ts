import { existsSync } from 'node:fs';
import { inMemoryFileList } from '../../src/domain/file-list.js';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { lastValueFrom } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DockerEngine } from '../../src/adapters/docker-engine.js';
import { loadConfig } from '../../src/config.js';
import type { ResultsTable } from '../../src/domain/aggregate.js';
import type { FileScore, FileTask } from '../../src/domain/file-run.js';
import type { FileMetadata } from '../../src/domain/metadata.js';
import { addScore, emptyTally } from '../../src/domain/tally.js';
import { parseTaskConfig } from '../../src/domain/task-config.js';
import type { BuiltWorkspace } from '../../src/domain/workspace.js';
import type { ContainerEngine } from '../../src/ports/container-engine.js';
import { DockerImageBuilder } from '../../src/adapters/images/docker-image-builder.js';
import { finishJob } from '../../src/operators/finish-job.js';
import { JobReport } from '../../src/operators/job-report.js';
import {
  argumentProblem,
  type MarimoOptions,
  marimoArguments,
  renderMarimoReport,
} from '../../src/sinks/marimo-report.js';
import { HOST_PYTHON } from '../helpers/cli.js';
import { MemoryLedger } from '../../src/adapters/memory-ledger.js';
import { RecordingHub } from '../../src/adapters/simulated/hub.js';
import { LedgerSession } from '../../src/sinks/ledger-session.js';
import { MemoryPublisher } from '../../src/adapters/simulated/publisher.js';
import { withoutEgress, withoutImageCache, withoutSharedHolders } from '../helpers/without-egress.js';

/**
 * A template in the Hub's style: rows from `--results_df` arguments rebuilt with json.loads. It also prints what it
 * can see of its sandbox, so the spec can check the environment and the network: it tries to reach a public DNS
 * server and prints how that went.
 */
const TEMPLATE = `import marimo

app = marimo.App()


@app.cell
def _():
    import json
    import os
    import socket
    import marimo as mo
    import pandas as pd
    return json, mo, os, pd, socket


@app.cell
def _(json, mo, os, pd, socket):
    data = mo.cli_args().to_dict()["results_df"]
    rows = [json.loads(row) for row in (data if isinstance(data, list) else [data])]
    df = pd.DataFrame.from_records(rows)
    interfaces = ",".join(sorted(name for _, name in socket.if_nameindex()))
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=5).close()
        network = "reached"
    except OSError as error:
        network = f"unreachable:{type(error).__name__}"
    facts = f"TOTAL={df['mae'].sum() * 1000:.3f} NAN={int(df['issue'].isna().sum())} ROWS={len(df)} AWS={'AWS_SECRET_ACCESS_KEY' in os.environ} IFACES={interfaces} NETWORK={network} UID={os.getuid()}"
    mo.md(facts + df.to_html())
    return (df,)


if __name__ == "__main__":
    app.run()
`;

const BROKEN = `import marimo

app = marimo.App()


@app.cell
def _():
    raise ValueError("the template is broken")
    return


if __name__ == "__main__":
    app.run()
`;

const SLOW = BROKEN.replace('raise ValueError("the template is broken")', 'import time\n    time.sleep(120)');

const TABLE: ResultsTable = {
  columns: ['file_name', 'mae', 'issue', 'data_requirements', 'include_on_leaderboard'],
  rows: [
    ['first-file.csv', 1.25, 'none', ['time_series', 'latitude'], true],
    ['second-file.csv', 2.5, null, ['time_series', 'latitude'], false],
  ],
  floatColumns: new Set(['mae']),
};

const log = pino({ level: 'silent' });
const engine = new DockerEngine();
/** Not pvhub.managed: a worker started meanwhile (another spec) removes every container so labelled. */
const LABELS = { 'pvhub.spec': 'marimo-report' };
const { limits } = loadConfig({ PVHUB_CONTAINER_MEMORY: '2g' });
const images = new DockerImageBuilder({ engine, limits, hostPython: HOST_PYTHON, baseImageRepository: 'python' });
let scratch = '';

/** What finishJob passes, in this spec's scratch folder; the first render builds the report image when it is missing. */
function options(extra: Partial<MarimoOptions> = {}): MarimoOptions {
  return {
    engine,
    limits,
    labels: LABELS,
    images,
    workDir: scratch,
    timeLimitMs: 300_000,
    log,
    signal: new AbortController().signal,
    ...extra,
  };
}

test.before.each(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-marimo-'));
});

test.after.each(async () => {
  await rm(scratch, { recursive: true, force: true });
  assert.is(await engine.removeContainers(LABELS), 0, 'no report container is left');
});

async function template(text: string): Promise<string> {
  const file = path.join(scratch, 'template.py');
  await writeFile(file, text);
  return file;
}

async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as Error).message;
  }
  return assert.unreachable('rendered') as never;
}

test('one --results_df argument per row, written as json.dumps writes it, NaN for missing values', () => {
  assert.equal(marimoArguments(TABLE), [
    '--results_df={"file_name": "first-file.csv", "mae": 1.25, "issue": "none", "data_requirements": ["time_series", "latitude"], "include_on_leaderboard": true}',
    '--results_df={"file_name": "second-file.csv", "mae": 2.5, "issue": NaN, "data_requirements": ["time_series", "latitude"], "include_on_leaderboard": false}',
  ]);
});

test("the runtime goes under both names the Hub's published templates read, runtime and run_time", () => {
  const withRuntime: ResultsTable = {
    ...TABLE,
    columns: ['file_name', 'runtime'],
    floatColumns: new Set(['runtime']),
    rows: [['a.csv', 2]],
  };
  assert.equal(marimoArguments(withRuntime), ['--results_df={"file_name": "a.csv", "runtime": 2.0, "run_time": 2.0}']);
  const asRunTime: ResultsTable = {
    ...TABLE,
    columns: ['file_name', 'run_time'],
    floatColumns: new Set(['run_time']),
    rows: [['a.csv', 2]],
  };
  assert.equal(marimoArguments(asRunTime), ['--results_df={"file_name": "a.csv", "run_time": 2.0, "runtime": 2.0}']);
  const both: ResultsTable = {
    ...TABLE,
    columns: ['runtime', 'run_time'],
    floatColumns: new Set(['runtime', 'run_time']),
    rows: [[2, 3]],
  };
  assert.equal(marimoArguments(both), ['--results_df={"runtime": 2.0, "run_time": 3.0}']);
});

test('rows that do not fit on a command line are refused before marimo starts', async () => {
  assert.is(argumentProblem(marimoArguments(TABLE)), undefined);
  assert.match(
    argumentProblem([`--results_df=${'x'.repeat(200_000)}`]) ?? '',
    'over the 131071-byte limit of one command-line argument',
  );
  const many = Array.from({ length: 20_000 }, () => `--results_df=${'x'.repeat(100)}`);
  assert.match(argumentProblem(many) ?? '', 'the 20000 results rows take');
  const huge: ResultsTable = { ...TABLE, rows: Array.from({ length: 20_000 }, () => TABLE.rows[0] ?? []) };
  const out = path.join(scratch, 'huge.html');
  assert.match(
    await rejection(renderMarimoReport(await template(TEMPLATE), huge, out, options())),
    'results rows take',
  );
  assert.not.ok(existsSync(out));
});

test('a report image that cannot be built is a clear reason', async () => {
  const broken: ContainerEngine = {
    imageExists: async (tag) => tag.startsWith('python:'),
    buildImage: async () => {
      throw new Error('the engine refused the build');
    },
    pullImage: async () => assert.unreachable('the base image exists') as never,
    runContainer: async () => assert.unreachable('no image, no container') as never,
    removeContainers: async () => 0,
    ...withoutEgress,
    ...withoutSharedHolders,
    ...withoutImageCache,
  };
  const out = path.join(scratch, 'x.html');
  const message = await rejection(
    renderMarimoReport(
      await template(TEMPLATE),
      TABLE,
      out,
      options({
        engine: broken,
        images: new DockerImageBuilder({
          engine: broken,
          limits,
          hostPython: HOST_PYTHON,
          baseImageRepository: 'python',
        }),
      }),
    ),
  );
  assert.is(message, 'the report image cannot be built: the engine refused the build');
  assert.not.ok(existsSync(out));
});

test('the template renders a real HTML report from the rows, unprivileged, with no credentials and no network', async () => {
  process.env['AWS_SECRET_ACCESS_KEY'] = 'must-not-leak';
  try {
    const out = path.join(scratch, 'report.html');
    await renderMarimoReport(await template(TEMPLATE), TABLE, out, options());
    const html = await readFile(out, 'utf8');
    assert.match(html, '<html');
    assert.match(html, 'TOTAL=3750.000', 'computed from the rows');
    assert.match(html, 'NAN=1', 'NaN arrives as NaN');
    assert.match(html, 'ROWS=2');
    assert.match(html, 'second-file.csv');
    assert.match(html, 'AWS=False');
    assert.match(html, 'UID=10001');
    assert.match(html, 'IFACES=lo ', 'only loopback');
    assert.match(html, /NETWORK=unreachable:\w+/, 'the template could not reach 1.1.1.1:53');
  } finally {
    delete process.env['AWS_SECRET_ACCESS_KEY'];
  }
});

/** A template in the style the Hub publishes: seaborn histograms of `run_time`, a groupby table, mo.md text. */
const HUB_STYLE = `import marimo

app = marimo.App()


@app.cell
def __():
    import json
    import marimo as mo
    import pandas as pd
    import matplotlib.pyplot as plt
    import seaborn as sns
    return json, mo, pd, plt, sns


@app.cell
def __(json, mo, pd):
    rows = [json.loads(row) for row in mo.cli_args().to_dict().get("results_df")]
    results_df = pd.DataFrame.from_records(rows)
    return (results_df,)


@app.cell
def __(mo, results_df):
    mo.md(f"Median run time: {round(results_df.run_time.median(), 2)} seconds")
    return


@app.cell
def __(results_df, sns):
    fig = sns.histplot(results_df, x="run_time", bins=40)
    fig.set(xlabel="Run Time (seconds)", ylabel="Number Instances")
    fig
    return


@app.cell
def __(pd, results_df):
    pd.DataFrame(results_df.groupby("issue")["mae"].mean().reset_index())
    return


if __name__ == "__main__":
    app.run()
`;

test("a template in the Hub's published style (seaborn, run_time) renders in the report image", async () => {
  const table: ResultsTable = {
    columns: ['file_name', 'runtime', 'mae', 'issue'],
    rows: [
      ['a.csv', 1.5, 0.25, 'none'],
      ['b.csv', 2.5, 0.75, 'shift'],
      ['c.csv', 3.5, 0.5, 'none'],
    ],
    floatColumns: new Set(['runtime', 'mae']),
  };
  const out = path.join(scratch, 'hub-style.html');
  await renderMarimoReport(await template(HUB_STYLE), table, out, options());
  const html = await readFile(out, 'utf8');
  assert.match(html, 'Median run time: 2.5 seconds');
  assert.match(html, 'shift');
});

test("a template whose cell raises: marimo exits 1 but exported the report, with the cell's error in it; it is kept", async () => {
  const out = path.join(scratch, 'report.html');
  assert.equal(await renderMarimoReport(await template(BROKEN), TABLE, out, options()), { cellsFailed: true });
  const html = await readFile(out, 'utf8');
  assert.match(html, '<html');
  assert.match(html, '"evalue": "the template is broken"', "marimo's report shows the error, as the Hub shows it");
});

test('a template that does not finish in time is stopped, its container removed', async () => {
  const started = Date.now();
  const message = await rejection(
    renderMarimoReport(await template(SLOW), TABLE, path.join(scratch, 'slow.html'), options({ timeLimitMs: 4000 })),
  );
  assert.is(message, 'marimo did not finish within 4 s');
  assert.ok(Date.now() - started < 15_000);
});

test('a cancelled render stops at once with the abort, its container removed', async () => {
  const abort = new AbortController();
  setTimeout(() => abort.abort(new Error('the job was cancelled')), 3000);
  const started = Date.now();
  const message = await rejection(
    renderMarimoReport(await template(SLOW), TABLE, path.join(scratch, 'slow.html'), options({ signal: abort.signal })),
  );
  assert.is(message, 'the job was cancelled');
  assert.ok(Date.now() - started < 15_000);
});

const META: FileMetadata = { file_id: 1, system_id: 1, file_name: 'a.csv', include_on_leaderboard: true };
const TASK: FileTask = { index: 0, metadata: META, kwargs: [] };
const SCORE: FileScore = {
  kind: 'scored',
  run: {
    kind: 'ran',
    task: TASK,
    executionTime: 1,
    outputPath: '/x',
    functionParameters: ['time_series'],
    wallTimeMs: 1,
  },
  row: {
    file_name: 'a.csv',
    data_requirements: ['time_series'],
    values: { runtime: 1, mean_absolute_error_time_series: 1.25 },
  },
};

async function finishWith(templateText: string) {
  const config = parseTaskConfig({
    function_name: 'f',
    comparison_type: 'time_series',
    performance_metrics: ['runtime', 'mean_absolute_error'],
    metrics_operations: { runtime: ['mean'], mean_absolute_error_time_series: ['mean'] },
    references_compare: ['time_series'],
    public_results_table: 'public.json',
    private_results_columns: ['file_name', 'mean_absolute_error_time_series'],
  });
  const ws: BuiltWorkspace = {
    job: { analysisId: 1, submissionId: 2, userId: 'u', submissionFilename: 's.zip', pythonVersion: '3.11' },
    dir: scratch,
    log,
    config,
    files: inMemoryFileList([TASK]),
    systems: new Map(),
    templatePath: await template(templateText),
    submissionDir: scratch,
    image: 'img',
  };
  const hub = new RecordingHub();
  const publisher = new MemoryPublisher();
  const report = new JobReport({ engine, images, limits, labels: LABELS, freeMemory: () => 0, jobTimeLimitMs: 60_000 });
  const event = await lastValueFrom(
    finishJob(
      ws,
      addScore(emptyTally(1), SCORE),
      { hub, publisher, ledger: LedgerSession.fresh(new MemoryLedger(), ws.job) },
      report,
    ),
  );
  if (event.type !== 'finished') return assert.unreachable('not finished') as never;
  return {
    event,
    fileErrors: hub.fileErrors,
    report: await readFile(path.join(scratch, 'report', 'private_results.html'), 'utf8'),
  };
}

test('a finished job uses the task template for its report when it renders', async () => {
  const { event, fileErrors, report } = await finishWith(
    TEMPLATE.replace("df['mae']", "df['mean_absolute_error_time_series']").replace(
      "int(df['issue'].isna().sum())",
      '0',
    ),
  );
  assert.is(event.reportWarning, undefined);
  assert.is(event.reportFromTemplate, true);
  assert.match(report, 'TOTAL=1250.000');
  assert.equal(fileErrors, [], 'the Hub is told nothing');
});

test("a template whose cells fail keeps marimo's report, with a one-line warning; the Hub is told nothing, the results stand", async () => {
  const { event, fileErrors, report } = await finishWith(BROKEN);
  assert.is(event.reportFromTemplate, true);
  assert.is(event.reportWarning, "some cells of the task's report template failed; marimo's report shows their errors");
  assert.equal(fileErrors, [], "a task's template never counts against the participant");
  assert.match(report, '"evalue": "the template is broken"');
  assert.is(event.publicResults.metrics['mean_mean_absolute_error_time_series'], 1.25);
});

test.run();
